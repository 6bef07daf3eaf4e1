/* Model specs: parsing, checks and derived sizes. */
#include <criterion/criterion.h>
#include <string.h>

#include "fl/fl.h"

Test(fl_spec, parses_the_default_mlp)
{
	fl_spec s;
	char text[64];

	cr_assert_eq(fl_spec_parse(&s, "784-200-200-10"), FL_OK);
	cr_assert_eq(s.n_layers, 3);
	cr_assert_eq(s.sizes[0], 784);
	cr_assert_eq(s.sizes[3], 10);
	cr_assert_eq(s.act[0], FL_ACT_RELU);
	cr_assert_eq(s.act[1], FL_ACT_RELU);
	cr_assert_eq(s.act[2], FL_ACT_NONE);
	/* 784·200+200 + 200·200+200 + 200·10+10 */
	cr_assert_eq(fl_spec_params(&s), 199210);
	cr_assert_eq(fl_spec_flops(&s), 2ull * (784 * 200 + 200 * 200 + 200 * 10));
	cr_assert_eq(fl_spec_layer_offset(&s, 0), 0);
	cr_assert_eq(fl_spec_layer_offset(&s, 1), 784 * 200 + 200);
	cr_assert_eq(fl_spec_layer_offset(&s, 2), 784 * 200 + 200 + 200 * 200 + 200);
	fl_spec_format(text, sizeof(text), &s);
	cr_assert_str_eq(text, "784-200-200-10");
}

Test(fl_spec, rejects_malformed_text)
{
	fl_spec s;
	const char *bad_parse[] = {"",        "784",    "784-",    "-10",
				   "784--10", "78a-10", "784-010", "7 84-10"};
	const char *bad_value[] = {"784-0-10", "784-1", "784-70000-10", "1-1-1-1-1-1-1-1-1-1-2"};

	for (size_t i = 0; i < sizeof(bad_parse) / sizeof(bad_parse[0]); i++)
		cr_expect_eq(fl_spec_parse(&s, bad_parse[i]), FL_EPARSE, "%s", bad_parse[i]);
	for (size_t i = 0; i < sizeof(bad_value) / sizeof(bad_value[0]); i++)
		cr_expect_eq(fl_spec_parse(&s, bad_value[i]), FL_EINVAL, "%s", bad_value[i]);
}

Test(fl_spec, check_refuses_relu_on_the_head_and_huge_models)
{
	fl_spec s;

	cr_assert_eq(fl_spec_parse(&s, "4-3"), FL_OK);
	s.act[0] = FL_ACT_RELU;
	cr_assert_eq(fl_spec_check(&s), FL_EINVAL);
	s.act[0] = 7;
	cr_assert_eq(fl_spec_check(&s), FL_EINVAL);
	cr_assert_eq(fl_spec_parse(&s, "65536-65536-10"), FL_EINVAL);
}
