/*
 * The CSV reader: exact values from good files (header or not, CRLF, no
 * final newline), and FL_EPARSE naming the line for every malformed one.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl/internal.h"

static int parse_text(fl_dataset *d, const char *text, uint32_t n_classes)
{
	int rc = fl_csv_parse_buffer(d, text, strlen(text), n_classes, "t.csv");

	if (rc != FL_OK) {
		cr_assert_null(d->x);
		cr_assert_null(d->y);
		cr_assert_eq(d->n, 0);
	}
	return rc;
}

static int parse_only(const char *text, uint32_t n_classes)
{
	fl_dataset d;
	int rc = parse_text(&d, text, n_classes);

	fl_dataset_free(&d);
	return rc;
}

static void quiet(void)
{
	fl_log_set_level(FL_LOG_OFF);
}

TestSuite(fl_csv, .init = quiet);

Test(fl_csv, reads_values_exactly)
{
	fl_dataset d;

	cr_assert_eq(parse_text(&d, "1,0.5,-2,3e2\n0,0.1,1E-3,+7\n2,-0.0,.25,5.\n", 3), FL_OK);
	cr_assert_eq(d.n, 3);
	cr_assert_eq(d.dim, 3);
	cr_assert_eq(d.n_classes, 3);
	cr_assert_str_eq(d.data_type, "tabular/3");
	cr_assert_eq(d.y[0], 1);
	cr_assert_eq(d.y[1], 0);
	cr_assert_eq(d.y[2], 2);
	/* Correctly rounded decimal to binary: 0.1f, not 0.1. */
	const float want[9] = {0.5f, -2.0f, 300.0f, 0.1f, 0.001f, 7.0f, -0.0f, 0.25f, 5.0f};
	for (int i = 0; i < 9; i++)
		cr_assert(memcmp(&d.x[i], &want[i], sizeof(float)) == 0, "value %d: %a", i,
			  (double)d.x[i]);
	fl_dataset_free(&d);
}

Test(fl_csv, header_crlf_and_missing_final_newline)
{
	fl_dataset d;

	cr_assert_eq(parse_text(&d, "label,a,b\r\n3,1,2\r\n4,5,6", 5), FL_OK);
	cr_assert_eq(d.n, 2);
	cr_assert_eq(d.dim, 2);
	cr_assert_eq(d.y[0], 3);
	cr_assert_eq(d.y[1], 4);
	cr_assert_float_eq(d.x[0], 1.0f, 0);
	cr_assert_float_eq(d.x[3], 6.0f, 0);
	fl_dataset_free(&d);

	/* A header whose feature names are numbers is still a header: only
	 * the label column decides. */
	cr_assert_eq(parse_text(&d, "y,0,1\n1,2,3\n", 2), FL_OK);
	cr_assert_eq(d.n, 1);
	fl_dataset_free(&d);

	/* One feature, one sample. */
	cr_assert_eq(parse_text(&d, "0,42", 1), FL_OK);
	cr_assert_eq(d.n, 1);
	cr_assert_eq(d.dim, 1);
	cr_assert_float_eq(d.x[0], 42.0f, 0);
	fl_dataset_free(&d);
}

Test(fl_csv, rejects_ragged_lines)
{
	cr_assert_eq(parse_only("1,2,3\n1,2\n", 3), FL_EPARSE);
	cr_assert_eq(parse_only("1,2,3\n1,2,3,4\n", 3), FL_EPARSE);
	cr_assert_eq(parse_only("label,a,b\n1,2\n", 3), FL_EPARSE);
	cr_assert_eq(parse_only("1,2,3\n1,2,3,\n", 3), FL_EPARSE);
	/* A label with no features. */
	cr_assert_eq(parse_only("1\n2\n", 3), FL_EPARSE);
}

Test(fl_csv, rejects_non_numbers)
{
	static const char *const bad[] = {
	    "abc", "1.0x", " 1",    "1 ",     "inf",  "-inf", "nan", "NAN",   "0x10", "",
	    "1e",  "--1",  "1e999", "-1e999", "1..2", ".",    "+",   "\"1\"", "1\t",  "e5",
	};
	char text[128];

	for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), "1,2\n0,%s\n", bad[i]);
		cr_assert_eq(parse_only(text, 2), FL_EPARSE, "feature \"%s\"", bad[i]);
	}
	/* Control: the same shape with a number parses. */
	cr_assert_eq(parse_only("1,2\n0,3\n", 2), FL_OK);
}

Test(fl_csv, rejects_bad_labels)
{
	static const char *const bad[] = {
	    "3", "99", "-1", "+1", "01", "1.0", "1e0", "", "18446744073709551616"};
	char text[128];

	for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), "0,1\n%s,1\n", bad[i]);
		cr_assert_eq(parse_only(text, 3), FL_EPARSE, "label \"%s\"", bad[i]);
	}
	cr_assert_eq(parse_only("0,1\n2,1\n", 3), FL_OK);
	/* n_classes out of its domain. */
	cr_assert_eq(parse_only("0,1\n", 0), FL_EINVAL);
	cr_assert_eq(parse_only("0,1\n", FL_MAX_CLASSES + 1), FL_EINVAL);
}

Test(fl_csv, rejects_empty_and_blank)
{
	cr_assert_eq(parse_only("", 2), FL_EPARSE);
	cr_assert_eq(parse_only("\n", 2), FL_EPARSE);
	cr_assert_eq(parse_only("label,a\n", 2), FL_EPARSE);
	cr_assert_eq(parse_only("0,1\n\n1,2\n", 2), FL_EPARSE);
	cr_assert_eq(parse_only("0,1\n1,2\n\n", 2), FL_EPARSE);
	cr_assert_eq(parse_only("0,1\r\n\r\n", 2), FL_EPARSE);
	/* A header is only allowed on line 1. */
	cr_assert_eq(parse_only("0,1\nlabel,a\n", 2), FL_EPARSE);
}

Test(fl_csv, rejects_nul_and_overlong_fields_and_lines)
{
	static const char nul[] = "0,1\n1,2\0\n";
	char field[FL_CSV_MAX_FIELD + 8];
	char text[2 * FL_CSV_MAX_FIELD + 32];
	char *line;
	fl_dataset d;

	cr_assert_eq(fl_csv_parse_buffer(&d, nul, sizeof(nul) - 1, 2, "nul.csv"), FL_EPARSE);
	/* A field of exactly the maximum parses; one more byte does not. */
	memset(field, '0', FL_CSV_MAX_FIELD);
	field[FL_CSV_MAX_FIELD] = '\0';
	snprintf(text, sizeof(text), "0,%s\n", field);
	cr_assert_eq(parse_only(text, 2), FL_OK);
	snprintf(text, sizeof(text), "0,0%s\n", field);
	cr_assert_eq(parse_only(text, 2), FL_EPARSE);
	/* A line over FL_CSV_MAX_LINE. */
	line = malloc(FL_CSV_MAX_LINE + 16);
	cr_assert_not_null(line);
	memset(line, '1', FL_CSV_MAX_LINE + 8);
	memcpy(line, "0,", 2);
	line[FL_CSV_MAX_LINE + 8] = '\0';
	cr_assert_eq(parse_only(line, 2), FL_EPARSE);
	free(line);
}

Test(fl_csv, error_names_the_line)
{
	char log_path[] = "/tmp/fl_test_log_XXXXXX";
	char text[1024] = {0};
	int fd = mkstemp(log_path), saved;

	cr_assert_geq(fd, 0);
	fl_log_set_level(FL_LOG_ERROR);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	cr_assert_eq(parse_only("label,a,b\n0,1,2\n1,2,x\n", 2), FL_EPARSE);
	cr_assert_eq(parse_only("0,1,2\n1,2,3\n1,2\n", 2), FL_EPARSE);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	cr_assert_geq(pread(fd, text, sizeof(text) - 1, 0), 1);
	close(fd);
	unlink(log_path);
	cr_assert_not_null(strstr(text, "t.csv:3: column 3: 'x' is not a number"), "%s", text);
	cr_assert_not_null(strstr(text, "t.csv:3: 2 columns, line 1 has 3"), "%s", text);
}

Test(fl_csv, loads_a_file_and_reports_a_missing_one)
{
	char path[] = "/tmp/fl_test_csv_XXXXXX";
	const char text[] = "label,f0,f1\n1,0.5,0.25\n0,1,2\n";
	int fd = mkstemp(path);
	fl_dataset d;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	cr_assert_eq(fl_dataset_load_csv(&d, path, 2), FL_OK);
	unlink(path);
	cr_assert_eq(d.n, 2);
	cr_assert_eq(d.dim, 2);
	cr_assert_float_eq(d.x[1], 0.25f, 0);
	cr_assert_eq(d.y[0], 1);
	fl_dataset_free(&d);
	cr_assert_eq(fl_dataset_load_csv(&d, "/nonexistent/fl/data.csv", 2), FL_ENOTFOUND);
	cr_assert_null(d.x);
}

Test(fl_csv, every_allocation_failure_is_clean)
{
	const char *text = "label,a,b\n1,2,3\n0,4,5\n";
	unsigned long n;
	fl_dataset d;
	int rc;

	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = parse_text(&d, text, 2);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM, "allocation %lu", n);
	}
	cr_assert_eq(n, 3);
	cr_assert_eq(d.n, 2);
	cr_assert_float_eq(d.x[3], 5.0f, 0);
	fl_dataset_free(&d);
}
