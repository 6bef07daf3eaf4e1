/* tests/genesis/helpers.c — see helpers.h. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/genesis/helpers.h"

void genesis_test_expect(const char *json_path, char *out, size_t n)
{
	char path[512];
	size_t len = strlen(json_path);
	FILE *f;

	cr_assert(len > 5 && len < sizeof(path));
	snprintf(path, sizeof(path), "%.*s.expect", (int)(len - 5), json_path);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s has no .expect file", json_path);
	cr_assert_not_null(fgets(out, (int)n, f), "%s is empty", path);
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	cr_assert(out[0] != '\0', "%s is empty", path);
}
