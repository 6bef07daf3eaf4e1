/*
 * core/log.c — levelled logging to stderr as text or JSON lines.
 *
 * Each line is built whole in memory and written under one mutex with one
 * fwrite, so lines from different threads never interleave. Control bytes in
 * a message are escaped in both formats: a message can never forge a line.
 */
#include "core/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int log_level = FL_LOG_INFO;
static atomic_int log_format = FL_LOG_TEXT;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Modules with a level of their own. A line below log_floor (the lowest of
 * every level in force) costs one load, as before modules had levels; only
 * the rest look their module up. */
static struct {
	char name[FL_LOG_MODULE_LEN];
	atomic_int level;
} log_modules[FL_LOG_MODULES_MAX];
static atomic_int log_n_modules;
static atomic_int log_floor = FL_LOG_INFO;

static const char *const level_names[] = {"trace", "debug", "info", "warn", "error", "off"};
static const char *const format_names[] = {"text", "json"};

static void floor_update(void)
{
	int lo = atomic_load(&log_level), n = atomic_load(&log_n_modules);

	for (int i = 0; i < n; i++)
		if (atomic_load(&log_modules[i].level) < lo)
			lo = atomic_load(&log_modules[i].level);
	atomic_store(&log_floor, lo);
}

void fl_log_set_level(fl_log_level level)
{
	atomic_store(&log_level, (int)level);
	floor_update();
}

int fl_log_set_module_level(const char *module, fl_log_level level)
{
	int n = atomic_load(&log_n_modules), i;

	if (module == NULL || strlen(module) >= FL_LOG_MODULE_LEN || level < FL_LOG_TRACE ||
	    level > FL_LOG_OFF)
		return FL_EINVAL;
	for (i = 0; i < n; i++)
		if (strcmp(log_modules[i].name, module) == 0)
			break;
	if (i == n) {
		if (n == FL_LOG_MODULES_MAX)
			return FL_EINVAL;
		strcpy(log_modules[n].name, module);
		atomic_store(&log_modules[n].level, (int)level);
		atomic_store(&log_n_modules, n + 1);
	} else {
		atomic_store(&log_modules[i].level, (int)level);
	}
	floor_update();
	return FL_OK;
}

/* The level in force for module's lines. */
static int module_level(const char *module)
{
	int n = atomic_load(&log_n_modules);

	for (int i = 0; i < n; i++)
		if (strcmp(log_modules[i].name, module) == 0)
			return atomic_load(&log_modules[i].level);
	return atomic_load(&log_level);
}

void fl_log_set_format(fl_log_format format)
{
	atomic_store(&log_format, (int)format);
}

int fl_log_level_parse(const char *s, fl_log_level *out)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (fl_log_level)i;
			return FL_OK;
		}
	}
	return FL_EPARSE;
}

int fl_log_format_parse(const char *s, fl_log_format *out)
{
	for (size_t i = 0; i < FL_ARRAY_LEN(format_names); i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (fl_log_format)i;
			return FL_OK;
		}
	}
	return FL_EPARSE;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0 if the bytes there are not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/* Writes s with JSON string escapes (without the quotes). Invalid UTF-8
 * becomes U+FFFD so the line stays valid JSON for any log shipper. */
static void put_escaped(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s != 0) {
		unsigned char c = *s;
		size_t n;

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fprintf(f, "\\u%04x", c);
			} else if (c < 0x80) {
				fputc(c, f);
			} else if ((n = utf8_len(s)) > 0) {
				fwrite(s, 1, n, f);
				s += n;
				continue;
			} else {
				fputs("\\ufffd", f);
			}
		}
		s++;
	}
}

/* "2024-05-01T12:34:56.789Z": UTC so that lines from nodes in different
 * zones sort together. */
static void format_time(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

void fl_log(fl_log_level level, const char *module, const char *fmt, ...)
{
	char small[512], ts[40];
	char *msg = small, *line = NULL;
	size_t line_len = 0;
	va_list ap;
	FILE *f;
	int n;

	if (level < FL_LOG_TRACE || level >= FL_LOG_OFF || (int)level < atomic_load(&log_floor))
		return;
	if (module == NULL)
		module = "-";
	if ((int)level < module_level(module))
		return;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Plain malloc, not fl_malloc: allocation-failure tests must not lose
	 * or perturb the log lines that explain them. */
	if ((size_t)n >= sizeof(small)) {
		char *big = malloc((size_t)n + 1);
		if (big != NULL) {
			va_start(ap, fmt);
			vsnprintf(big, (size_t)n + 1, fmt, ap);
			va_end(ap);
			msg = big;
		}
	}

	format_time(ts, sizeof(ts));
	f = open_memstream(&line, &line_len);
	if (f == NULL)
		goto cleanup;
	if (atomic_load(&log_format) == FL_LOG_JSON) {
		fprintf(f, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"", ts, level_names[level]);
		put_escaped(f, module);
		fputs("\",\"msg\":\"", f);
		put_escaped(f, msg);
		fputs("\"}\n", f);
	} else {
		fprintf(f, "%s %-5s ", ts, level_names[level]);
		put_escaped(f, module);
		fputs(": ", f);
		put_escaped(f, msg);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		goto cleanup;

	pthread_mutex_lock(&log_lock);
	fwrite(line, 1, line_len, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);

cleanup:
	free(line);
	if (msg != small)
		free(msg);
}
