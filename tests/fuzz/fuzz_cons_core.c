/*
 * fuzz_cons_core — a consensus core (validator 0 of a small set) fed an
 * arbitrary sequence of events, as a Byzantine majority of the network
 * could send them: every signature is taken as good, so the input reaches
 * every rule. The core must never crash, assert or emit more actions than
 * its bound, and every vote it signs must be of its own height.
 *
 * Input: one byte for the set size (1..7), then records of one kind byte
 * and up to 48 bytes that fill the event's fields.
 */
#include "node/consensus.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

static int sign_vote(void *ctx, chain_vote *v)
{
	(void)ctx;
	memset(v->sig.b, 0x11, sizeof(v->sig.b));
	return FL_OK;
}

static int sign_proposal(void *ctx, node_cons_proposal *p)
{
	(void)ctx;
	memset(p->sig.b, 0x22, sizeof(p->sig.b));
	return FL_OK;
}

static int accept_vote(void *ctx, const chain_vote *v)
{
	(void)ctx;
	return v->sig.b[0] == 0xff ? FL_ESIG : FL_OK;
}

static int accept_proposal(void *ctx, const node_cons_proposal *p)
{
	(void)ctx;
	return p->sig.b[0] == 0xff ? FL_ESIG : FL_OK;
}

static void key(fl_pubkey *pk, uint32_t i)
{
	memset(pk->b, 0x5a, sizeof(pk->b));
	pk->b[0] = (uint8_t)(i + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static node_cons_actions out;
	static node_cons_priority prio;
	static chain_commit cert;
	node_cons_crypto crypto = {NULL, sign_vote, sign_proposal, accept_vote, accept_proposal};
	node_cons_config cfg;
	chain_validator_set set;
	node_cons_event ev;
	node_cons *c;
	uint8_t f[48];
	uint32_t n;
	size_t pos = 1;

	if (size < 1)
		return 0;
	n = 1 + data[0] % 7;
	memset(&set, 0, sizeof(set));
	set.n = n;
	for (uint32_t i = 0; i < n; i++) {
		key(&set.pubkey[i], i);
		set.power[i] = 1 + i % 3;
		set.total += set.power[i];
	}
	check(node_cons_priority_init(&prio, &set) == FL_OK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.timeout_propose_ms = cfg.timeout_prevote_ms = cfg.timeout_precommit_ms = 100;
	cfg.timeout_delta_ms = 10;
	cfg.pbts_precision_ms = 100;
	cfg.pbts_msg_delay_ms = 100;
	check(node_cons_new(&c, "fuzz", &set.pubkey[0], &cfg, &crypto) == FL_OK);
	memset(&ev, 0, sizeof(ev));
	ev.kind = NODE_CONS_EV_START_HEIGHT;
	ev.height = 1;
	ev.u.start = &prio;
	check(node_cons_on_event(c, &ev, &out) == FL_OK);
	while (pos < size) {
		uint8_t kind = data[pos++];
		size_t take = size - pos < sizeof(f) ? size - pos : sizeof(f);
		memset(f, 0, sizeof(f));
		memcpy(f, data + pos, take);
		pos += take;
		memset(&ev, 0, sizeof(ev));
		ev.kind = (uint8_t)(1 + kind % 8);
		ev.now_ms = 1000 + f[0];
		/* Small field values so that heights, rounds and hashes meet. */
		uint64_t height = 1 + f[1] % 3;
		uint32_t round = f[2] % 12 == 11 ? 0xfffffff0u + f[3] % 16 : f[2] % 12;
		fl_hash hash;
		memset(&hash, 0, sizeof(hash));
		hash.b[0] = f[4] % 4; /* 0 = nil */
		switch (ev.kind) {
		case NODE_CONS_EV_START_HEIGHT:
			ev.height = height + 1;
			ev.u.start = &prio;
			break;
		case NODE_CONS_EV_PROPOSAL:
			ev.u.proposal.height = height;
			ev.u.proposal.round = round;
			ev.u.proposal.pol_round = (int32_t)(f[5] % 14) - 1;
			ev.u.proposal.block_hash = hash;
			ev.u.proposal.time_ms = 1000 + f[6];
			key(&ev.u.proposal.proposer, f[7] % (n + 1));
			ev.u.proposal.sig.b[0] = f[8];
			break;
		case NODE_CONS_EV_VOTE:
			ev.u.vote.type = (uint8_t)(f[5] % 3);
			ev.u.vote.height = height;
			ev.u.vote.round = round;
			ev.u.vote.block_hash = hash;
			key(&ev.u.vote.validator, f[7] % (n + 1));
			ev.u.vote.sig.b[0] = f[8];
			break;
		case NODE_CONS_EV_TIMEOUT:
			ev.u.timeout.height = height;
			ev.u.timeout.round = round;
			ev.u.timeout.step = (uint8_t)(f[5] % 5);
			break;
		case NODE_CONS_EV_COMMIT_CERT:
			memset(&cert, 0, sizeof(cert));
			cert.height = height;
			cert.round = round;
			cert.block_hash = hash;
			cert.n_sigs = f[5] % (n + 2);
			for (uint32_t i = 0; i < cert.n_sigs; i++)
				key(&cert.sigs[i].validator, (i + f[6]) % (n + 1));
			ev.u.cert = &cert;
			break;
		default: /* BLOCK, VERDICT, BUILT_BLOCK */
			ev.u.block.hash = hash;
			ev.u.block.time_ms = 1000 + f[6];
			ev.u.block.valid = f[5] & 1;
			ev.u.block.height = height;
			ev.u.block.round = round;
			break;
		}
		if (node_cons_on_event(c, &ev, &out) != FL_OK) {
			check(out.n == 0);
			continue;
		}
		check(out.n <= NODE_CONS_MAX_ACTIONS);
		node_cons_status st;
		node_cons_get_status(c, &st);
		for (uint32_t i = 0; i < out.n; i++)
			if (out.a[i].kind == NODE_CONS_ACT_BROADCAST_VOTE)
				check(out.a[i].u.vote.height == st.height);
	}
	node_cons_resume(c, NODE_CONS_RESUME_ALL, &out);
	node_cons_free(c);
	return 0;
}
