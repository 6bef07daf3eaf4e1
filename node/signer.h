/*
 * node/signer.h — the validator's signer and its double-sign guard.
 *
 * Every signature the validator gives out is first recorded, with the
 * (height, round, step) it belongs to and the digest it covers, in a small
 * state file written atomically (temp file, fsync, rename, fsync of the
 * directory) before the signature leaves this module. From that record the
 * signer refuses anything that could make two different signed values for
 * one (height, round, step): a lower (height, round, step), or another
 * digest at the same one. Asked for the very same digest again (a restart
 * re-sending its vote), it returns the saved signature without signing
 * anew. Steps order proposal < prevote < precommit within a round
 * (CometBFT's privval LastSignState, docs/wal.md).
 *
 * State file, 154 bytes, little-endian:
 *   "FLSIGNST" | u8 version 1 | pubkey (32) | u64 height | u32 round |
 *   u8 step | digest (32) | sig (64) | u32 CRC-32C of all before
 * step 0 means nothing signed yet (height, round, digest and sig all zero).
 *
 * One signer per state file: open takes an exclusive flock on "<path>.lock"
 * (FL_EEXIST while another process holds it). Used from one thread.
 */
#ifndef FEDLEDGER_NODE_SIGNER_H
#define FEDLEDGER_NODE_SIGNER_H

#include "chain/chain.h"
#include "core/core.h"

typedef enum {
	NODE_SIGN_PROPOSAL = 1,
	NODE_SIGN_PREVOTE = 2,
	NODE_SIGN_PRECOMMIT = 3
} node_sign_step;

/* What was signed last. step 0: nothing yet. */
typedef struct {
	uint64_t height;
	uint32_t round;
	uint8_t step; /* node_sign_step, or 0 */
	fl_hash digest;
	fl_sig sig;
} node_sign_state;

#define NODE_SIGN_STATE_LEN 154u

/* node_signer_open flags. */
#define NODE_SIGNER_CREATE 1u /* no state file yet: start from "nothing signed" (init) */

typedef struct node_signer node_signer;

/*
 * Loads the state at `path` for the key sk (copied; wiped on close).
 * A missing file is FL_ENOTFOUND unless flags has NODE_SIGNER_CREATE, which
 * writes a fresh state first: a node that lost its state file must not
 * start blank on its own, since that is how a validator signs twice.
 * A file that is not a valid state (length, magic, version, CRC, a field
 * out of range, a signature that does not verify) is FL_ECORRUPT; one of
 * another key is FL_EPERM; both are logged. Temp files a crash left next to
 * it ("<path>.tmp-*") are removed: the rename never happened, so the state
 * in `path` is the last one returned. FL_EEXIST (locked), FL_EIO, FL_ENOMEM,
 * FL_EINVAL (sk not a valid key). On error *out is NULL.
 */
int node_signer_open(node_signer **out, const char *path, const fl_seckey *sk,
		     unsigned flags) FL_MUST_CHECK;
void node_signer_close(node_signer *s);

/*
 * Signs `digest` (the domain hash of a proposal, or of a vote) for
 * (height >= 1, round, step). The caller vouches that the digest commits
 * to this (height, round, step): the signer cannot see inside it, which is
 * why votes should go through node_signer_sign_vote.
 *
 * FL_OK and *sig: a new signature, durable in the state file before this
 * returns, or the saved one if (height, round, step, digest) is the last
 * signed. FL_EPERM (logged with both sides) for a lower (height, round,
 * step) or another digest at the same one. FL_EINVAL for height 0 or an
 * unknown step. FL_EIO if the state could not be saved: no signature is
 * given out, and the signer then refuses everything (FL_ESTATE) until it
 * is reopened, since what the file holds is no longer known.
 */
int node_signer_sign(node_signer *s, fl_sig *sig, uint64_t height, uint32_t round, uint8_t step,
		     const fl_hash *digest) FL_MUST_CHECK;

/*
 * A consensus vote: sets v->validator to the signer's key, derives the step
 * from v->type (PREVOTE, PRECOMMIT; FL_EINVAL otherwise) and signs
 * fl_domain_hash("vote", chain_id, chain_vote_sign_bytes(v)), so the vote
 * passes chain_vote_verify and chain_verify_commit. v->sig is set on FL_OK
 * only. Errors as node_signer_sign; FL_EINVAL for a bad chain_id.
 */
int node_signer_sign_vote(node_signer *s, chain_vote *v, const char *chain_id) FL_MUST_CHECK;

/* The last signed state, and the signer's public key. */
const node_sign_state *node_signer_state(const node_signer *s);
const fl_pubkey *node_signer_pubkey(const node_signer *s);

/*
 * The state file's bytes, pure (the fuzz target's entry). decode checks the
 * length, magic, version, CRC and the fields (step 0..3; step 0 with
 * everything else zero; height >= 1 otherwise): FL_ECORRUPT for any fault.
 * It does not verify the signature (open does).
 */
void node_sign_state_encode(uint8_t out[NODE_SIGN_STATE_LEN], const fl_pubkey *pk,
			    const node_sign_state *st);
int node_sign_state_decode(const uint8_t *p, size_t n, fl_pubkey *pk,
			   node_sign_state *st) FL_MUST_CHECK;

#endif
