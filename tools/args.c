/*
 * tools/args.c — option parsing shared by the tools. Hand-written rather
 * than getopt_long so that every mistake gets one line naming the option
 * exactly as the user typed it, and so that abbreviations (which getopt_long
 * accepts, making "--th 2" silently mean --threads) are refused.
 */
#include "tools/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tool_verror(const char *prog, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s: ", prog);

	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	fprintf(stderr, "%s\n", line);
}

void tool_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_verror(prog, fmt, ap);
	va_end(ap);
}

void tool_args_init(tool_args *a, const char *prog, int argc, char **argv)
{
	a->prog = prog;
	a->argc = argc;
	a->argv = argv;
	a->next = 1;
	a->only_args = 0;
}

int tool_args_next(tool_args *a, const tool_option *opts, size_t n_opts, const tool_option **opt,
		   const char **value)
{
	const char *arg, *eq;
	size_t len;

	*opt = NULL;
	*value = NULL;
	if (a->next >= a->argc)
		return TOOL_ARGS_END;
	arg = a->argv[a->next++];
	if (a->only_args || arg[0] != '-' || arg[1] == '\0') {
		*value = arg;
		return TOOL_ARGS_OPERAND;
	}
	if (strcmp(arg, "--") == 0) {
		a->only_args = 1;
		return tool_args_next(a, opts, n_opts, opt, value);
	}
	if (arg[1] != '-') {
		tool_error(a->prog, "unknown option '%s' (see --help)", arg);
		return -TOOL_EXIT_USAGE;
	}
	eq = strchr(arg + 2, '=');
	len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
	for (size_t i = 0; i < n_opts; i++) {
		if (strlen(opts[i].name) != len || strncmp(opts[i].name, arg + 2, len) != 0)
			continue;
		*opt = &opts[i];
		if (!opts[i].has_value) {
			if (eq) {
				tool_error(a->prog, "--%s: takes no value", opts[i].name);
				return -TOOL_EXIT_USAGE;
			}
			return TOOL_ARGS_OPTION;
		}
		if (eq) {
			*value = eq + 1;
		} else if (a->next < a->argc) {
			*value = a->argv[a->next++];
		} else {
			tool_error(a->prog, "--%s: needs a value (see --help)", opts[i].name);
			return -TOOL_EXIT_USAGE;
		}
		return TOOL_ARGS_OPTION;
	}
	tool_error(a->prog, "unknown option '%.*s' (see --help)", (int)(len + 2), arg);
	return -TOOL_EXIT_USAGE;
}

int tool_parse_u64(const tool_args *a, const char *option, const char *text, uint64_t *out)
{
	int rc = fl_parse_u64(text, out);

	if (rc == FL_EOVERFLOW) {
		tool_error(a->prog, "--%s: '%s' is larger than 2^64-1", option, text);
		return -TOOL_EXIT_USAGE;
	}
	if (rc < 0) {
		tool_error(a->prog, "--%s: must be a decimal integer, got '%s'", option, text);
		return -TOOL_EXIT_USAGE;
	}
	return 0;
}

int tool_parse_u32(const tool_args *a, const char *option, const char *text, uint32_t lo,
		   uint32_t hi, uint32_t *out)
{
	uint64_t v;

	if (fl_parse_u64(text, &v) < 0 || v < lo || v > hi) {
		tool_error(a->prog, "--%s: must be an integer from %u to %u, got '%s'", option, lo,
			   hi, text);
		return -TOOL_EXIT_USAGE;
	}
	*out = (uint32_t)v;
	return 0;
}

int tool_parse_double(const tool_args *a, const char *option, const char *text, int positive,
		      double hi, double *out)
{
	char *end;
	double v;

	/* strtod alone would take leading spaces, "inf", "nan" and hex floats. */
	if (text[0] == '\0' || strchr("0123456789.-+", text[0]) == NULL ||
	    strpbrk(text, "xX") != NULL)
		goto bad;
	errno = 0;
	v = strtod(text, &end);
	if (*end != '\0' || errno != 0 || !isfinite(v) || v < 0 || (positive && v == 0) || v > hi)
		goto bad;
	*out = v;
	return 0;
bad:
	if (isfinite(hi))
		tool_error(a->prog, "--%s: must be a number %s 0 and <= %g, got '%s'", option,
			   positive ? ">" : ">=", hi, text);
	else
		tool_error(a->prog, "--%s: must be a number %s 0, got '%s'", option,
			   positive ? ">" : ">=", text);
	return -TOOL_EXIT_USAGE;
}
