/*
 * p2p/blob.c — blob transfer on top of the host's send queue
 * (docs/p2p.md, "Blobs"): fetching a blob by hash from the peers that have
 * it, and the hooks the host calls.
 *
 * Fetching: peers are picked nearest first by XOR distance between their
 * id and the hash (deterministic, and different blobs start at different
 * peers). The first WANT asks one peer for one chunk, which tells the
 * total; only then, and only if total <= max_size, is the buffer allocated.
 * The blob is then split into ranges of chunks, one per peer ("leg", up to
 * blob_fetch_peers of them), each with its own window of
 * P2P_BLOB_MAX_CREDIT chunks, topped up once half of it has arrived. A peer
 * that leaves, says BLOB_NONE, sizes the blob differently or sends no chunk
 * for blob_progress_ms gives the rest of its range to another peer; a peer
 * that finishes its range takes over half of the largest range not yet
 * asked for. A peer that breaks the protocol is blamed (negative return:
 * the host scores and drops it) and its range goes to others.
 *
 * Hashing: chunks may arrive out of order, so the SHA-256 runs over the
 * contiguous prefix as it fills, on the thread pool (one job at a time, at
 * least BLOB_HASH_BATCH chunks each): the loop thread, which also receives,
 * decrypts and copies every chunk, would otherwise spend more time hashing
 * (~1.3 GB/s here) than on all of that. What is left when the last byte
 * arrives is hashed on the loop if it is a few chunks, else on the pool. A mismatch from one peer's
 * bytes blames that peer; from several, we cannot tell whose were wrong: the buffer is kept aside
 * and the blob fetched again from one peer at a time
 * ("solo"); once a copy verifies, every peer whose chunks in the kept
 * buffer differ from it is blamed.
 *
 * Serving is p2p/blob_serve.c.
 *
 * Re-entrancy: p2p_peer_queue may drop a slow peer, and a host may call
 * p2p_blobs_on_peer_gone from inside it. So a fetch is freed only from its
 * timers' close callbacks, and the caller's callback always runs from
 * that timer, never inside p2p_blob_fetch or a host hook.
 */
#include "p2p/blob_internal.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define BLOB_SPLIT_MIN  8  /* chunks: a range is split only if each half gets this many */
#define BLOB_HASH_STEP  4  /* chunks: a tail this short is hashed on the loop */
#define BLOB_HASH_BATCH 4  /* chunks: a hash job on the pool covers at least this many */
#define BLOB_WHO_MAX    32 /* distinct peers that may feed one attempt (a bitmask) */

/* One peer's part of a fetch: the range [next, end) still to come. */
typedef struct {
	p2p_peer *peer;     /* asked now; NULL: the range waits for a peer */
	int used;           /* holds a range */
	uint64_t next;      /* offset of the next chunk expected */
	uint64_t end;       /* UINT64_MAX until the total is known */
	uint64_t requested; /* end of the chunks granted so far */
	int opened;         /* its first chunk came: it agrees on the total */
	uint64_t last_ms;   /* uv_now() of the WANT or of its last chunk */
	uint8_t who;        /* index in f->who */
} blob_leg;

typedef struct {
	fl_pubkey id;
	int soft; /* only for this attempt: it sized the blob differently */
} blob_tried;

struct blob_fetch {
	blob_fetch *next;
	p2p_blobs *b;
	uv_timer_t timer;    /* the timeout, then the deferred callback */
	uv_timer_t progress; /* repeating: checks every leg's deadline */
	uv_work_t work;      /* hashes the tail on the thread pool */
	int handles;         /* of the two timers, still open */
	fl_hash hash;
	uint64_t max_size;
	p2p_blob_cb cb;
	void *arg;
	blob_leg legs[P2P_BLOB_FETCH_PEERS_MAX];
	unsigned max_legs;
	blob_tried *tried; /* never asked again in this fetch */
	size_t n_tried, cap_tried;

	/* This attempt. */
	uint8_t *buf;   /* total bytes, allocated once total <= max_size is known */
	uint8_t *owner; /* per chunk: 0 = missing, else 1 + index in who */
	fl_pubkey who[BLOB_WHO_MAX];
	unsigned n_who;
	fl_sha256_ctx *sha; /* over buf[0..hashed) */
	uint64_t hashed;
	uint64_t contig;  /* buf[0..contig) has arrived */
	uint64_t hash_to; /* the job on the pool hashes buf[hashed..hash_to) */
	int hash_final;   /* and then takes the digest */
	int verifying;    /* every byte is in: the last hash and the check run */
	uint64_t total;
	int have_total;
	uint64_t received; /* bytes in buf */
	int hashing;       /* a hash job on the pool reads buf and sha */
	fl_hash got;
	uint32_t lied; /* suspect_who whose kept chunks differ from this attempt's */

	/* A pieced-together attempt that missed the hash, kept to find the liar. */
	uint8_t *suspect_buf, *suspect_owner;
	fl_pubkey suspect_who[BLOB_WHO_MAX];
	uint64_t suspect_total;
	int solo; /* since then: one peer at a time */

	int too_big; /* some peer announced more than max_size */
	int stalled; /* some peer let its progress deadline pass */
	int done;    /* status set, callback pending on the timer */
	int status;
};

/* SHA-256 of the empty string: the one blob that needs no transfer (a
 * chunk carries 1..P2P_BLOB_CHUNK bytes, so it could not be sent). */
static const fl_hash empty_hash = {{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
				    0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
				    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
				    0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}};

static void fetch_schedule(blob_fetch *f);
static void fetch_finish(blob_fetch *f, int status);

void p2p_blobs_maybe_free(p2p_blobs *b)
{
	if (b->closing && b->open_handles == 0) {
		p2p_host *h = b->host;

		fl_writer_free(&b->out);
		fl_free(b);
		p2p_host_blobs_closed(h);
	}
}

int p2p_blobs_new(p2p_blobs **out, p2p_host *h)
{
	p2p_blobs *b;

	assert(out != NULL && h != NULL);
	b = fl_calloc(1, sizeof(*b));
	if (b == NULL)
		return FL_ENOMEM;
	b->host = h;
	fl_writer_init(&b->out, P2P_MAX_FRAME);
	*out = b;
	return FL_OK;
}

/* ----------------------------------------------------------- fetching */

static uint64_t min_u64(uint64_t a, uint64_t c)
{
	return a < c ? a : c;
}

static int leg_active(const blob_leg *l)
{
	return l->used && l->peer != NULL;
}

static int fetch_tried(const blob_fetch *f, const fl_pubkey *id)
{
	for (size_t i = 0; i < f->n_tried; i++)
		if (fl_pubkey_cmp(&f->tried[i].id, id) == 0)
			return 1;
	return 0;
}

static int fetch_exclude(blob_fetch *f, const fl_pubkey *id, int soft)
{
	if (fetch_tried(f, id))
		return FL_OK;
	if (f->n_tried == f->cap_tried) {
		size_t cap = f->cap_tried ? 2 * f->cap_tried : 8;
		blob_tried *grown = fl_realloc(f->tried, cap * sizeof(*grown));

		if (grown == NULL)
			return FL_ENOMEM;
		f->tried = grown;
		f->cap_tried = cap;
	}
	f->tried[f->n_tried++] = (blob_tried){*id, soft};
	return FL_OK;
}

/* Whether a is nearer the hash than c (XOR distance, bytes big-end first). */
static int nearer(const fl_hash *hash, const fl_pubkey *a, const fl_pubkey *c)
{
	for (size_t i = 0; i < FL_HASH_LEN; i++) {
		uint8_t da = a->b[i] ^ hash->b[i], dc = c->b[i] ^ hash->b[i];

		if (da != dc)
			return da < dc;
	}
	return 0;
}

static int fetch_uses(const blob_fetch *f, const p2p_peer *p)
{
	for (unsigned i = 0; i < f->max_legs; i++)
		if (leg_active(&f->legs[i]) && f->legs[i].peer == p)
			return 1;
	return 0;
}

/* Our side of the per-peer bound, so that a peer never has to refuse us,
 * and one transfer per (peer, hash) so chunks route to exactly one leg. */
static int peer_has_slot(const p2p_blobs *b, const p2p_peer *p, const fl_hash *hash)
{
	unsigned used = 0;

	for (const blob_fetch *f = b->fetches; f != NULL; f = f->next) {
		if (f->done || !fetch_uses(f, p))
			continue;
		if (fl_hash_cmp(&f->hash, hash) == 0)
			return 0;
		used++;
	}
	return used < BLOB_PEER_SLOTS;
}

static int who_index(blob_fetch *f, const fl_pubkey *id)
{
	for (unsigned i = 0; i < f->n_who; i++)
		if (fl_pubkey_cmp(&f->who[i], id) == 0)
			return (int)i;
	return f->n_who < BLOB_WHO_MAX ? -1 : -2;
}

/* The nearest peer free to join this fetch, or NULL; *untried says whether
 * some peer not yet excluded exists (it may be busy: wait for it). */
static p2p_peer *pick_peer(blob_fetch *f, int *untried)
{
	p2p_blobs *b = f->b;
	size_t n = p2p_peer_count(b->host);
	p2p_peer **peers, *best = NULL;

	*untried = 0;
	if (n == 0)
		return NULL;
	peers = fl_malloc(n * sizeof(*peers));
	if (peers == NULL) {
		*untried = 1; /* retried when a message or a timer wakes us */
		return NULL;
	}
	n = p2p_peers(b->host, peers, n);
	for (size_t i = 0; i < n; i++) {
		const fl_pubkey *id = p2p_peer_id(peers[i]);

		if (peers[i] == b->leaving || fetch_tried(f, id) || fetch_uses(f, peers[i]))
			continue;
		if (who_index(f, id) == -2)
			continue; /* BLOB_WHO_MAX peers fed this attempt already */
		*untried = 1;
		if (!peer_has_slot(b, peers[i], &f->hash))
			continue;
		if (best == NULL || nearer(&f->hash, id, p2p_peer_id(best)))
			best = peers[i];
	}
	fl_free(peers);
	return best;
}

/* Drops this attempt's bytes (the kept suspect buffer stays). */
static void attempt_reset(blob_fetch *f)
{
	assert(!f->hashing);
	fl_free(f->buf);
	f->buf = NULL;
	fl_free(f->owner);
	f->owner = NULL;
	fl_sha256_ctx_abort(f->sha);
	f->sha = NULL;
	f->hashed = 0;
	f->contig = 0;
	f->verifying = 0;
	f->have_total = 0;
	f->total = 0;
	f->received = 0;
	f->n_who = 0;
	f->lied = 0;
	memset(f->legs, 0, sizeof(f->legs));
	/* A size disagreement was this attempt's; the next may side with it. */
	for (size_t i = 0; i < f->n_tried;)
		if (f->tried[i].soft)
			f->tried[i] = f->tried[--f->n_tried];
		else
			i++;
}

static void suspect_free(blob_fetch *f)
{
	fl_free(f->suspect_buf);
	f->suspect_buf = NULL;
	fl_free(f->suspect_owner);
	f->suspect_owner = NULL;
}

/*
 * A large blob's buffer is fresh memory that every chunk's copy faults in a
 * 4 KiB page at a time (16,384 faults for 64 MiB, a fair share of a fetch's
 * time on the fetching thread here). Transparent huge pages, where the
 * kernel offers them on request, fault it in 2 MiB at a time. Advice only:
 * a kernel that says no leaves the buffer as it was.
 */
static void blob_buf_advise(uint8_t *buf, size_t n)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = (uintptr_t)2 << 20;
	uintptr_t lo = ((uintptr_t)buf + huge - 1) & ~(huge - 1);
	uintptr_t hi = ((uintptr_t)buf + n) & ~(huge - 1);

	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
	(void)buf;
	(void)n;
#endif
}

static int attempt_alloc(blob_fetch *f, uint64_t total)
{
	uint64_t chunks = (total + P2P_BLOB_CHUNK - 1) / P2P_BLOB_CHUNK;

	f->buf = fl_malloc((size_t)total);
	if (f->buf != NULL)
		blob_buf_advise(f->buf, (size_t)total);
	f->owner = fl_calloc((size_t)chunks, 1);
	if (f->buf == NULL || f->owner == NULL || fl_sha256_init(&f->sha) != FL_OK)
		return FL_ENOMEM;
	f->total = total;
	f->have_total = 1;
	return FL_OK;
}

static int want_send(blob_leg *l, const fl_hash *hash, uint64_t offset, uint32_t credit)
{
	p2p_blob_want_msg m = {*hash, offset, credit};
	fl_writer w;
	int rc;

	fl_writer_init(&w, 256);
	rc = p2p_blob_want_encode(&w, &m);
	if (rc == FL_OK)
		rc = fl_writer_finish(&w);
	if (rc == FL_OK)
		rc = p2p_peer_queue(l->peer, P2P_PRIO_HIGH, P2P_TYPE_BLOB_WANT, w.buf, w.len);
	fl_writer_free(&w);
	return rc;
}

/* Stops asking the leg's peer; its range waits for another. exclude: 0 =
 * it may be asked again (its session merely ended), 1 = not in this
 * attempt, 2 = not in this fetch. */
static void leg_leave(blob_fetch *f, blob_leg *l, int exclude)
{
	if (l->peer == NULL)
		return;
	if (exclude && fetch_exclude(f, p2p_peer_id(l->peer), exclude == 1) != FL_OK) {
		fetch_finish(f, FL_ENOMEM);
		return;
	}
	l->peer = NULL;
	if (f->have_total && l->next >= l->end)
		l->used = 0;
}

/* Gives the leg's range to p: one chunk first, whose answer tells the
 * total (or confirms it) before a window opens. */
static void leg_adopt(blob_fetch *f, blob_leg *l, p2p_peer *p)
{
	int w = who_index(f, p2p_peer_id(p));

	if (w < 0) {
		w = (int)f->n_who;
		f->who[f->n_who++] = *p2p_peer_id(p);
	}
	l->peer = p;
	l->who = (uint8_t)w;
	l->opened = 0;
	l->requested = min_u64(l->next + P2P_BLOB_CHUNK, l->end);
	l->last_ms = uv_now(p2p_host_loop(f->b->host));
	if (want_send(l, &f->hash, l->next, 1) < 0 && l->peer == p)
		leg_leave(f, l, 2);
}

/* The active leg with the most chunks not yet granted, if worth halving. */
static blob_leg *split_victim(blob_fetch *f, uint64_t *start)
{
	blob_leg *victim = NULL;
	uint64_t best = 0;

	for (unsigned i = 0; i < f->max_legs; i++) {
		blob_leg *l = &f->legs[i];
		uint64_t from = l->requested > l->next ? l->requested : l->next;

		if (leg_active(l) && l->opened && l->end > from && l->end - from > best) {
			best = l->end - from;
			victim = l;
			*start = from;
		}
	}
	return best >= 2 * BLOB_SPLIT_MIN * (uint64_t)P2P_BLOB_CHUNK ? victim : NULL;
}

static int any_used(const blob_fetch *f)
{
	for (unsigned i = 0; i < f->max_legs; i++)
		if (f->legs[i].used)
			return 1;
	return 0;
}

static void fetch_schedule(blob_fetch *f)
{
	p2p_blobs *b = f->b;
	int untried = 0;

	while (!f->done && !f->verifying && !b->closing) {
		blob_leg *orphan = NULL, *idle = NULL, *victim;
		uint64_t start = 0, mid;
		p2p_peer *p;

		for (unsigned i = 0; i < f->max_legs; i++) {
			blob_leg *l = &f->legs[i];

			if (l->used && l->peer == NULL && orphan == NULL)
				orphan = l;
			if (!l->used && idle == NULL)
				idle = l;
		}
		if (!f->have_total && orphan == NULL && idle == &f->legs[0] && !any_used(f)) {
			/* Nothing asked yet: the probe's range is the whole blob. */
			f->legs[0] = (blob_leg){.used = 1, .end = UINT64_MAX};
			orphan = &f->legs[0];
		}
		if (orphan != NULL) {
			if ((p = pick_peer(f, &untried)) == NULL)
				break;
			leg_adopt(f, orphan, p);
			continue;
		}
		if (!f->have_total || f->solo || idle == NULL)
			break;
		if ((victim = split_victim(f, &start)) == NULL)
			break;
		if ((p = pick_peer(f, &untried)) == NULL)
			break;
		/* start is a chunk boundary and the tail has 2 * BLOB_SPLIT_MIN
		 * chunks or more, so both halves are whole chunks but the last. */
		mid = start + (victim->end - start) / P2P_BLOB_CHUNK / 2 * P2P_BLOB_CHUNK;
		*idle = (blob_leg){.used = 1, .next = mid, .end = victim->end};
		victim->end = mid;
		leg_adopt(f, idle, p);
	}
	if (f->done || f->verifying || b->closing)
		return;
	for (unsigned i = 0; i < f->max_legs; i++)
		if (leg_active(&f->legs[i]))
			return;
	/* Nobody is working on it: a peer free now was adopted above, so only
	 * busy peers (a slot freeing up wakes us, blobs_wake) or none are left. */
	if (pick_peer(f, &untried) == NULL && !untried)
		fetch_finish(f, f->too_big ? FL_ETOOBIG : f->stalled ? FL_ETIMEOUT : FL_ENOTFOUND);
}

/* Fetches waiting for a peer get a chance whenever one may have freed. */
static void blobs_wake(p2p_blobs *b)
{
	for (blob_fetch *f = b->fetches; f != NULL && !b->closing; f = f->next)
		if (!f->done)
			fetch_schedule(f);
}

static void fetch_closed(uv_handle_t *handle)
{
	blob_fetch *f = handle->data;
	p2p_blobs *b = f->b;

	if (--f->handles > 0)
		return;
	fl_free(f->tried);
	fl_free(f);
	b->open_handles--;
	p2p_blobs_maybe_free(b);
}

static void fetch_deliver(uv_timer_t *timer)
{
	static const uint8_t nothing[1];
	blob_fetch *f = timer->data, **pp;
	p2p_blobs *b = f->b;

	for (pp = &b->fetches; *pp != f; pp = &(*pp)->next)
		assert(*pp != NULL);
	*pp = f->next;
	/* Counted open until the close below: b outlives this callback even
	 * if the caller closes the host from it. */
	f->cb(f->arg, f->status, &f->hash, f->buf != NULL ? f->buf : nothing,
	      f->status == FL_OK ? (size_t)f->total : 0);
	attempt_reset(f);
	suspect_free(f);
	uv_close((uv_handle_t *)&f->timer, fetch_closed);
	uv_close((uv_handle_t *)&f->progress, fetch_closed);
	if (!b->closing)
		blobs_wake(b);
}

static void fetch_finish(blob_fetch *f, int status)
{
	if (f->done)
		return;
	f->done = 1;
	f->status = status;
	for (unsigned i = 0; i < f->max_legs; i++)
		f->legs[i].peer = NULL;
	uv_timer_stop(&f->progress);
	uv_timer_stop(&f->timer);
	/* The thread pool still reads buf: hash_done delivers. */
	if (f->hashing)
		return;
	if (status != FL_OK)
		attempt_reset(f);
	/* 1 ms, not 0: libuv runs a timer started from a timer callback in the
	 * same pass when it is already due, so a fetch retried from its own
	 * callback with nothing to ask would complete, and be retried, again and
	 * again inside one loop iteration. A timer due 1 ms after the loop's
	 * cached time waits for the next iteration, whose poll lets I/O run. */
	uv_timer_start(&f->timer, fetch_deliver, 1, 0);
}

static void fetch_timeout(uv_timer_t *timer)
{
	blob_fetch *f = timer->data;
	p2p_blobs *b = f->b;

	fetch_finish(f, FL_ETIMEOUT);
	blobs_wake(b);
}

/* Every leg whose peer sent nothing for blob_progress_ms (it may keep its
 * session alive and never answer) gives its range to others, and the
 * silence costs the peer a little score: a loaded honest host can be late. */
static void progress_tick(uv_timer_t *timer)
{
	blob_fetch *f = timer->data;
	p2p_host *h = f->b->host;
	uint64_t now = uv_now(p2p_host_loop(h)), limit = p2p_host_config(h)->blob_progress_ms;

	for (unsigned i = 0; i < f->max_legs && !f->done; i++) {
		blob_leg *l = &f->legs[i];
		fl_pubkey id;

		if (!leg_active(l) || now - l->last_ms < limit)
			continue;
		id = *p2p_peer_id(l->peer);
		f->stalled = 1;
		leg_leave(f, l, 2);
		(void)p2p_book_penalize(h, &id, BLOB_PENALTY_STALL);
	}
	fetch_schedule(f);
	blobs_wake(f->b);
}

static blob_leg *leg_find(p2p_blobs *b, const p2p_peer *p, const fl_hash *hash, blob_fetch **out)
{
	for (blob_fetch *f = b->fetches; f != NULL; f = f->next) {
		if (f->done || fl_hash_cmp(&f->hash, hash) != 0)
			continue;
		for (unsigned i = 0; i < f->max_legs; i++) {
			if (leg_active(&f->legs[i]) && f->legs[i].peer == p) {
				*out = f;
				return &f->legs[i];
			}
		}
	}
	return NULL;
}

/* The leg's peer broke the protocol: the host scores and drops it; its
 * range goes to others (bytes it sent stay: the hash judges them). */
static int leg_blame(blob_fetch *f, blob_leg *l, int code)
{
	leg_leave(f, l, 2);
	fetch_schedule(f);
	return code;
}

static void blame_id(blob_fetch *f, const fl_pubkey *id)
{
	(void)p2p_book_penalize(f->b->host, id, BLOB_PENALTY_CORRUPT);
	if (fetch_exclude(f, id, 0) != FL_OK)
		fetch_finish(f, FL_ENOMEM);
}

/* All bytes are in and f->got is their hash. */
static void fetch_verify(blob_fetch *f)
{
	uint32_t fed = 0;
	uint64_t chunks = (f->total + P2P_BLOB_CHUNK - 1) / P2P_BLOB_CHUNK;

	if (fl_hash_cmp(&f->got, &f->hash) == 0) {
		/* Right bytes: a kept copy's chunks that differ from them were
		 * provably wrong, and so were the peers that sent them. */
		for (unsigned i = 0; i < BLOB_WHO_MAX; i++)
			if (f->lied & (1u << i))
				(void)p2p_book_penalize(f->b->host, &f->suspect_who[i],
							BLOB_PENALTY_CORRUPT);
		fetch_finish(f, FL_OK);
		return;
	}
	for (uint64_t c = 0; c < chunks; c++)
		fed |= 1u << (f->owner[c] - 1);
	if ((fed & (fed - 1)) == 0) {
		/* One peer sent every byte: it is to blame. */
		unsigned w = 0;

		while (!(fed & (1u << w)))
			w++;
		blame_id(f, &f->who[w]);
	} else if (f->suspect_buf == NULL) {
		f->suspect_buf = f->buf;
		f->suspect_owner = f->owner;
		f->suspect_total = f->total;
		memcpy(f->suspect_who, f->who, sizeof(f->who));
		f->buf = NULL;
		f->owner = NULL;
	}
	/* Pieced together: one peer at a time from now on. */
	if ((fed & (fed - 1)) != 0)
		f->solo = 1;
	if (f->done)
		return;
	attempt_reset(f);
	fetch_schedule(f);
}

/* On the pool: buf[hashed..hash_to) into sha, and the digest if final.
 * Meanwhile the loop writes only other chunks of buf and touches neither
 * sha nor these fields (hashing guards them). */
static void hash_work(uv_work_t *w)
{
	blob_fetch *f = w->data;

	fl_sha256_update(f->sha, f->buf + f->hashed, (size_t)(f->hash_to - f->hashed));
	if (f->hash_final) {
		fl_sha256_final(f->sha, &f->got);
		f->sha = NULL;
	}
}

static void hash_done(uv_work_t *w, int status);

static int hash_queue(blob_fetch *f, uint64_t to, int final)
{
	f->hash_to = to;
	f->hash_final = final;
	f->work.data = f;
	f->hashing = 1;
	if (uv_queue_work(p2p_host_loop(f->b->host), &f->work, hash_work, hash_done) != 0) {
		f->hashing = 0;
		return FL_EIO;
	}
	return FL_OK;
}

/* More of the prefix has arrived: hash it on the pool, once enough of it
 * waits and no job is running. */
static void hash_kick(blob_fetch *f)
{
	if (f->hashing || f->contig - f->hashed < BLOB_HASH_BATCH * (uint64_t)P2P_BLOB_CHUNK)
		return;
	if (hash_queue(f, f->contig, 0) != FL_OK)
		fetch_finish(f, FL_EIO);
}

/* Every byte is in and no job runs: the rest of the hash, then the check. */
static void hash_tail(blob_fetch *f)
{
	assert(!f->hashing && f->contig == f->total);
	if (f->total - f->hashed <= BLOB_HASH_STEP * (uint64_t)P2P_BLOB_CHUNK) {
		fl_sha256_update(f->sha, f->buf + f->hashed, (size_t)(f->total - f->hashed));
		f->hashed = f->total;
		fl_sha256_final(f->sha, &f->got);
		f->sha = NULL;
		fetch_verify(f);
		return;
	}
	if (hash_queue(f, f->total, 1) != FL_OK)
		fetch_finish(f, FL_EIO);
}

static void hash_done(uv_work_t *w, int status)
{
	blob_fetch *f = w->data;
	p2p_blobs *b = f->b;

	f->hashing = 0;
	if (status == 0)
		f->hashed = f->hash_to;
	if (f->done) {
		/* Timed out or the host closed meanwhile. */
		if (f->status != FL_OK)
			attempt_reset(f);
		uv_timer_start(&f->timer, fetch_deliver, 0, 0);
		return;
	}
	if (status != 0) {
		fetch_finish(f, FL_EIO);
		return;
	}
	if (f->hash_final) {
		fetch_verify(f);
		blobs_wake(b);
	} else if (f->verifying) {
		hash_tail(f); /* the last byte came while this job ran */
	} else {
		hash_kick(f);
	}
}

/* The last byte is in: the hash is finished (after the job running now,
 * if one is), then checked. */
static void fetch_complete(blob_fetch *f)
{
	for (unsigned i = 0; i < f->max_legs; i++)
		f->legs[i].used = 0, f->legs[i].peer = NULL;
	f->verifying = 1;
	if (!f->hashing)
		hash_tail(f);
}

/* In the solo retry: a kept chunk that differs from this one was sent by
 * a liar, if this copy verifies. */
static void suspect_compare(blob_fetch *f, uint64_t chunk, const uint8_t *p, size_t n)
{
	uint8_t w;

	if (f->suspect_buf == NULL || f->suspect_total != f->total)
		return;
	w = f->suspect_owner[chunk];
	if (w != 0 && memcmp(f->suspect_buf + chunk * P2P_BLOB_CHUNK, p, n) != 0)
		f->lied |= 1u << (w - 1);
}

static int on_chunk(p2p_blobs *b, p2p_peer *p, const uint8_t *body, size_t n)
{
	p2p_blob_chunk_msg m;
	blob_fetch *f = NULL;
	blob_leg *l;
	uint64_t expect, outstanding;
	int rc;

	rc = p2p_blob_chunk_decode(&m, body, n);
	if (rc < 0)
		return rc;
	/* Late chunks of a leg that ended or moved on were asked for once. */
	l = leg_find(b, p, &m.hash, &f);
	if (l == NULL)
		return FL_OK;
	if (m.n == 0 || m.offset > m.total || m.n > m.total - m.offset)
		return leg_blame(f, l, FL_EPROTO);
	if (!f->have_total) {
		if (m.offset != 0)
			return leg_blame(f, l, FL_EPROTO);
		if (m.total > f->max_size) {
			/* Maybe true: not the peer's fault, but never allocated. */
			f->too_big = 1;
			leg_leave(f, l, 2);
			fetch_schedule(f);
			return FL_OK;
		}
		if (attempt_alloc(f, m.total) != FL_OK) {
			fetch_finish(f, FL_ENOMEM);
			return FL_OK;
		}
		l->end = f->total;
		l->requested = min_u64(l->requested, f->total);
	} else if (m.total != f->total) {
		if (l->opened)
			return leg_blame(f, l, FL_EPROTO);
		/* It sizes the blob differently from the peer that sized it
		 * first: one of the two lied. It sits out this attempt. */
		leg_leave(f, l, 1);
		fetch_schedule(f);
		return FL_OK;
	}
	expect = min_u64(P2P_BLOB_CHUNK, f->total - l->next);
	if (m.offset != l->next || m.offset >= l->requested || m.n != expect)
		return leg_blame(f, l, FL_EPROTO);
	memcpy(f->buf + m.offset, m.data, m.n);
	f->owner[m.offset / P2P_BLOB_CHUNK] = (uint8_t)(1 + l->who);
	suspect_compare(f, m.offset / P2P_BLOB_CHUNK, m.data, m.n);
	f->received += m.n;
	l->next += m.n;
	l->last_ms = uv_now(p2p_host_loop(b->host));
	while (f->contig < f->total && f->owner[f->contig / P2P_BLOB_CHUNK])
		f->contig += min_u64(P2P_BLOB_CHUNK, f->total - f->contig);
	if (f->received == f->total) {
		fetch_complete(f);
		return FL_OK;
	}
	hash_kick(f);
	if (f->done)
		return FL_OK;
	if (l->next >= l->end) {
		/* Its range is done: the peer is free for another (schedule). */
		l->used = 0;
		l->peer = NULL;
		fetch_schedule(f);
		return FL_OK;
	}
	if (!l->opened) {
		l->opened = 1;
		/* Split the rest among free peers before this one's window
		 * claims the first 4 MiB of it. */
		fetch_schedule(f);
		if (l->peer != p)
			return FL_OK;
	}
	/* Top up once half the window has arrived: the sender never stalls,
	 * and no more than one window is ever in flight per leg. */
	outstanding = (l->requested - l->next + P2P_BLOB_CHUNK - 1) / P2P_BLOB_CHUNK;
	if (l->requested < l->end && outstanding <= BLOB_WINDOW / 2) {
		uint64_t offset = l->requested;
		uint32_t credit = (uint32_t)(BLOB_WINDOW - outstanding);

		l->requested = min_u64(l->end, offset + (uint64_t)credit * P2P_BLOB_CHUNK);
		credit = (uint32_t)((l->requested - offset + P2P_BLOB_CHUNK - 1) / P2P_BLOB_CHUNK);
		if (want_send(l, &f->hash, offset, credit) < 0 && l->peer == p) {
			leg_leave(f, l, 2);
			fetch_schedule(f);
		}
	}
	return FL_OK;
}

static int on_none(p2p_blobs *b, p2p_peer *p, const uint8_t *body, size_t n)
{
	fl_hash hash;
	blob_fetch *f = NULL;
	blob_leg *l;

	if (n != FL_HASH_LEN)
		return FL_EPROTO;
	memcpy(hash.b, body, FL_HASH_LEN);
	l = leg_find(b, p, &hash, &f);
	if (l != NULL) {
		leg_leave(f, l, 2);
		fetch_schedule(f);
	}
	return FL_OK;
}

int p2p_blobs_on_message(p2p_blobs *b, p2p_peer *p, uint16_t type, const uint8_t *body, size_t n)
{
	int rc;

	assert(b != NULL && p != NULL && (body != NULL || n == 0));
	if (b->closing)
		return FL_OK;
	p2p_blob_serve_reap(b);
	switch (type) {
	case P2P_TYPE_BLOB_WANT:
		rc = p2p_blob_serve_want(b, p, body, n);
		break;
	case P2P_TYPE_BLOB_CHUNK:
		rc = on_chunk(b, p, body, n);
		break;
	case P2P_TYPE_BLOB_NONE:
		rc = on_none(b, p, body, n);
		break;
	default:
		rc = FL_EPROTO;
		break;
	}
	blobs_wake(b);
	return rc;
}

void p2p_blobs_on_peer_gone(p2p_blobs *b, p2p_peer *p)
{
	p2p_peer *outer;

	assert(b != NULL && p != NULL);
	outer = b->leaving;
	if (b->closing)
		return;
	b->leaving = p;
	p2p_blob_serve_peer_gone(b, p);
	for (blob_fetch *f = b->fetches; f != NULL; f = f->next) {
		for (unsigned i = 0; i < f->max_legs && !f->done; i++) {
			if (leg_active(&f->legs[i]) && f->legs[i].peer == p) {
				leg_leave(f, &f->legs[i], 0);
				fetch_schedule(f);
			}
		}
	}
	blobs_wake(b);
	b->leaving = outer;
}

/* Pending fetches end with FL_EIO; the memory goes once the loop has run
 * the close callbacks of every handle taken here. */
void p2p_blobs_free(p2p_blobs *b)
{
	if (b == NULL)
		return;
	b->closing = 1;
	p2p_blob_serve_close(b);
	for (blob_fetch *f = b->fetches; f != NULL; f = f->next)
		fetch_finish(f, FL_EIO);
	p2p_blobs_maybe_free(b);
}

/* ---------------------------------------------------------------- API */

int p2p_blob_fetch(p2p_host *h, const fl_hash *hash, uint64_t max_size, uint32_t timeout_ms,
		   p2p_blob_cb cb, void *arg)
{
	const p2p_config *cfg = p2p_host_config(h);
	uint64_t tick;
	p2p_blobs *b;
	blob_fetch *f, **pp;

	assert(h != NULL && hash != NULL && cb != NULL && timeout_ms > 0);
	b = p2p_host_blobs(h);
	assert(b != NULL);
	if (b->closing)
		return FL_ESTATE;
	f = fl_calloc(1, sizeof(*f));
	if (f == NULL)
		return FL_ENOMEM;
	if (uv_timer_init(p2p_host_loop(h), &f->timer) != 0) {
		fl_free(f);
		return FL_EIO;
	}
	/* Both timers count as one open handle of b; f goes when both closed. */
	b->open_handles++;
	f->b = b;
	f->timer.data = f;
	f->handles = 1;
	if (uv_timer_init(p2p_host_loop(h), &f->progress) != 0) {
		uv_close((uv_handle_t *)&f->timer, fetch_closed);
		return FL_EIO;
	}
	f->handles = 2;
	f->progress.data = f;
	f->hash = *hash;
	f->max_size = max_size < SIZE_MAX ? max_size : SIZE_MAX;
	f->max_legs = cfg->blob_fetch_peers;
	f->cb = cb;
	f->arg = arg;
	/* Appended: waiting fetches get free slots in the order they came. */
	for (pp = &b->fetches; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = f;
	uv_timer_start(&f->timer, fetch_timeout, timeout_ms, 0);
	/* A leg is late by at most a quarter of the deadline when seen. */
	tick = cfg->blob_progress_ms / 4 > 0 ? cfg->blob_progress_ms / 4 : 1;
	uv_timer_start(&f->progress, progress_tick, tick, tick);
	if (fl_hash_cmp(hash, &empty_hash) == 0)
		fetch_finish(f, FL_OK);
	else
		fetch_schedule(f);
	return FL_OK;
}
