/* Logging: levels, formats, and escaping that keeps one message on one line. */
#include "core/core.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Points stderr at a temp file; returns the saved descriptor. */
static int capture_begin(FILE **file)
{
	int saved;

	fflush(stderr);
	*file = tmpfile();
	cr_assert_not_null(*file);
	saved = dup(STDERR_FILENO);
	cr_assert_geq(saved, 0);
	cr_assert_geq(dup2(fileno(*file), STDERR_FILENO), 0);
	return saved;
}

/* Restores stderr and returns what was written (free it). */
static char *capture_end(FILE *file, int saved)
{
	long size;
	char *text;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	size = ftell(file);
	cr_assert_geq(size, 0);
	text = calloc(1, (size_t)size + 1);
	rewind(file);
	cr_assert_eq(fread(text, 1, (size_t)size, file), (size_t)size);
	fclose(file);
	return text;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(log, json_escaping)
{
	FILE *f;
	int saved = capture_begin(&f);

	fl_log_set_format(FL_LOG_JSON);
	fl_log_set_level(FL_LOG_TRACE);
	fl_log(FL_LOG_WARN, "p2p", "quote \" back \\ nl \n tab \t bell \x07 del \x7f %s", "é");
	fl_log(FL_LOG_INFO, "mod\"x", "bad utf8 \xff\xc3 end");
	char *out = capture_end(f, saved);

	cr_assert_eq(count_lines(out), 2, "%s", out);
	char *second = strchr(out, '\n') + 1;
	cr_assert_eq(strncmp(out, "{\"ts\":\"", 7), 0);
	cr_assert_not_null(strstr(out,
				  "\",\"level\":\"warn\",\"module\":\"p2p\",\"msg\":\""
				  "quote \\\" back \\\\ nl \\n tab \\t bell \\u0007 del \\u007f "
				  "é\"}\n"),
			   "%s", out);
	cr_assert_not_null(strstr(second, "\"module\":\"mod\\\"x\""), "%s", second);
	cr_assert_not_null(strstr(second, "\"msg\":\"bad utf8 \\ufffd\\ufffd end\"}"), "%s",
			   second);
	free(out);
}

Test(log, timestamp_is_utc_iso8601_ms)
{
	FILE *f;
	int saved = capture_begin(&f);

	fl_log_set_format(FL_LOG_JSON);
	fl_log(FL_LOG_ERROR, "core", "x");
	char *out = capture_end(f, saved);

	/* {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ" */
	const char *ts = out + 7;
	cr_assert_eq(strlen(out) > 7 + 24, 1);
	for (int i = 0; i < 24; i++) {
		char c = ts[i];
		switch (i) {
		case 4:
		case 7:
			cr_assert_eq(c, '-');
			break;
		case 10:
			cr_assert_eq(c, 'T');
			break;
		case 13:
		case 16:
			cr_assert_eq(c, ':');
			break;
		case 19:
			cr_assert_eq(c, '.');
			break;
		case 23:
			cr_assert_eq(c, 'Z');
			break;
		default:
			cr_assert(c >= '0' && c <= '9', "ts %.24s", ts);
		}
	}
	free(out);
}

Test(log, text_format_and_levels)
{
	FILE *f;
	int saved = capture_begin(&f);

	fl_log_set_format(FL_LOG_TEXT);
	fl_log_set_level(FL_LOG_INFO);
	fl_log(FL_LOG_DEBUG, "core", "hidden");
	fl_log(FL_LOG_INFO, "chain", "height %d\nforged line", 7);
	fl_log_set_level(FL_LOG_OFF);
	fl_log(FL_LOG_ERROR, "core", "hidden too");
	char *out = capture_end(f, saved);

	cr_assert_eq(count_lines(out), 1, "%s", out);
	cr_assert_not_null(strstr(out, "Z info  chain: height 7\\nforged line\n"), "%s", out);
	cr_assert_null(strstr(out, "hidden"));
	free(out);
}

Test(log, long_message_not_truncated)
{
	char big[3000];
	FILE *f;
	int saved = capture_begin(&f);

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	fl_log_set_format(FL_LOG_TEXT);
	fl_log(FL_LOG_WARN, "core", "%s|end", big);
	char *out = capture_end(f, saved);
	cr_assert_not_null(strstr(out, big));
	cr_assert_not_null(strstr(out, "|end\n"));
	free(out);
}

Test(log, parse_names)
{
	fl_log_level level;
	fl_log_format format;

	cr_assert_eq(fl_log_level_parse("trace", &level), FL_OK);
	cr_assert_eq(level, FL_LOG_TRACE);
	cr_assert_eq(fl_log_level_parse("warn", &level), FL_OK);
	cr_assert_eq(level, FL_LOG_WARN);
	cr_assert_eq(fl_log_level_parse("off", &level), FL_OK);
	cr_assert_eq(level, FL_LOG_OFF);
	cr_assert_eq(fl_log_level_parse("WARN", &level), FL_EPARSE);
	cr_assert_eq(fl_log_level_parse("", &level), FL_EPARSE);
	cr_assert_eq(fl_log_format_parse("json", &format), FL_OK);
	cr_assert_eq(format, FL_LOG_JSON);
	cr_assert_eq(fl_log_format_parse("text", &format), FL_OK);
	cr_assert_eq(format, FL_LOG_TEXT);
	cr_assert_eq(fl_log_format_parse("xml", &format), FL_EPARSE);
}
