/*
 * fuzz_codec — reads a sequence of typed fields chosen by the input itself.
 *
 * Each field is an op byte (low nibble: type; high nibble: the per-field
 * maximum) followed by the value. Beyond "never crash", it checks the
 * property the codec exists for: re-encoding every value decoded so far
 * gives back exactly the bytes consumed, so no value has two encodings.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static const size_t maxima[16] = {0,  1,  2,   3,   7,   8,   16,   31,
				  32, 64, 127, 128, 255, 256, 1024, 65536};

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char str[65536 + 1];
	fl_reader r;
	fl_writer w;
	size_t good = 0;
	uint8_t op;

	fl_reader_init(&r, data, size);
	fl_writer_init(&w, 0);
	while (fl_reader_remaining(&r) > 0 && fl_read_u8(&r, &op) == FL_OK) {
		size_t max = maxima[op >> 4];
		int rc = FL_OK;

		/* The op byte is part of the canonical stream too. */
		fl_write_u8(&w, op);
		switch (op & 0x0f) {
		case 0: {
			uint8_t v;
			if ((rc = fl_read_u8(&r, &v)) == FL_OK)
				fl_write_u8(&w, v);
			break;
		}
		case 1: {
			int v;
			if ((rc = fl_read_bool(&r, &v)) == FL_OK) {
				check(v == 0 || v == 1);
				fl_write_bool(&w, v);
			}
			break;
		}
		case 2: {
			uint16_t v;
			if ((rc = fl_read_u16(&r, &v)) == FL_OK)
				fl_write_u16(&w, v);
			break;
		}
		case 3: {
			uint32_t v;
			if ((rc = fl_read_u32(&r, &v)) == FL_OK)
				fl_write_u32(&w, v);
			break;
		}
		case 4: {
			uint64_t v;
			if ((rc = fl_read_u64(&r, &v)) == FL_OK)
				fl_write_u64(&w, v);
			break;
		}
		case 5: {
			int64_t v;
			if ((rc = fl_read_i64(&r, &v)) == FL_OK)
				fl_write_i64(&w, v);
			break;
		}
		case 6: {
			uint64_t v;
			if ((rc = fl_read_varint(&r, &v)) == FL_OK)
				fl_write_varint(&w, v);
			break;
		}
		case 7: {
			size_t n;
			if ((rc = fl_read_count(&r, &n, max)) == FL_OK) {
				check(n <= max);
				fl_write_varint(&w, n);
			}
			break;
		}
		case 8: {
			uint8_t fixed[32];
			size_t n = max < sizeof(fixed) ? max : sizeof(fixed);
			if ((rc = fl_read_fixed(&r, fixed, n)) == FL_OK)
				fl_write_fixed(&w, fixed, n);
			break;
		}
		case 9: {
			const uint8_t *p;
			size_t n;
			if ((rc = fl_read_bytes(&r, &p, &n, max)) == FL_OK) {
				check(n <= max && p >= data && p + n <= data + size);
				fl_write_bytes(&w, p, n, max);
			}
			break;
		}
		case 10:
			if ((rc = fl_read_str(&r, str, max)) == FL_OK) {
				check(strlen(str) <= max);
				fl_write_str(&w, str, max);
			}
			break;
		default: {
			/* Hash what is left so far: exercises the Merkle path on
			 * input-sized data without reading a field. */
			fl_hash leaves[4], root;
			for (size_t i = 0; i < FL_ARRAY_LEN(leaves); i++)
				fl_sha256(&leaves[i], data, r.pos < i ? r.pos : i);
			check(fl_merkle_root(&root, leaves, op % 5) == FL_OK);
			break;
		}
		}
		if (rc != FL_OK) {
			/* Errors are sticky and the first one is the one reported. */
			check(fl_reader_finish(&r) == rc);
			break;
		}
		good = r.pos;
		check(fl_writer_finish(&w) == FL_OK);
		check(w.len == good && memcmp(w.buf, data, good) == 0);
	}
	if (r.err == FL_OK)
		check(fl_reader_finish(&r) == FL_OK);
	fl_writer_free(&w);
	return 0;
}
