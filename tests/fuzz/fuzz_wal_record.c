/*
 * fuzz_wal_record — node_wal_record_decode walked through arbitrary bytes,
 * as open's scan walks a file: decode, step over what was used, repeat
 * until a record does not decode. The input is copied into a buffer of
 * exactly its size, so ASan sees any read past the end.
 *
 * Checked for every record that decodes: used is the header plus rec.len
 * and fits in what was left; the payload is the bytes right after the
 * header, inside the input; a marker carries 8 bytes; the record encoded
 * again by the framing as documented in node/wal.h (written out here, not
 * taken from the module, so the two implementations check each other)
 * gives back the very bytes decoded, and those decode to the same record.
 * A decoder that stops reports FL_ETRUNC or FL_ECORRUPT, never anything
 * else, and FL_ETRUNC only when the bytes left are fewer than the header
 * or than the header plus the len field says.
 */
#include "node/wal.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The framing of node/wal.h: u32 len | u32 crc | u8 type | payload, the CRC
 * over the len field, the type and the payload. */
static uint8_t *encode(const node_wal_record *rec, size_t *n)
{
	uint8_t *out = malloc(NODE_WAL_HEADER_LEN + (size_t)rec->len);
	uint32_t crc;

	check(out != NULL);
	put_u32(out, rec->len);
	out[8] = rec->type;
	if (rec->len > 0)
		memcpy(out + NODE_WAL_HEADER_LEN, rec->payload, rec->len);
	crc = node_wal_crc32c(0, out, 4);
	crc = node_wal_crc32c(crc, out + 8, 1 + (size_t)rec->len);
	put_u32(out + 4, crc);
	*n = NODE_WAL_HEADER_LEN + (size_t)rec->len;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0;

	check(buf != NULL);
	if (size > 0)
		memcpy(buf, data, size);
	for (;;) {
		const uint8_t *p = buf + off;
		size_t n = size - off, used = 99, again_used = 0, enc_n = 0;
		node_wal_record rec, again;
		uint8_t *enc;
		int rc = node_wal_record_decode(p, n, &rec, &used);

		if (rc != FL_OK) {
			check(rc == FL_ETRUNC || rc == FL_ECORRUPT);
			check(used == 0);
			if (rc == FL_ETRUNC)
				check(n < NODE_WAL_HEADER_LEN ||
				      n - NODE_WAL_HEADER_LEN < (size_t)get_u32(p));
			/* A len over the ceiling is refused before the length of
			 * what is left is looked at. */
			if (n >= NODE_WAL_HEADER_LEN && get_u32(p) > NODE_WAL_RECORD_MAX)
				check(rc == FL_ECORRUPT);
			break;
		}
		check(used == NODE_WAL_HEADER_LEN + (size_t)rec.len && used <= n);
		check(rec.len <= NODE_WAL_RECORD_MAX);
		check(rec.payload == p + NODE_WAL_HEADER_LEN);
		check(rec.payload >= buf && rec.payload + rec.len <= buf + size);
		check(rec.type == p[8] && rec.len == get_u32(p));
		if (rec.type == NODE_WAL_END_HEIGHT)
			check(rec.len == 8);
		enc = encode(&rec, &enc_n);
		check(enc_n == used && memcmp(enc, p, used) == 0);
		check(node_wal_record_decode(enc, enc_n, &again, &again_used) == FL_OK);
		check(again_used == used && again.type == rec.type && again.len == rec.len);
		check(again.payload == enc + NODE_WAL_HEADER_LEN);
		/* One byte short is a torn tail, never a shorter record. */
		check(node_wal_record_decode(enc, enc_n - 1, &again, &again_used) == FL_ETRUNC);
		free(enc);
		off += used;
		if (off == size)
			break;
	}
	free(buf);
	return 0;
}
