/* fl_parse_u64, error words, and whole-file reads and atomic writes. */
#include "core/core.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

Test(parse, u64_accepts)
{
	uint64_t v;

	cr_assert_eq(fl_parse_u64("0", &v), FL_OK);
	cr_assert_eq(v, 0);
	cr_assert_eq(fl_parse_u64("7", &v), FL_OK);
	cr_assert_eq(v, 7);
	cr_assert_eq(fl_parse_u64("1000000", &v), FL_OK);
	cr_assert_eq(v, 1000000);
	cr_assert_eq(fl_parse_u64("18446744073709551615", &v), FL_OK);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(fl_parse_u64("18446744073709551609", &v), FL_OK);
	cr_assert_eq(v, UINT64_MAX - 6);
}

Test(parse, u64_rejects)
{
	static const char *const bad[] = {"",   "00", "01",   "-1",  "+1",  " 1",
					  "1 ", "1a", "0x10", "1e3", "1.0", "١"};
	uint64_t v = 5;

	for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
		cr_assert_eq(fl_parse_u64(bad[i], &v), FL_EPARSE, "'%s'", bad[i]);
		cr_assert_eq(v, 0);
	}
	cr_assert_eq(fl_parse_u64("18446744073709551616", &v), FL_EOVERFLOW);
	cr_assert_eq(fl_parse_u64("18446744073709551620", &v), FL_EOVERFLOW);
	cr_assert_eq(fl_parse_u64("99999999999999999999999", &v), FL_EOVERFLOW);
	/* A bad char after many digits is a parse error, not an overflow. */
	cr_assert_eq(fl_parse_u64("99999999999999999999999x", &v), FL_EPARSE);
}

Test(error, every_code_has_words)
{
	for (int code = 0; code >= FL_E_LAST; code--) {
		const char *s = fl_strerror(code);
		cr_assert_not_null(s);
		cr_assert_str_neq(s, "unknown error", "code %d", code);
	}
	cr_assert_str_eq(fl_strerror(FL_E_LAST - 1), "unknown error");
	cr_assert_str_eq(fl_strerror(1), "unknown error");
	cr_assert_str_eq(fl_strerror(FL_ESIG), "bad signature");
}

static char dir[64];

/* Called at the top and bottom of each test rather than as Criterion
 * .init/.fini, which cppcheck cannot parse without Criterion's headers. */
static void make_dir(void)
{
	strcpy(dir, "/tmp/fl-file-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(file, write_then_read)
{
	char path[128];
	uint8_t *buf;
	size_t n;
	struct stat st;

	make_dir();
	snprintf(path, sizeof(path), "%s/a.bin", dir);
	cr_assert_eq(fl_file_write_atomic(path, "hello", 5, 0644), FL_OK);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644);
	cr_assert_eq(fl_file_read(path, &buf, &n, 100), FL_OK);
	cr_assert_eq(n, 5);
	cr_assert_str_eq((char *)buf, "hello");
	fl_free(buf);

	/* Replace keeps one file, new content. */
	cr_assert_eq(fl_file_write_atomic(path, "bye", 3, 0600), FL_OK);
	cr_assert_eq(fl_file_read(path, &buf, &n, 100), FL_OK);
	cr_assert_eq(n, 3);
	cr_assert_arr_eq(buf, "bye", 3);
	fl_free(buf);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);

	cr_assert_eq(fl_file_write_atomic(path, NULL, 0, 0600), FL_OK);
	cr_assert_eq(fl_file_read(path, &buf, &n, 100), FL_OK);
	cr_assert_eq(n, 0);
	cr_assert_not_null(buf);
	fl_free(buf);
	remove_dir();
}

Test(file, read_caps_size)
{
	char path[128];
	uint8_t data[4096], *buf = (uint8_t *)1;
	size_t n = 1;

	make_dir();
	memset(data, 'z', sizeof(data));
	snprintf(path, sizeof(path), "%s/big.bin", dir);
	cr_assert_eq(fl_file_write_atomic(path, data, sizeof(data), 0600), FL_OK);
	cr_assert_eq(fl_file_read(path, &buf, &n, sizeof(data) - 1), FL_ETOOBIG);
	cr_assert_null(buf);
	cr_assert_eq(n, 0);
	cr_assert_eq(fl_file_read(path, &buf, &n, sizeof(data)), FL_OK);
	cr_assert_eq(n, sizeof(data));
	fl_free(buf);
	remove_dir();
}

Test(file, read_pipe_respects_cap)
{
	/* Not a regular file: st_size says nothing, so the cap must hold while reading. */
	uint8_t *buf;
	size_t n;

	make_dir();
	cr_assert_eq(fl_file_read("/dev/zero", &buf, &n, 10000), FL_ETOOBIG);
	cr_assert_eq(fl_file_read("/proc/self/stat", &buf, &n, 1 << 16), FL_OK);
	cr_assert_gt(n, 0);
	fl_free(buf);
	remove_dir();
}

Test(file, errors)
{
	char path[128];
	uint8_t *buf;
	size_t n;

	make_dir();
	snprintf(path, sizeof(path), "%s/none", dir);
	cr_assert_eq(fl_file_read(path, &buf, &n, 10), FL_ENOTFOUND);
	cr_assert_eq(fl_file_read(dir, &buf, &n, 10), FL_EIO);
	snprintf(path, sizeof(path), "%s/no/such/dir/x", dir);
	cr_assert_eq(fl_file_write_atomic(path, "x", 1, 0600), FL_ENOTFOUND);
	remove_dir();
}
