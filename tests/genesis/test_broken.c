/*
 * tests/genesis/test_broken.c — every file in tests/genesis/broken/ must be
 * refused, with an error that contains its NAME.expect (the field path and
 * reason a person needs to fix it).
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>

#include "tests/genesis/helpers.h"

Test(broken, every_file_fails_naming_its_field)
{
	char err[GENESIS_ERR_MAX], expect[256];
	glob_t gl;

	cr_assert_eq(glob("tests/genesis/broken/*.json", 0, NULL, &gl), 0);
	cr_assert_geq(gl.gl_pathc, 20, "the corpus shrank to %zu files", gl.gl_pathc);
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		chain_genesis g;
		int rc;

		genesis_test_expect(gl.gl_pathv[i], expect, sizeof(expect));
		rc = genesis_load_file(gl.gl_pathv[i], &g, err, sizeof(err));
		cr_expect_lt(rc, 0, "%s loaded but must not", gl.gl_pathv[i]);
		cr_expect_not_null(strstr(err, expect), "%s:\n  got:  %s\n  want: %s",
				   gl.gl_pathv[i], err, expect);
		cr_expect_null(strchr(err, '\n'), "%s: error has a newline", gl.gl_pathv[i]);
		chain_genesis_free(&g);
	}
	globfree(&gl);
}

/* The same bytes through genesis_load_string name the given name instead. */
Test(broken, load_string_uses_the_name)
{
	char err[GENESIS_ERR_MAX];
	chain_genesis g;
	const char *text = "{\"chain_id\": \"x\", \"genesis_time_ms\": 0, \"validators\": "
			   "[{\"pubkey\": \"zz\", \"power\": 1}]}";

	cr_assert_lt(genesis_load_string("mem.json", text, strlen(text), &g, err, sizeof(err)), 0);
	cr_assert_str_eq(err,
			 "mem.json: validators[0].pubkey: must be 64 hex characters (a 32-byte "
			 "x-only key)");
	chain_genesis_free(&g);
}
