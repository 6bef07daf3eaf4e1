/*
 * p2p/msg.c — message header and body codecs (internal.h, "message
 * bodies"), on core's canonical codec. Every decoder zeroes its output,
 * checks each field against its maximum, and refuses trailing bytes; every
 * encoder runs the same range checks before writing a byte, so whatever
 * encodes decodes and a decoded body re-encodes to the identical bytes.
 * Wire format: docs/p2p.md.
 */
#include "p2p/internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- header */

int p2p_msg_parse(const uint8_t *p, size_t n, uint16_t *type, const uint8_t **body,
		  size_t *body_len)
{
	assert((p != NULL || n == 0) && type != NULL && body != NULL && body_len != NULL);
	if (n < P2P_MSG_HEADER)
		return FL_EPROTO;
	if (p[0] != P2P_MSG_VERSION)
		return FL_EVERSION;
	*type = (uint16_t)(p[1] | p[2] << 8);
	*body = p + P2P_MSG_HEADER;
	*body_len = n - P2P_MSG_HEADER;
	return FL_OK;
}

void p2p_msg_header(uint8_t out[P2P_MSG_HEADER], uint16_t type)
{
	assert(out != NULL);
	out[0] = P2P_MSG_VERSION;
	out[1] = (uint8_t)type;
	out[2] = (uint8_t)(type >> 8);
}

/* ---------------------------------------------------------------- gossip */

int p2p_gossip_encode(fl_writer *w, const p2p_gossip_msg *m)
{
	assert(w != NULL && m != NULL && (m->data != NULL || m->n == 0));
	if (m->n > P2P_MAX_FRAME)
		return FL_ETOOBIG;
	fl_write_u16(w, m->topic);
	return fl_write_bytes(w, m->data, m->n, P2P_MAX_FRAME);
}

int p2p_gossip_decode(p2p_gossip_msg *m, const uint8_t *p, size_t n)
{
	fl_reader r;

	assert(m != NULL && (p != NULL || n == 0));
	memset(m, 0, sizeof(*m));
	fl_reader_init(&r, p, n);
	fl_read_u16(&r, &m->topic);
	fl_read_bytes(&r, &m->data, &m->n, P2P_MAX_FRAME);
	return fl_reader_finish(&r);
}

/* ------------------------------------------------------ request/response */

int p2p_request_encode(fl_writer *w, const p2p_request_msg *m)
{
	assert(w != NULL && m != NULL && (m->data != NULL || m->n == 0));
	if (m->n > P2P_MAX_FRAME)
		return FL_ETOOBIG;
	fl_write_u64(w, m->id);
	fl_write_u16(w, m->kind);
	return fl_write_bytes(w, m->data, m->n, P2P_MAX_FRAME);
}

int p2p_request_decode(p2p_request_msg *m, const uint8_t *p, size_t n)
{
	fl_reader r;

	assert(m != NULL && (p != NULL || n == 0));
	memset(m, 0, sizeof(*m));
	fl_reader_init(&r, p, n);
	fl_read_u64(&r, &m->id);
	fl_read_u16(&r, &m->kind);
	fl_read_bytes(&r, &m->data, &m->n, P2P_MAX_FRAME);
	return fl_reader_finish(&r);
}

/* A response is FL_OK or a responder's negative code: a positive status has
 * no meaning, and refusing it keeps one encoding per outcome. */
static int status_valid(int32_t status)
{
	return status <= 0;
}

int p2p_response_encode(fl_writer *w, const p2p_response_msg *m)
{
	assert(w != NULL && m != NULL && (m->data != NULL || m->n == 0));
	if (!status_valid(m->status))
		return FL_EINVAL;
	if (m->n > P2P_MAX_FRAME)
		return FL_ETOOBIG;
	fl_write_u64(w, m->id);
	fl_write_u32(w, (uint32_t)m->status);
	return fl_write_bytes(w, m->data, m->n, P2P_MAX_FRAME);
}

int p2p_response_decode(p2p_response_msg *m, const uint8_t *p, size_t n)
{
	fl_reader r;
	uint32_t status = 0;
	int rc;

	assert(m != NULL && (p != NULL || n == 0));
	memset(m, 0, sizeof(*m));
	fl_reader_init(&r, p, n);
	fl_read_u64(&r, &m->id);
	fl_read_u32(&r, &status);
	fl_read_bytes(&r, &m->data, &m->n, P2P_MAX_FRAME);
	if ((rc = fl_reader_finish(&r)) != FL_OK)
		goto fail;
	/* Two's complement, as docs/encoding.md's i32; no implementation-
	 * defined conversion of an out-of-range unsigned value. */
	m->status = status <= INT32_MAX ? (int32_t)status : -(int32_t)(~status) - 1;
	if (!status_valid(m->status)) {
		rc = FL_EINVAL;
		goto fail;
	}
	return FL_OK;
fail:
	memset(m, 0, sizeof(*m));
	return rc;
}

/* ----------------------------------------------------------------- blobs */

static int credit_valid(uint32_t credit)
{
	return credit >= 1 && credit <= P2P_BLOB_MAX_CREDIT;
}

int p2p_blob_want_encode(fl_writer *w, const p2p_blob_want_msg *m)
{
	assert(w != NULL && m != NULL);
	if (!credit_valid(m->credit))
		return FL_EINVAL;
	fl_write_fixed(w, m->hash.b, FL_HASH_LEN);
	fl_write_u64(w, m->offset);
	return fl_write_u32(w, m->credit);
}

int p2p_blob_want_decode(p2p_blob_want_msg *m, const uint8_t *p, size_t n)
{
	fl_reader r;
	int rc;

	assert(m != NULL && (p != NULL || n == 0));
	memset(m, 0, sizeof(*m));
	fl_reader_init(&r, p, n);
	fl_read_fixed(&r, m->hash.b, FL_HASH_LEN);
	fl_read_u64(&r, &m->offset);
	fl_read_u32(&r, &m->credit);
	if ((rc = fl_reader_finish(&r)) != FL_OK)
		goto fail;
	if (!credit_valid(m->credit)) {
		rc = FL_EINVAL;
		goto fail;
	}
	return FL_OK;
fail:
	memset(m, 0, sizeof(*m));
	return rc;
}

/* 1..P2P_BLOB_CHUNK bytes lying inside the announced blob (no overflow in
 * offset + n). An empty chunk would let a peer stall a fetch forever. */
static int chunk_check(uint64_t total, uint64_t offset, size_t n)
{
	if (n > P2P_BLOB_CHUNK)
		return FL_ETOOBIG;
	if (n == 0 || offset > total || n > total - offset)
		return FL_EINVAL;
	return FL_OK;
}

int p2p_blob_chunk_encode(fl_writer *w, const p2p_blob_chunk_msg *m)
{
	int rc;

	assert(w != NULL && m != NULL && (m->data != NULL || m->n == 0));
	if ((rc = chunk_check(m->total, m->offset, m->n)) != FL_OK)
		return rc;
	fl_write_fixed(w, m->hash.b, FL_HASH_LEN);
	fl_write_u64(w, m->total);
	fl_write_u64(w, m->offset);
	return fl_write_bytes(w, m->data, m->n, P2P_BLOB_CHUNK);
}

int p2p_blob_chunk_decode(p2p_blob_chunk_msg *m, const uint8_t *p, size_t n)
{
	fl_reader r;
	int rc;

	assert(m != NULL && (p != NULL || n == 0));
	memset(m, 0, sizeof(*m));
	fl_reader_init(&r, p, n);
	fl_read_fixed(&r, m->hash.b, FL_HASH_LEN);
	fl_read_u64(&r, &m->total);
	fl_read_u64(&r, &m->offset);
	fl_read_bytes(&r, &m->data, &m->n, P2P_BLOB_CHUNK);
	if ((rc = fl_reader_finish(&r)) != FL_OK)
		goto fail;
	if ((rc = chunk_check(m->total, m->offset, m->n)) != FL_OK)
		goto fail;
	return FL_OK;
fail:
	memset(m, 0, sizeof(*m));
	return rc;
}

/* ----------------------------------------------------------------- addrs */

int p2p_addrs_encode(fl_writer *w, const p2p_addrs_msg *m)
{
	struct sockaddr_in sa;
	int rc;

	assert(w != NULL && m != NULL);
	if (m->n > P2P_ADDRS_MAX)
		return FL_ETOOBIG;
	for (uint32_t i = 0; i < m->n; i++)
		if ((rc = p2p_addr_parse(m->addr[i], &sa)) != FL_OK)
			return rc;
	fl_write_varint(w, m->n);
	for (uint32_t i = 0; i < m->n; i++)
		fl_write_str(w, m->addr[i], P2P_ADDR_MAX - 1);
	return fl_writer_finish(w);
}

int p2p_addrs_decode(p2p_addrs_msg *m, const uint8_t *p, size_t n)
{
	struct sockaddr_in sa;
	fl_reader r;
	size_t count;
	int rc;

	assert(m != NULL && (p != NULL || n == 0));
	memset(m, 0, sizeof(*m));
	fl_reader_init(&r, p, n);
	/* Fixed-size storage: the count is checked before any element is read. */
	if ((rc = fl_read_count(&r, &count, P2P_ADDRS_MAX)) != FL_OK)
		goto fail;
	for (size_t i = 0; i < count; i++) {
		if ((rc = fl_read_str(&r, m->addr[i], P2P_ADDR_MAX - 1)) != FL_OK)
			goto fail;
		if ((rc = p2p_addr_parse(m->addr[i], &sa)) != FL_OK)
			goto fail;
	}
	if ((rc = fl_reader_finish(&r)) != FL_OK)
		goto fail;
	m->n = (uint32_t)count;
	return FL_OK;
fail:
	memset(m, 0, sizeof(*m));
	return rc;
}
