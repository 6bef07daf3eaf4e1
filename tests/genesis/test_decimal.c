/* tests/genesis/test_decimal.c — decimal fractions <-> ppm without floats. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "genesis/genesis.h"

static int64_t ppm(const char *s)
{
	int64_t v = -12345;
	int rc = genesis_decimal_to_ppm(s, &v);

	cr_assert_eq(rc, FL_OK, "\"%s\" should parse, got %d", s, rc);
	return v;
}

static void refused(const char *s, int want)
{
	int64_t v = -12345;
	int rc = genesis_decimal_to_ppm(s, &v);

	cr_assert_eq(rc, want, "\"%s\": want %d, got %d", s, want, rc);
	cr_assert_eq(v, -12345, "\"%s\": output written on failure", s);
}

Test(decimal, plain_values)
{
	cr_assert_eq(ppm("0"), 0);
	cr_assert_eq(ppm("1"), 1000000);
	cr_assert_eq(ppm("0.05"), 50000);
	cr_assert_eq(ppm("0.5"), 500000);
	cr_assert_eq(ppm("0.000001"), 1);
	cr_assert_eq(ppm("0.999999"), 999999);
	cr_assert_eq(ppm("10"), 10000000);
	cr_assert_eq(ppm("12.345678"), 12345678);
	cr_assert_eq(ppm("0.100000"), 100000, "trailing zeros within 6 decimals are fine");
	cr_assert_eq(ppm("-0.5"), -500000);
	cr_assert_eq(ppm("-0.000001"), -1);
	cr_assert_eq(ppm("-0"), 0);
}

Test(decimal, range_edges)
{
	/* INT64_MAX ppm = 9223372036854.775807 */
	cr_assert_eq(ppm("9223372036854.775807"), INT64_MAX);
	cr_assert_eq(ppm("-9223372036854.775807"), -INT64_MAX);
	refused("9223372036854.775808", FL_EOVERFLOW);
	refused("9223372036855", FL_EOVERFLOW);
	refused("99999999999999999999999999", FL_EOVERFLOW);
}

Test(decimal, more_than_six_decimals)
{
	refused("0.0000001", FL_ETOOBIG);
	refused("0.0500001", FL_ETOOBIG);
	refused("0.1000000", FL_ETOOBIG); /* even a trailing zero: strict */
	refused("-1.1234567", FL_ETOOBIG);
}

Test(decimal, malformed)
{
	const char *bad[] = {"",   "-",   ".5",  "5.",   "+1",  "1e3",   "5E-2", "0x10",
			     " 1", "1 ",  "01",  "00.5", "-01", "1.2.3", "1,5",  "--1",
			     "1-", "nan", "inf", "0.",   "-.5", "1..2"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i], FL_EPARSE);
}

Test(decimal, to_text_is_shortest_and_round_trips)
{
	static const struct {
		int64_t ppm;
		const char *text;
	} cases[] = {
	    {0, "0"},
	    {1, "0.000001"},
	    {50000, "0.05"},
	    {1000000, "1"},
	    {1500000, "1.5"},
	    {-500000, "-0.5"},
	    {-1, "-0.000001"},
	    {12345678, "12.345678"},
	    {INT64_MAX, "9223372036854.775807"},
	    {-INT64_MAX, "-9223372036854.775807"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		genesis_ppm_to_decimal(buf, cases[i].ppm);
		cr_assert_str_eq(buf, cases[i].text);
		cr_assert_eq(ppm(buf), cases[i].ppm);
	}
	/* INT64_MIN has no positive twin; it must still print, not overflow. */
	genesis_ppm_to_decimal(buf, INT64_MIN);
	cr_assert_str_eq(buf, "-9223372036854.775808");
}

Test(decimal, every_ppm_in_a_range_round_trips)
{
	char buf[32];

	for (int64_t v = -3000000; v <= 3000000; v += 997) {
		genesis_ppm_to_decimal(buf, v);
		cr_assert_eq(ppm(buf), v, "%lld -> %s", (long long)v, buf);
	}
}
