/*
 * fuzz_records — the state machine's stored-record decoders (chain/records.c)
 * on arbitrary bytes. The first byte picks the record type, the rest is the
 * record. Beyond "never crash or leak": whatever decodes re-encodes to
 * exactly the input, so each record has one encoding and the app hash,
 * which covers these bytes, cannot differ between nodes that agree on the
 * values.
 */
#include "chain/internal.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_same(fl_writer *w, int rc, const uint8_t *data, size_t size)
{
	check(rc == FL_OK);
	check(w->len == size && memcmp(w->buf, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		chain_account account;
		chain_member_record member;
		struct {
			chain_profile def;
			chain_profile_state st;
		} profile;
		chain_round round;
		chain_update_record update;
		chain_join_record join;
		chain_eval_record eval;
		chain_reward reward;
		chain_validator_set set;
		chain_proposal_record proposal;
		chain_tx_validator_update scheduled;
		chain_bond bond;
	} u;
	const uint8_t *p;
	fl_writer w;
	size_t n;

	if (size < 1)
		return 0;
	p = data + 1;
	n = size - 1;
	fl_writer_init(&w, 0);
	switch (data[0] % 12) {
	case 0:
		if (chain_account_record_decode(p, n, &u.account) == FL_OK)
			check_same(&w, chain_account_record_encode(&w, &u.account), p, n);
		break;
	case 1:
		if (chain_member_record_decode(p, n, &u.member) == FL_OK)
			check_same(&w, chain_member_record_encode(&w, &u.member), p, n);
		break;
	case 2:
		if (chain_profile_record_decode(p, n, &u.profile.def, &u.profile.st) == FL_OK)
			check_same(&w,
				   chain_profile_record_encode(&w, &u.profile.def, &u.profile.st),
				   p, n);
		break;
	case 3:
		if (chain_round_record_decode(p, n, &u.round) == FL_OK)
			check_same(&w, chain_round_record_encode(&w, &u.round), p, n);
		break;
	case 4:
		if (chain_update_record_decode(p, n, &u.update) == FL_OK)
			check_same(&w, chain_update_record_encode(&w, &u.update), p, n);
		break;
	case 5:
		if (chain_join_record_decode(p, n, &u.join) == FL_OK)
			check_same(&w, chain_join_record_encode(&w, &u.join), p, n);
		break;
	case 6:
		if (chain_eval_record_decode(p, n, &u.eval) == FL_OK)
			check_same(&w, chain_eval_record_encode(&w, &u.eval), p, n);
		break;
	case 7:
		if (chain_reward_record_decode(p, n, &u.reward) == FL_OK)
			check_same(&w, chain_reward_record_encode(&w, &u.reward), p, n);
		break;
	case 8:
		if (chain_validator_set_decode(p, n, &u.set) == FL_OK)
			check_same(&w, chain_validator_set_encode(&w, &u.set), p, n);
		break;
	case 9:
		if (chain_proposal_record_decode(p, n, &u.proposal) == FL_OK)
			check_same(&w, chain_proposal_record_encode(&w, &u.proposal), p, n);
		break;
	case 10:
		/* a scheduled validator update (CHAIN_DB_VALSET_PENDING) */
		if (chain_valset_update_record_decode(p, n, &u.scheduled) == FL_OK)
			check_same(&w, chain_valset_update_write(&w, &u.scheduled), p, n);
		break;
	default:
		if (chain_bond_record_decode(p, n, &u.bond) == FL_OK)
			check_same(&w, chain_bond_record_encode(&w, &u.bond), p, n);
		break;
	}
	fl_writer_free(&w);
	return 0;
}
