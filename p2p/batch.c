/*
 * p2p/batch.c — the BATCH message body (internal.h, "message bodies";
 * docs/p2p.md §3): several small messages in one frame. Pure functions over
 * byte buffers, fuzzed by tests/fuzz/fuzz_frame.c.
 *
 * The decoder walks the whole body once and refuses it before the host
 * dispatches a single item: a batch is delivered whole or not at all, so a
 * bad item never leaves the receiver having acted on half a frame.
 */
#include "p2p/internal.h"

#include <assert.h>
#include <string.h>

static uint32_t get_le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

int p2p_batch_decode(p2p_batch_msg *m, const uint8_t *p, size_t n)
{
	size_t pos = P2P_BATCH_HEAD;
	uint32_t count;

	assert(m != NULL && (p != NULL || n == 0));
	memset(m, 0, sizeof(*m));
	if (n < P2P_BATCH_HEAD)
		return FL_ETRUNC;
	count = get_le16(p);
	if (count > P2P_BATCH_MAX)
		return FL_ETOOBIG;
	/* One message needs no batch: a sender never makes one, so it is a
	 * malformed frame rather than a harmless variant. */
	if (count < 2)
		return FL_EPROTO;
	for (uint32_t i = 0; i < count; i++) {
		size_t len;
		uint16_t type;

		if (n - pos < P2P_BATCH_ITEM_HEAD)
			return FL_ETRUNC;
		len = get_le16(p + pos);
		pos += P2P_BATCH_ITEM_HEAD;
		if (len > P2P_BATCH_ITEM_MAX)
			return FL_ETOOBIG;
		if (len < P2P_MSG_HEADER)
			return FL_EPROTO;
		if (n - pos < len)
			return FL_ETRUNC;
		if (p[pos] != P2P_MSG_VERSION)
			return FL_EVERSION;
		type = (uint16_t)(p[pos + 1] | p[pos + 2] << 8);
		/* No nesting: one level is all the sender makes, and a nested
		 * batch would multiply the items one frame can carry. */
		if (type == P2P_TYPE_BATCH)
			return FL_EPROTO;
		pos += len;
	}
	if (pos != n)
		return FL_ETRAILING;
	m->p = p;
	m->n = n;
	m->pos = P2P_BATCH_HEAD;
	m->count = count;
	return FL_OK;
}

int p2p_batch_next(p2p_batch_msg *m, const uint8_t **msg, size_t *n)
{
	size_t len;

	assert(m != NULL && msg != NULL && n != NULL);
	if (m->p == NULL || m->pos >= m->n)
		return 0;
	/* Checked by p2p_batch_decode: every item lies inside the body. */
	len = get_le16(m->p + m->pos);
	*msg = m->p + m->pos + P2P_BATCH_ITEM_HEAD;
	*n = len;
	m->pos += P2P_BATCH_ITEM_HEAD + len;
	return 1;
}

void p2p_batch_put_count(uint8_t out[P2P_BATCH_HEAD], uint32_t count)
{
	assert(out != NULL && count >= 2 && count <= P2P_BATCH_MAX);
	out[0] = (uint8_t)count;
	out[1] = (uint8_t)(count >> 8);
}

size_t p2p_batch_put_item(uint8_t *out, const uint8_t *msg, size_t n)
{
	assert(out != NULL && msg != NULL && n >= P2P_MSG_HEADER && n <= P2P_BATCH_ITEM_MAX);
	out[0] = (uint8_t)n;
	out[1] = (uint8_t)(n >> 8);
	memcpy(out + P2P_BATCH_ITEM_HEAD, msg, n);
	return P2P_BATCH_ITEM_HEAD + n;
}
