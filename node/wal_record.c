/*
 * node/wal_record.c — the WAL's record framing: CRC-32C, the 9-byte header
 * and the pure decoder shared by the log's file reader and the fuzz target.
 *
 * CRC-32C rather than zlib's CRC-32: at the sizes of consensus records (a
 * vote is ~170 bytes, a proposal a few hundred) Castagnoli's polynomial
 * detects every error of up to 5 bits, where CRC-32 guarantees 4 past
 * ~370 bytes (Koopman's tables), and it is what CometBFT's WAL, LevelDB
 * and ext4 use. The table costs 1 KiB and a few ns a byte, nothing next to
 * the fdatasync that follows every group of records (docs/wal.md).
 */
#include "node/wal_impl.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
		crc_table[i] = c;
	}
}

uint32_t node_wal_crc32c(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	assert(p != NULL || n == 0);
	pthread_once(&crc_once, crc_table_build);
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void node__wal_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t node__wal_get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The CRC covers the len field too, so a flipped length is caught by the
 * checksum and not only by reading a wrong number of bytes. */
static uint32_t record_crc(const uint8_t *len_field, uint8_t type, const uint8_t *payload,
			   uint32_t len)
{
	uint32_t crc = node_wal_crc32c(0, len_field, 4);

	crc = node_wal_crc32c(crc, &type, 1);
	return node_wal_crc32c(crc, payload, len);
}

void node__wal_header_encode(uint8_t hdr[NODE_WAL_HEADER_LEN], uint8_t type, const void *payload,
			     uint32_t len)
{
	put_u32(hdr, len);
	hdr[8] = type;
	put_u32(hdr + 4, record_crc(hdr, type, payload, len));
}

int node__wal_header_decode(const uint8_t hdr[NODE_WAL_HEADER_LEN], uint32_t *len)
{
	*len = get_u32(hdr);
	return *len > NODE_WAL_RECORD_MAX ? FL_ECORRUPT : FL_OK;
}

int node__wal_record_check(const uint8_t hdr[NODE_WAL_HEADER_LEN], const uint8_t *payload,
			   node_wal_record *rec)
{
	uint32_t len = get_u32(hdr);

	if (record_crc(hdr, hdr[8], payload, len) != get_u32(hdr + 4))
		return FL_ECORRUPT;
	/* A marker is only ever written with its 8-byte height; anything else
	 * under type 0 is damage that happened to keep a valid CRC. */
	if (hdr[8] == NODE_WAL_END_HEIGHT && len != 8)
		return FL_ECORRUPT;
	rec->type = hdr[8];
	rec->len = len;
	rec->payload = payload;
	return FL_OK;
}

int node_wal_record_decode(const uint8_t *p, size_t n, node_wal_record *rec, size_t *used)
{
	uint32_t len;
	int rc;

	assert((p != NULL || n == 0) && rec != NULL && used != NULL);
	memset(rec, 0, sizeof(*rec));
	*used = 0;
	if (n < NODE_WAL_HEADER_LEN)
		return FL_ETRUNC;
	if ((rc = node__wal_header_decode(p, &len)) != FL_OK)
		return rc;
	if (n - NODE_WAL_HEADER_LEN < len)
		return FL_ETRUNC;
	if ((rc = node__wal_record_check(p, p + NODE_WAL_HEADER_LEN, rec)) != FL_OK)
		return rc;
	*used = NODE_WAL_HEADER_LEN + (size_t)len;
	return FL_OK;
}
