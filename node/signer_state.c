/*
 * node/signer_state.c — the signer's state file bytes (layout in
 * node/signer.h). Fixed size, one encoding per state: a decoder that
 * accepts exactly what the encoder writes and nothing else.
 */
#include "node/signer.h"
#include "node/wal.h"

#include <assert.h>
#include <string.h>

static const uint8_t state_magic[8] = {'F', 'L', 'S', 'I', 'G', 'N', 'S', 'T'};
#define STATE_VERSION 1u
#define STATE_BODY    (NODE_SIGN_STATE_LEN - 4) /* before the CRC */

void node_sign_state_encode(uint8_t out[NODE_SIGN_STATE_LEN], const fl_pubkey *pk,
			    const node_sign_state *st)
{
	uint8_t *p = out;
	uint32_t crc;

	assert(pk != NULL && st != NULL); /* out: an array of the state's size */
	memcpy(p, state_magic, sizeof(state_magic));
	p += sizeof(state_magic);
	*p++ = STATE_VERSION;
	memcpy(p, pk->b, FL_PUBKEY_LEN);
	p += FL_PUBKEY_LEN;
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)(st->height >> (8 * i));
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(st->round >> (8 * i));
	*p++ = st->step;
	memcpy(p, st->digest.b, FL_HASH_LEN);
	p += FL_HASH_LEN;
	memcpy(p, st->sig.b, FL_SIG_LEN);
	p += FL_SIG_LEN;
	crc = node_wal_crc32c(0, out, STATE_BODY);
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(crc >> (8 * i));
	assert(p == out + NODE_SIGN_STATE_LEN);
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int node_sign_state_decode(const uint8_t *p, size_t n, fl_pubkey *pk, node_sign_state *st)
{
	const uint8_t *q = p;
	uint32_t crc = 0;

	assert((p != NULL || n == 0) && pk != NULL && st != NULL);
	memset(st, 0, sizeof(*st));
	memset(pk, 0, sizeof(*pk));
	if (n != NODE_SIGN_STATE_LEN || memcmp(q, state_magic, sizeof(state_magic)) != 0)
		return FL_ECORRUPT;
	for (int i = 0; i < 4; i++)
		crc |= (uint32_t)p[STATE_BODY + i] << (8 * i);
	if (crc != node_wal_crc32c(0, p, STATE_BODY))
		return FL_ECORRUPT;
	q += sizeof(state_magic);
	if (*q++ != STATE_VERSION)
		return FL_ECORRUPT;
	memcpy(pk->b, q, FL_PUBKEY_LEN);
	q += FL_PUBKEY_LEN;
	for (int i = 0; i < 8; i++)
		st->height |= (uint64_t)*q++ << (8 * i);
	for (int i = 0; i < 4; i++)
		st->round |= (uint32_t)*q++ << (8 * i);
	st->step = *q++;
	memcpy(st->digest.b, q, FL_HASH_LEN);
	q += FL_HASH_LEN;
	memcpy(st->sig.b, q, FL_SIG_LEN);
	if (st->step > NODE_SIGN_PRECOMMIT)
		goto bad;
	if (st->step == 0) {
		/* "Nothing signed" has one form, so a damaged state cannot pass
		 * for a fresh one and reopen the lower heights. */
		if (st->height != 0 || st->round != 0 || !all_zero(st->digest.b, FL_HASH_LEN) ||
		    !all_zero(st->sig.b, FL_SIG_LEN))
			goto bad;
	} else if (st->height == 0) {
		goto bad;
	}
	return FL_OK;

bad:
	memset(st, 0, sizeof(*st));
	memset(pk, 0, sizeof(*pk));
	return FL_ECORRUPT;
}
