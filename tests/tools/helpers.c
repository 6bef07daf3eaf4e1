/* tests/tools/helpers.c — see helpers.h. */
#include <criterion/criterion.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/tools/helpers.h"

size_t tool_test_json_lines(const char *s, json_t **out, size_t max)
{
	size_t n = 0;

	while (*s != '\0') {
		const char *end = strchr(s, '\n');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		json_error_t e;

		cr_assert_lt(n, max, "more than %zu lines", max);
		out[n] = json_loadb(s, len, 0, &e);
		cr_assert_not_null(out[n], "not JSON (%s): %.*s", e.text, (int)len, s);
		cr_assert(json_is_object(out[n]), "not a JSON object: %.*s", (int)len, s);
		n++;
		s += len + (end != NULL);
	}
	return n;
}

void tool_assert_one_line_failure(const test_run *r, int status, const char *want)
{
	cr_assert_eq(r->status, status, "status %d, want %d; stderr: %s", r->status, status,
		     r->err);
	cr_assert_eq(test_count_lines(r->err), 1, "stderr must be one line, got: %s", r->err);
	cr_assert_not_null(strstr(r->err, want), "stderr: %s\nwant: %s", r->err, want);
	cr_assert_str_empty(r->out, "stdout not empty: %s", r->out);
}

void tool_test_sed(const char *src, const char *expr, const char *out)
{
	char cmd[1024];
	int n = snprintf(cmd, sizeof cmd, "sed '%s' '%s' > '%s'", expr, src, out);

	cr_assert(n > 0 && (size_t)n < sizeof cmd, "command too long");
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}
