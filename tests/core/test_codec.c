/* Canonical codec: round trips, and every non-canonical or hostile input refused. */
#include "core/core.h"

#include <criterion/criterion.h>
#include <string.h>

/* Decodes exactly len bytes as one varint and checks the whole input is used. */
static int decode_varint(const uint8_t *p, size_t len, uint64_t *v)
{
	fl_reader r;
	int rc;

	fl_reader_init(&r, p, len);
	if ((rc = fl_read_varint(&r, v)) != FL_OK)
		return rc;
	return fl_reader_finish(&r);
}

Test(codec, round_trip_every_type)
{
	static const uint8_t fixed[5] = {1, 2, 3, 4, 5};
	static const uint8_t blob[3] = {0x00, 0xff, 0x80};
	fl_writer w;

	fl_writer_init(&w, 0);
	cr_assert_eq(fl_write_u8(&w, 0xab), FL_OK);
	cr_assert_eq(fl_write_bool(&w, 1), FL_OK);
	cr_assert_eq(fl_write_bool(&w, 0), FL_OK);
	cr_assert_eq(fl_write_u16(&w, 0xbeef), FL_OK);
	cr_assert_eq(fl_write_u32(&w, 0xdeadbeefu), FL_OK);
	cr_assert_eq(fl_write_u64(&w, 0x0123456789abcdefull), FL_OK);
	cr_assert_eq(fl_write_i64(&w, -42), FL_OK);
	cr_assert_eq(fl_write_i64(&w, INT64_MIN), FL_OK);
	cr_assert_eq(fl_write_varint(&w, 300), FL_OK);
	cr_assert_eq(fl_write_fixed(&w, fixed, sizeof(fixed)), FL_OK);
	cr_assert_eq(fl_write_bytes(&w, blob, sizeof(blob), 16), FL_OK);
	cr_assert_eq(fl_write_bytes(&w, NULL, 0, 16), FL_OK);
	cr_assert_eq(fl_write_str(&w, "image/28x28x1 ~!", 32), FL_OK);
	cr_assert_eq(fl_write_str(&w, "", 32), FL_OK);
	cr_assert_eq(fl_writer_finish(&w), FL_OK);

	fl_reader r;
	uint8_t u8, fx[5];
	int b1, b0;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64, var;
	int64_t i1, i2;
	const uint8_t *bp, *ep;
	size_t bn, en;
	char s1[33], s2[33];

	fl_reader_init(&r, w.buf, w.len);
	cr_assert_eq(fl_read_u8(&r, &u8), FL_OK);
	cr_assert_eq(fl_read_bool(&r, &b1), FL_OK);
	cr_assert_eq(fl_read_bool(&r, &b0), FL_OK);
	cr_assert_eq(fl_read_u16(&r, &u16), FL_OK);
	cr_assert_eq(fl_read_u32(&r, &u32), FL_OK);
	cr_assert_eq(fl_read_u64(&r, &u64), FL_OK);
	cr_assert_eq(fl_read_i64(&r, &i1), FL_OK);
	cr_assert_eq(fl_read_i64(&r, &i2), FL_OK);
	cr_assert_eq(fl_read_varint(&r, &var), FL_OK);
	cr_assert_eq(fl_read_fixed(&r, fx, sizeof(fx)), FL_OK);
	cr_assert_eq(fl_read_bytes(&r, &bp, &bn, 16), FL_OK);
	cr_assert_eq(fl_read_bytes(&r, &ep, &en, 16), FL_OK);
	cr_assert_eq(fl_read_str(&r, s1, 32), FL_OK);
	cr_assert_eq(fl_read_str(&r, s2, 32), FL_OK);
	cr_assert_eq(fl_reader_remaining(&r), 0);
	cr_assert_eq(fl_reader_finish(&r), FL_OK);

	cr_assert_eq(u8, 0xab);
	cr_assert_eq(b1, 1);
	cr_assert_eq(b0, 0);
	cr_assert_eq(u16, 0xbeef);
	cr_assert_eq(u32, 0xdeadbeefu);
	cr_assert_eq(u64, 0x0123456789abcdefull);
	cr_assert_eq(i1, -42);
	cr_assert_eq(i2, INT64_MIN);
	cr_assert_eq(var, 300);
	cr_assert_arr_eq(fx, fixed, sizeof(fixed));
	cr_assert_eq(bn, sizeof(blob));
	cr_assert_arr_eq(bp, blob, sizeof(blob));
	cr_assert_eq(en, 0);
	cr_assert_str_eq(s1, "image/28x28x1 ~!");
	cr_assert_str_eq(s2, "");
	fl_writer_free(&w);
}

Test(codec, fixed_ints_are_little_endian)
{
	static const uint8_t want[] = {0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0xfe, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	fl_writer w;

	fl_writer_init(&w, 0);
	cr_assert_eq(fl_write_u16(&w, 0x1234), FL_OK);
	cr_assert_eq(fl_write_u32(&w, 0x12345678), FL_OK);
	cr_assert_eq(fl_write_i64(&w, -2), FL_OK);
	cr_assert_eq(fl_write_bool(&w, 7), FL_OK);
	cr_assert_eq(w.len, sizeof(want));
	cr_assert_arr_eq(w.buf, want, sizeof(want));
	fl_writer_free(&w);
}

Test(codec, varint_boundaries)
{
	static const struct {
		uint64_t v;
		size_t len;
		uint8_t enc[10];
	} cases[] = {
	    {0, 1, {0x00}},
	    {1, 1, {0x01}},
	    {127, 1, {0x7f}},
	    {128, 2, {0x80, 0x01}},
	    {300, 2, {0xac, 0x02}},
	    {16383, 2, {0xff, 0x7f}},
	    {16384, 3, {0x80, 0x80, 0x01}},
	    {UINT64_C(1) << 63, 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
	    {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	};

	for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
		fl_writer w;
		uint64_t v;

		fl_writer_init(&w, 0);
		cr_assert_eq(fl_write_varint(&w, cases[i].v), FL_OK);
		cr_assert_eq(w.len, cases[i].len, "value %llu", (unsigned long long)cases[i].v);
		cr_assert_arr_eq(w.buf, cases[i].enc, cases[i].len);
		cr_assert_eq(decode_varint(w.buf, w.len, &v), FL_OK);
		cr_assert_eq(v, cases[i].v);
		fl_writer_free(&w);
	}
}

Test(codec, varint_rejects_overlong_forms)
{
	static const uint8_t zero2[] = {0x80, 0x00};
	static const uint8_t one3[] = {0x81, 0x80, 0x00};
	static const uint8_t small10[] = {0x81, 0x80, 0x80, 0x80, 0x80,
					  0x80, 0x80, 0x80, 0x80, 0x00};
	uint64_t v = 99;

	cr_assert_eq(decode_varint(zero2, sizeof(zero2), &v), FL_ENONCANON);
	cr_assert_eq(v, 0);
	cr_assert_eq(decode_varint(one3, sizeof(one3), &v), FL_ENONCANON);
	cr_assert_eq(decode_varint(small10, sizeof(small10), &v), FL_ENONCANON);
}

Test(codec, varint_rejects_past_64_bits)
{
	/* 2^64: the tenth byte carries bit 64. */
	static const uint8_t two64[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
	static const uint8_t max_tenth[] = {0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0x7f};
	/* Eleven bytes: a continuation bit on the tenth. */
	static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					 0x80, 0x80, 0x80, 0x81, 0x00};
	static const uint8_t eleven_ff[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0x01};
	uint64_t v;

	cr_assert_eq(decode_varint(two64, sizeof(two64), &v), FL_EOVERFLOW);
	cr_assert_eq(decode_varint(max_tenth, sizeof(max_tenth), &v), FL_EOVERFLOW);
	cr_assert_neq(decode_varint(eleven, sizeof(eleven), &v), FL_OK);
	cr_assert_neq(decode_varint(eleven_ff, sizeof(eleven_ff), &v), FL_OK);
}

Test(codec, varint_truncated)
{
	static const uint8_t cut[] = {0x80, 0x80};
	uint64_t v;

	cr_assert_eq(decode_varint(cut, sizeof(cut), &v), FL_ETRUNC);
	cr_assert_eq(decode_varint(cut, 0, &v), FL_ETRUNC);
}

Test(codec, truncated_fixed_ints)
{
	static const uint8_t seven[7] = {0};
	fl_reader r;
	uint64_t v;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8;

	fl_reader_init(&r, seven, sizeof(seven));
	cr_assert_eq(fl_read_u64(&r, &v), FL_ETRUNC);
	fl_reader_init(&r, seven, 3);
	cr_assert_eq(fl_read_u32(&r, &u32), FL_ETRUNC);
	fl_reader_init(&r, seven, 1);
	cr_assert_eq(fl_read_u16(&r, &u16), FL_ETRUNC);
	fl_reader_init(&r, seven, 0);
	cr_assert_eq(fl_read_u8(&r, &u8), FL_ETRUNC);
}

Test(codec, errors_are_sticky)
{
	static const uint8_t in[] = {0x02, 0x00, 0x00, 0x00};
	fl_reader r;
	uint8_t u8 = 0xee;
	int b;

	fl_reader_init(&r, in, sizeof(in));
	cr_assert_eq(fl_read_bool(&r, &b), FL_ENONCANON);
	/* Bytes remain, but the reader has failed for good. */
	cr_assert_eq(fl_read_u8(&r, &u8), FL_ENONCANON);
	cr_assert_eq(u8, 0);
	cr_assert_eq(fl_reader_finish(&r), FL_ENONCANON);

	fl_writer w;
	fl_writer_init(&w, 4);
	cr_assert_eq(fl_write_u64(&w, 1), FL_ETOOBIG);
	cr_assert_eq(fl_write_u8(&w, 1), FL_ETOOBIG);
	cr_assert_eq(fl_writer_finish(&w), FL_ETOOBIG);
	cr_assert_eq(w.len, 0);
	fl_writer_free(&w);
}

Test(codec, bool_must_be_zero_or_one)
{
	for (unsigned v = 0; v < 256; v++) {
		uint8_t byte = (uint8_t)v;
		fl_reader r;
		int b = -1;

		fl_reader_init(&r, &byte, 1);
		int rc = fl_read_bool(&r, &b);
		if (v <= 1) {
			cr_assert_eq(rc, FL_OK);
			cr_assert_eq(b, (int)v);
		} else {
			cr_assert_eq(rc, FL_ENONCANON, "byte %u", v);
		}
	}
}

Test(codec, trailing_bytes_refused)
{
	static const uint8_t in[] = {0x05, 0x00};
	fl_reader r;
	uint8_t u8;

	fl_reader_init(&r, in, sizeof(in));
	cr_assert_eq(fl_read_u8(&r, &u8), FL_OK);
	cr_assert_eq(fl_reader_remaining(&r), 1);
	cr_assert_eq(fl_reader_finish(&r), FL_ETRAILING);
}

Test(codec, length_over_field_max_refused_before_reading)
{
	/* Claims 2^40 bytes in a 6-byte input: must be refused for the field
	 * maximum (not truncation), and so without looking at or sizing anything. */
	static const uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x20};
	static const uint8_t four[] = {0x04, 'a', 'b', 'c', 'd'};
	const uint8_t *p;
	size_t n;
	char s[4];
	fl_reader r;

	fl_reader_init(&r, huge, sizeof(huge));
	cr_assert_eq(fl_read_bytes(&r, &p, &n, 1024), FL_ETOOBIG);
	cr_assert_null(p);
	cr_assert_eq(n, 0);

	fl_reader_init(&r, four, sizeof(four));
	cr_assert_eq(fl_read_bytes(&r, &p, &n, 3), FL_ETOOBIG);
	fl_reader_init(&r, four, sizeof(four));
	cr_assert_eq(fl_read_str(&r, s, 3), FL_ETOOBIG);
	cr_assert_str_eq(s, "");
	fl_reader_init(&r, four, sizeof(four));
	cr_assert_eq(fl_read_count(&r, &n, 3), FL_ETOOBIG);
	fl_reader_init(&r, four, sizeof(four));
	cr_assert_eq(fl_read_count(&r, &n, 4), FL_OK);
	cr_assert_eq(n, 4);
}

Test(codec, length_past_input_is_truncation)
{
	static const uint8_t in[] = {0x05, 'a', 'b'};
	const uint8_t *p;
	size_t n;
	fl_reader r;

	fl_reader_init(&r, in, sizeof(in));
	cr_assert_eq(fl_read_bytes(&r, &p, &n, 100), FL_ETRUNC);
	cr_assert_null(p);
}

Test(codec, strings_printable_ascii_only)
{
	static const uint8_t bad[][3] = {
	    {0x02, 'a', 0x00},  {0x02, 'a', '\n'}, {0x02, 0x7f, 'a'},
	    {0x02, 0xc3, 0xa9}, {0x02, 0x1f, 'a'},
	};
	static const uint8_t edges[] = {0x02, 0x20, 0x7e};
	char s[8];
	fl_reader r;

	for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
		fl_reader_init(&r, bad[i], sizeof(bad[i]));
		cr_assert_eq(fl_read_str(&r, s, 7), FL_ENONCANON, "case %zu", i);
	}
	fl_reader_init(&r, edges, sizeof(edges));
	cr_assert_eq(fl_read_str(&r, s, 7), FL_OK);
	cr_assert_str_eq(s, " ~");

	/* The writer refuses what the reader would refuse. */
	fl_writer w;
	fl_writer_init(&w, 0);
	cr_assert_eq(fl_write_str(&w, "tab\there", 32), FL_EINVAL);
	fl_writer_free(&w);
	fl_writer_init(&w, 0);
	cr_assert_eq(fl_write_str(&w, "abcd", 3), FL_ETOOBIG);
	fl_writer_free(&w);
}

Test(codec, writer_cap_and_growth)
{
	uint8_t block[1000];
	fl_writer w;

	memset(block, 0x5a, sizeof(block));
	fl_writer_init(&w, 4096);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(fl_write_fixed(&w, block, sizeof(block)), FL_OK);
	cr_assert_eq(fl_write_fixed(&w, block, 96), FL_OK);
	cr_assert_eq(w.len, 4096);
	cr_assert_leq(w.cap, 4096);
	cr_assert_eq(fl_write_u8(&w, 0), FL_ETOOBIG);
	cr_assert_eq(w.len, 4096);
	fl_writer_free(&w);
	cr_assert_null(w.buf);

	/* max = 0 means the 64 MiB default, not "nothing". */
	fl_writer_init(&w, 0);
	cr_assert_eq(w.max, (size_t)64 << 20);
	cr_assert_eq(fl_write_fixed(&w, block, sizeof(block)), FL_OK);
	fl_writer_free(&w);
}

Test(codec, caller_takes_buffer)
{
	fl_writer w;
	uint8_t *taken;

	fl_writer_init(&w, 0);
	cr_assert_eq(fl_write_u32(&w, 7), FL_OK);
	cr_assert_eq(fl_writer_finish(&w), FL_OK);
	taken = w.buf;
	w.buf = NULL;
	fl_writer_free(&w);
	cr_assert_eq(taken[0], 7);
	fl_free(taken);
}
