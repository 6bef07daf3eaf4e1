/*
 * tests/node/test_cons_chain.c — the core with real keys against the real
 * chain: four validators of a chain_fixture sign with chain_vote_sign and
 * node_cons_proposal_sign, check with the default verifiers (chain id of
 * the genesis), and the commit they produce is one chain_verify_commit
 * accepts for height 1. Also the proposal's encoding.
 */
#include "tests/node/cons_testkit.h"
#include "tests/support/chain_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

#define N     4
#define QUEUE 512

static chain_fixture fx;

typedef struct {
	uint32_t who;
} signer_ctx;

static signer_ctx signers[N];

static int sign_vote(void *ctx, chain_vote *v)
{
	return chain_vote_sign(v, fx.genesis.chain_id, &fx.sk[((signer_ctx *)ctx)->who]);
}

static int sign_proposal(void *ctx, node_cons_proposal *p)
{
	return node_cons_proposal_sign(p, fx.genesis.chain_id, &fx.sk[((signer_ctx *)ctx)->who]);
}

Test(cons_chain, commit_verifies_on_chain)
{
	fixture_opts o;
	node_cons *core[N];
	node_cons_config cfg;
	node_cons_priority prio;
	chain_validator_set set;
	static node_cons_event q[QUEUE];
	static node_cons_actions out;
	static chain_commit commit;
	uint32_t head = 0, tail = 0, to[QUEUE], committed = 0;

	memset(&o, 0, sizeof(o));
	o.n_validators = N;
	cr_assert_eq(fixture_open(&fx, &o), 0);
	cr_assert_eq(chain_get_validator_set(fx.store, 1, &set), 0);
	cr_assert_eq(node_cons_priority_init(&prio, &set), 0);
	node_cons_config_from_params(&cfg, &fx.genesis.params);
	/* the PBTS bounds are the genesis's, like the timeouts */
	cr_assert_eq(cfg.pbts_precision_ms, fx.genesis.params.pbts_precision_ms);
	cr_assert_eq(cfg.pbts_msg_delay_ms, fx.genesis.params.pbts_msg_delay_ms);
	cr_assert_eq(cfg.timeout_propose_ms, fx.genesis.params.timeout_propose_ms);
	cr_assert_eq(cfg.test_skip_lock_rule, 0);
	for (uint32_t i = 0; i < N; i++) {
		int who = fixture_key_index(&fx, &set.pubkey[i]);
		cr_assert_geq(who, 0);
		signers[i].who = (uint32_t)who;
		node_cons_crypto crypto = {&signers[i], sign_vote, sign_proposal, NULL, NULL};
		cr_assert_eq(
		    node_cons_new(&core[i], fx.genesis.chain_id, &set.pubkey[i], &cfg, &crypto), 0);
		q[tail].kind = NODE_CONS_EV_START_HEIGHT;
		q[tail].now_ms = 1000;
		q[tail].height = 1;
		q[tail].u.start = &prio;
		to[tail++] = i;
	}
	while (head < tail && committed < N) {
		uint32_t i = to[head];
		int rc = node_cons_on_event(core[i], &q[head++], &out);
		/* Votes that arrive after the decision are refused, nothing else. */
		cr_assert(rc == 0 || rc == FL_ESTATE, "event %u: %s", head - 1, fl_strerror(rc));
		for (uint32_t k = 0; k < out.n; k++) {
			const node_cons_action *a = &out.a[k];
			node_cons_event ev;
			memset(&ev, 0, sizeof(ev));
			ev.now_ms = 1000;
			switch (a->kind) {
			case NODE_CONS_ACT_BROADCAST_PROPOSAL:
			case NODE_CONS_ACT_BROADCAST_VOTE:
				for (uint32_t j = 0; j < N; j++) {
					if (j == i)
						continue;
					cr_assert_lt(tail, QUEUE);
					q[tail] = ev;
					if (a->kind == NODE_CONS_ACT_BROADCAST_VOTE) {
						q[tail].kind = NODE_CONS_EV_VOTE;
						q[tail].u.vote = a->u.vote;
					} else {
						q[tail].kind = NODE_CONS_EV_PROPOSAL;
						q[tail].u.proposal = a->u.proposal;
					}
					to[tail++] = j;
				}
				break;
			case NODE_CONS_ACT_BUILD_BLOCK:
				ev.kind = NODE_CONS_EV_BUILT_BLOCK;
				ev.u.block.hash = ct_hash("the block");
				ev.u.block.time_ms = 1000;
				ev.u.block.height = a->u.build.height;
				ev.u.block.round = a->u.build.round;
				break;
			case NODE_CONS_ACT_REQUEST_BLOCK:
				ev.kind = NODE_CONS_EV_BLOCK;
				ev.u.block.hash = a->u.block_hash;
				ev.u.block.time_ms = 1000;
				break;
			case NODE_CONS_ACT_VALIDATE_BLOCK:
				ev.kind = NODE_CONS_EV_VERDICT;
				ev.u.block.hash = a->u.block_hash;
				ev.u.block.valid = 1;
				break;
			case NODE_CONS_ACT_COMMIT:
				commit = out.commit;
				committed++;
				break;
			default:
				break;
			}
			if (ev.kind != 0) {
				cr_assert_lt(tail, QUEUE);
				q[tail] = ev;
				to[tail++] = i;
			}
		}
	}
	cr_assert_eq(committed, N);
	fl_hash want = ct_hash("the block");
	cr_assert_eq(chain_verify_commit(fx.store, fx.genesis.chain_id, 1, &want, &commit), 0);
	for (uint32_t i = 0; i < N; i++)
		node_cons_free(core[i]);
	fixture_close(&fx);
}

Test(cons_chain, proposal_codec_and_signature)
{
	fl_seckey sk;
	fl_pubkey pk;
	node_cons_proposal p, back;
	fl_writer w;

	cr_assert_eq(fl_key_generate(&sk, &pk), 0);
	memset(&p, 0, sizeof(p));
	p.height = 7;
	p.round = 3;
	p.pol_round = 1;
	p.block_hash = ct_hash("x");
	p.time_ms = 123456;
	cr_assert_eq(node_cons_proposal_sign(&p, "chain-a", &sk), 0);
	cr_assert_eq(fl_pubkey_cmp(&p.proposer, &pk), 0);
	cr_assert_eq(node_cons_proposal_verify(&p, "chain-a"), 0);
	cr_assert_eq(node_cons_proposal_verify(&p, "chain-b"), FL_ESIG);
	fl_writer_init(&w, 0);
	cr_assert_eq(node_cons_proposal_encode(&w, &p), 0);
	cr_assert_eq(node_cons_proposal_decode(&back, w.buf, w.len), 0);
	cr_assert_eq(memcmp(&back, &p, sizeof(p)), 0);
	cr_assert_eq(node_cons_proposal_decode(&back, w.buf, w.len - 1), FL_ETRUNC);
	back.time_ms++;
	cr_assert_eq(node_cons_proposal_verify(&back, "chain-a"), FL_ESIG);
	fl_writer_free(&w);
	p.pol_round = 3;
	fl_writer_init(&w, 0);
	cr_assert_eq(node_cons_proposal_encode(&w, &p), FL_EINVAL, "pol_round not below round");
	fl_writer_free(&w);
}
