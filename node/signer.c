/*
 * node/signer.c — the validator's signer: the double-sign guard in front of
 * fl_sign, with its last-sign state saved before a signature leaves.
 */
#include "node/signer.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define SIGNER_LOG "signer"

struct node_signer {
	char *path;
	int lock_fd;
	fl_seckey sk;
	fl_pubkey pk;
	node_sign_state st;
	int failed; /* a save failed: the file's content is unknown */
};

static const char *step_name(uint8_t step)
{
	static const char *const names[] = {"none", "proposal", "prevote", "precommit"};

	return step < FL_ARRAY_LEN(names) ? names[step] : "?";
}

/* Splits path into its directory ("." if none) and base name. */
static int split_path(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	*base = slash == NULL ? path : slash + 1;
	len = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
	if ((*dir = fl_malloc(len + 1)) == NULL)
		return FL_ENOMEM;
	memcpy(*dir, slash == NULL ? "." : path, len);
	(*dir)[len] = 0;
	return FL_OK;
}

/*
 * fl_file_write_atomic writes "<path>.tmp-XXXXXX" and renames it over path;
 * a crash before the rename leaves the temp file, maybe half written. It
 * never was the state, so it goes, and path keeps the last state saved.
 */
static int remove_stale_temps(const char *path)
{
	const char *base;
	char *dir = NULL;
	struct dirent *de;
	size_t blen;
	DIR *d;
	int rc;

	if ((rc = split_path(path, &dir, &base)) != FL_OK)
		return rc;
	blen = strlen(base);
	if ((d = opendir(dir)) == NULL) {
		fl_free(dir);
		return errno == ENOENT ? FL_ENOTFOUND : FL_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, blen) != 0 ||
		    strncmp(de->d_name + blen, ".tmp-", 5) != 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			fl_log(FL_LOG_WARN, SIGNER_LOG, "%s/%s: removed a temp file a crash left",
			       dir, de->d_name);
	}
	closedir(d);
	fl_free(dir);
	return FL_OK;
}

static int take_lock(node_signer *s)
{
	size_t n = strlen(s->path);
	char *lock = fl_malloc(n + sizeof(".lock"));

	if (lock == NULL)
		return FL_ENOMEM;
	memcpy(lock, s->path, n);
	memcpy(lock + n, ".lock", sizeof(".lock"));
	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	fl_free(lock);
	if (s->lock_fd < 0)
		return errno == ENOENT ? FL_ENOTFOUND : FL_EIO;
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK)
			return FL_EIO;
		fl_log(FL_LOG_ERROR, SIGNER_LOG, "%s: in use by another process", s->path);
		return FL_EEXIST;
	}
	return FL_OK;
}

static int save(node_signer *s, const node_sign_state *st)
{
	uint8_t buf[NODE_SIGN_STATE_LEN];

	node_sign_state_encode(buf, &s->pk, st);
	return fl_file_write_atomic(s->path, buf, sizeof(buf), 0600);
}

/* Reads and checks the state file: its bytes, its key, its signature. */
static int load(node_signer *s)
{
	uint8_t *buf = NULL;
	fl_pubkey pk;
	size_t n;
	int rc;

	rc = fl_file_read(s->path, &buf, &n, NODE_SIGN_STATE_LEN);
	if (rc == FL_ETOOBIG)
		rc = FL_ECORRUPT;
	if (rc != FL_OK)
		goto cleanup;
	if ((rc = node_sign_state_decode(buf, n, &pk, &s->st)) != FL_OK) {
		fl_log(FL_LOG_ERROR, SIGNER_LOG, "%s: not a valid sign state", s->path);
		goto cleanup;
	}
	if (fl_pubkey_cmp(&pk, &s->pk) != 0) {
		fl_log(FL_LOG_ERROR, SIGNER_LOG, "%s: the sign state of another key", s->path);
		rc = FL_EPERM;
		goto cleanup;
	}
	/* The CRC catches damage; the signature also catches a state that was
	 * written whole but not by this signer. */
	if (s->st.step != 0 && fl_verify(&s->st.sig, &s->pk, &s->st.digest) != FL_OK) {
		fl_log(FL_LOG_ERROR, SIGNER_LOG, "%s: the saved signature does not verify",
		       s->path);
		rc = FL_ECORRUPT;
	}

cleanup:
	if (rc == FL_ECORRUPT && buf != NULL)
		fl_log(FL_LOG_ERROR, SIGNER_LOG, "%s: refusing to start from it", s->path);
	fl_free(buf);
	return rc;
}

int node_signer_open(node_signer **out, const char *path, const fl_seckey *sk, unsigned flags)
{
	node_signer *s;
	int rc;

	assert(out != NULL && path != NULL && sk != NULL);
	*out = NULL;
	if ((s = fl_calloc(1, sizeof(*s))) == NULL)
		return FL_ENOMEM;
	s->lock_fd = -1;
	s->sk = *sk;
	if ((rc = fl_key_public(&s->pk, sk)) != FL_OK)
		goto cleanup;
	if ((s->path = fl_strdup(path)) == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	if ((rc = take_lock(s)) != FL_OK)
		goto cleanup;
	if ((rc = remove_stale_temps(path)) != FL_OK)
		goto cleanup;
	rc = load(s);
	if (rc == FL_ENOTFOUND && (flags & NODE_SIGNER_CREATE)) {
		memset(&s->st, 0, sizeof(s->st));
		rc = save(s, &s->st);
	} else if (rc == FL_ENOTFOUND) {
		fl_log(FL_LOG_ERROR, SIGNER_LOG, "%s: no sign state (made by init)", path);
	}
	if (rc != FL_OK)
		goto cleanup;
	*out = s;
	s = NULL;

cleanup:
	node_signer_close(s);
	return rc;
}

void node_signer_close(node_signer *s)
{
	if (s == NULL)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	fl_free(s->path);
	fl_wipe(s, sizeof(*s));
	fl_free(s);
}

/* -1, 0, 1 as (h, r, step) is before, at or after what st holds. */
static int hrs_cmp(uint64_t h, uint32_t r, uint8_t step, const node_sign_state *st)
{
	if (h != st->height)
		return h < st->height ? -1 : 1;
	if (r != st->round)
		return r < st->round ? -1 : 1;
	if (step != st->step)
		return step < st->step ? -1 : 1;
	return 0;
}

static void log_refusal(const node_signer *s, const char *why, uint64_t h, uint32_t r, uint8_t step,
			const fl_hash *digest)
{
	char want[FL_HASH_HEX_LEN + 1], have[FL_HASH_HEX_LEN + 1];

	fl_hash_to_hex(want, digest);
	fl_hash_to_hex(have, &s->st.digest);
	fl_log(FL_LOG_ERROR, SIGNER_LOG,
	       "refused to sign %s: %llu/%u/%s digest %.16s… against the last signed "
	       "%llu/%u/%s digest %.16s…",
	       why, (unsigned long long)h, r, step_name(step), want,
	       (unsigned long long)s->st.height, s->st.round, step_name(s->st.step), have);
}

int node_signer_sign(node_signer *s, fl_sig *sig, uint64_t height, uint32_t round, uint8_t step,
		     const fl_hash *digest)
{
	node_sign_state next;
	int cmp, rc;

	assert(s != NULL && sig != NULL && digest != NULL);
	if (s->failed)
		return FL_ESTATE;
	if (height == 0 || step < NODE_SIGN_PROPOSAL || step > NODE_SIGN_PRECOMMIT)
		return FL_EINVAL;
	cmp = hrs_cmp(height, round, step, &s->st);
	if (cmp < 0) {
		log_refusal(s, "a lower height/round/step", height, round, step, digest);
		return FL_EPERM;
	}
	if (cmp == 0) {
		/* The same digest again: a restart re-sending what it signed.
		 * The saved signature, not a new one, so the network never sees
		 * two signatures of this validator for one step. */
		if (fl_hash_cmp(digest, &s->st.digest) == 0) {
			*sig = s->st.sig;
			return FL_OK;
		}
		log_refusal(s, "another value at the same height/round/step", height, round, step,
			    digest);
		return FL_EPERM;
	}
	next.height = height;
	next.round = round;
	next.step = step;
	next.digest = *digest;
	if ((rc = fl_sign(&next.sig, &s->sk, digest)) != FL_OK)
		return rc;
	/* Saved before it is given out: a crash after this point restarts
	 * from a state that already holds it. */
	if ((rc = save(s, &next)) != FL_OK) {
		fl_log(FL_LOG_ERROR, SIGNER_LOG, "%s: saving the sign state: %s; refusing to sign",
		       s->path, fl_strerror(rc));
		s->failed = 1;
		fl_wipe(&next.sig, sizeof(next.sig));
		return rc;
	}
	s->st = next;
	*sig = next.sig;
	return FL_OK;
}

int node_signer_sign_vote(node_signer *s, chain_vote *v, const char *chain_id)
{
	fl_writer w;
	fl_hash digest;
	fl_sig sig;
	uint8_t step;
	int rc;

	assert(s != NULL && v != NULL && chain_id != NULL);
	if (v->type == CHAIN_VOTE_PREVOTE)
		step = NODE_SIGN_PREVOTE;
	else if (v->type == CHAIN_VOTE_PRECOMMIT)
		step = NODE_SIGN_PRECOMMIT;
	else
		return FL_EINVAL;
	if (!chain_id_valid(chain_id, CHAIN_ID_MAX))
		return FL_EINVAL;
	v->validator = s->pk;
	/* The digest chain_vote_verify checks (chain/vote.c); a test signs
	 * through here and verifies through chain/ to keep the two one. */
	fl_writer_init(&w, 256);
	if ((rc = chain_vote_sign_bytes(&w, v)) == FL_OK)
		fl_domain_hash(&digest, "vote", chain_id, w.buf, w.len);
	fl_writer_free(&w);
	if (rc != FL_OK)
		return rc;
	if ((rc = node_signer_sign(s, &sig, v->height, v->round, step, &digest)) != FL_OK)
		return rc;
	v->sig = sig;
	return FL_OK;
}

const node_sign_state *node_signer_state(const node_signer *s)
{
	assert(s != NULL);
	return &s->st;
}

const fl_pubkey *node_signer_pubkey(const node_signer *s)
{
	assert(s != NULL);
	return &s->pk;
}
