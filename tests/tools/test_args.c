/* tests/tools/test_args.c — the strict option and number parsing every tool
 * shares (messages go to stderr; the values are checked here). */
#include <criterion/criterion.h>
#include <math.h>

#include "tools/internal.h"

static tool_args args(void)
{
	static char *argv[] = {"prog", NULL};
	tool_args a;

	tool_args_init(&a, "prog", 1, argv);
	return a;
}

Test(args, doubles)
{
	static const char *const bad[] = {"",      " 1",   "1 ",  "nan", "inf",    "-1",
					  "1e999", "0x10", "1,5", "abc", "1e-400", "--1"};
	tool_args a = args();
	double v;

	cr_assert_eq(tool_parse_double(&a, "x", "0.5", 1, HUGE_VAL, &v), 0);
	cr_assert_eq(v, 0.5);
	cr_assert_eq(tool_parse_double(&a, "x", "2e3", 1, HUGE_VAL, &v), 0);
	cr_assert_eq(v, 2000);
	cr_assert_eq(tool_parse_double(&a, "x", "0", 0, 1, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(tool_parse_double(&a, "x", "0", 1, 1, &v), -TOOL_EXIT_USAGE, "> 0 wanted");
	cr_assert_eq(tool_parse_double(&a, "x", "1", 0, 1, &v), 0, "hi is inclusive");
	cr_assert_eq(tool_parse_double(&a, "x", "1.01", 0, 1, &v), -TOOL_EXIT_USAGE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(tool_parse_double(&a, "x", bad[i], 0, HUGE_VAL, &v), -TOOL_EXIT_USAGE,
			     "'%s' accepted", bad[i]);
}

Test(args, integers)
{
	tool_args a = args();
	uint32_t v;
	uint64_t w;

	cr_assert_eq(tool_parse_u32(&a, "x", "7", 1, 10, &v), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(tool_parse_u32(&a, "x", "0", 1, 10, &v), -TOOL_EXIT_USAGE);
	cr_assert_eq(tool_parse_u32(&a, "x", "11", 1, 10, &v), -TOOL_EXIT_USAGE);
	cr_assert_eq(tool_parse_u32(&a, "x", "4294967296", 0, UINT32_MAX, &v), -TOOL_EXIT_USAGE);
	cr_assert_eq(tool_parse_u32(&a, "x", "+3", 1, 10, &v), -TOOL_EXIT_USAGE);
	cr_assert_eq(tool_parse_u64(&a, "x", "18446744073709551615", &w), 0);
	cr_assert_eq(w, UINT64_MAX);
	cr_assert_eq(tool_parse_u64(&a, "x", "18446744073709551616", &w), -TOOL_EXIT_USAGE);
	cr_assert_eq(tool_parse_u64(&a, "x", "-1", &w), -TOOL_EXIT_USAGE);
}

enum { A_FLAG, A_VALUE };
static const tool_option opts[] = {{"flag", 0, A_FLAG}, {"value", 1, A_VALUE}};

Test(args, options_and_operands)
{
	char *argv[] = {"prog",        "--flag", "--value", "3",      "op",
			"--value=x=y", "-",      "--",      "--flag", NULL};
	const tool_option *o;
	const char *v;
	tool_args a;

	tool_args_init(&a, "prog", 9, argv);
	cr_assert_eq(tool_args_next(&a, opts, 2, &o, &v), TOOL_ARGS_OPTION);
	cr_assert_eq(o->id, A_FLAG);
	cr_assert_null(v);
	cr_assert_eq(tool_args_next(&a, opts, 2, &o, &v), TOOL_ARGS_OPTION);
	cr_assert_eq(o->id, A_VALUE);
	cr_assert_str_eq(v, "3");
	cr_assert_eq(tool_args_next(&a, opts, 2, &o, &v), TOOL_ARGS_OPERAND);
	cr_assert_str_eq(v, "op");
	cr_assert_eq(tool_args_next(&a, opts, 2, &o, &v), TOOL_ARGS_OPTION);
	cr_assert_str_eq(v, "x=y");
	cr_assert_eq(tool_args_next(&a, opts, 2, &o, &v), TOOL_ARGS_OPERAND, "'-' is an operand");
	cr_assert_str_eq(v, "-");
	cr_assert_eq(tool_args_next(&a, opts, 2, &o, &v), TOOL_ARGS_OPERAND, "after --");
	cr_assert_str_eq(v, "--flag");
	cr_assert_eq(tool_args_next(&a, opts, 2, &o, &v), TOOL_ARGS_END);
}

Test(args, mistakes)
{
	static const char *const cases[][2] = {
	    {"--fla", NULL}, /* no abbreviations */
	    {"--flags", NULL},  {"-f", NULL},
	    {"--flag=1", NULL}, {"--value", NULL}, /* no value left */
	};
	const tool_option *o;
	const char *v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {"prog", (char *)cases[i][0], NULL};
		tool_args a;

		tool_args_init(&a, "prog", 2, argv);
		cr_assert_eq(tool_args_next(&a, opts, 2, &o, &v), -TOOL_EXIT_USAGE, "%s accepted",
			     cases[i][0]);
	}
}
