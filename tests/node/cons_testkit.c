/*
 * tests/node/cons_testkit.c — see cons_testkit.h.
 */
#include "tests/node/cons_testkit.h"

#include <string.h>

void ct_pubkey(fl_pubkey *pk, uint32_t i)
{
	memset(pk->b, 0x5a, sizeof(pk->b));
	pk->b[0] = (uint8_t)(i + 1);
}

int ct_index(const fl_pubkey *pk)
{
	fl_pubkey want;

	if (pk->b[0] == 0 || pk->b[0] > CT_MAX_VALIDATORS)
		return -1;
	ct_pubkey(&want, pk->b[0] - 1u);
	return fl_pubkey_cmp(&want, pk) == 0 ? pk->b[0] - 1 : -1;
}

void ct_set(chain_validator_set *s, uint32_t n, const uint64_t *powers)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	for (uint32_t i = 0; i < n; i++) {
		ct_pubkey(&s->pubkey[i], i);
		s->power[i] = powers != NULL ? powers[i] : 1;
		s->total += s->power[i];
	}
}

/* The fields in a fixed order, then the signer's index: two hashes. */
static void fake_sig(fl_sig *sig, const void *fields, size_t n, int who)
{
	uint8_t buf[256];
	fl_hash h;

	buf[0] = (uint8_t)who;
	memcpy(buf + 1, fields, n);
	fl_sha256(&h, buf, n + 1);
	memcpy(sig->b, h.b, FL_HASH_LEN);
	fl_sha256(&h, h.b, FL_HASH_LEN);
	memcpy(sig->b + FL_HASH_LEN, h.b, FL_HASH_LEN);
}

static size_t vote_fields(uint8_t *out, const chain_vote *v)
{
	size_t n = 0;

	out[n++] = 'v';
	out[n++] = v->type;
	memcpy(out + n, &v->height, 8), n += 8;
	memcpy(out + n, &v->round, 4), n += 4;
	memcpy(out + n, v->block_hash.b, FL_HASH_LEN), n += FL_HASH_LEN;
	memcpy(out + n, v->validator.b, FL_PUBKEY_LEN), n += FL_PUBKEY_LEN;
	return n;
}

static size_t proposal_fields(uint8_t *out, const node_cons_proposal *p)
{
	size_t n = 0;

	out[n++] = 'p';
	memcpy(out + n, &p->height, 8), n += 8;
	memcpy(out + n, &p->round, 4), n += 4;
	memcpy(out + n, &p->pol_round, 4), n += 4;
	memcpy(out + n, p->block_hash.b, FL_HASH_LEN), n += FL_HASH_LEN;
	memcpy(out + n, &p->time_ms, 8), n += 8;
	memcpy(out + n, p->proposer.b, FL_PUBKEY_LEN), n += FL_PUBKEY_LEN;
	return n;
}

void ct_sign_vote(chain_vote *v)
{
	uint8_t f[128];

	fake_sig(&v->sig, f, vote_fields(f, v), ct_index(&v->validator));
}

void ct_sign_proposal(node_cons_proposal *p)
{
	uint8_t f[128];

	fake_sig(&p->sig, f, proposal_fields(f, p), ct_index(&p->proposer));
}

int ct_verify_vote(void *ctx, const chain_vote *v)
{
	uint8_t f[128];
	fl_sig want;
	int who = ct_index(&v->validator);

	(void)ctx;
	if (who < 0)
		return FL_ESIG;
	fake_sig(&want, f, vote_fields(f, v), who);
	return memcmp(want.b, v->sig.b, FL_SIG_LEN) == 0 ? FL_OK : FL_ESIG;
}

int ct_verify_proposal(void *ctx, const node_cons_proposal *p)
{
	uint8_t f[128];
	fl_sig want;
	int who = ct_index(&p->proposer);

	(void)ctx;
	if (who < 0)
		return FL_ESIG;
	fake_sig(&want, f, proposal_fields(f, p), who);
	return memcmp(want.b, p->sig.b, FL_SIG_LEN) == 0 ? FL_OK : FL_ESIG;
}

fl_hash ct_hash(const char *label)
{
	fl_hash h;

	fl_sha256(&h, label, strlen(label));
	return h;
}
