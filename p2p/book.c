/*
 * p2p/book.c — the peer book: persistent peers, addresses learned from
 * ADDRS, reconnect with backoff, misbehaviour scores and bans, and the rule
 * that keeps one of two sessions to the same key.
 *
 * Reconnect delay after the k-th failure: uniform in [min, min(max, min*2^(k-1))]
 * ("full jitter" with a floor), so restarted networks do not redial in
 * lockstep. One timer serves the whole book, set for the earliest due entry.
 *
 * Misbehaviour scores decay: a score halves (rounding down) every ban_ms
 * after the penalty that raised it from zero, so an honest peer's old slip
 * is forgiven at the pace a ban would be, while a peer that keeps
 * misbehaving faster than that still reaches ban_score. No timer: the
 * decay is computed from uv_now() whenever a score is read or changed.
 */
#include "p2p/host_internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

/* A learned address that failed this many dials in a row is forgotten. */
#define LEARNED_MAX_FAILURES 8

static uint64_t now_ms(const p2p_host *h)
{
	return uv_now(h->loop);
}

int p2p_book_init(p2p_book *b, p2p_host *h)
{
	(void)h;
	memset(b, 0, sizeof(*b));
	b->entries = fl_calloc(P2P_BOOK_MAX, sizeof(*b->entries));
	b->scores = fl_calloc(P2P_SCORES_MAX, sizeof(*b->scores));
	if (b->entries == NULL || b->scores == NULL) {
		p2p_book_free(b);
		return FL_ENOMEM;
	}
	return FL_OK;
}

void p2p_book_free(p2p_book *b)
{
	fl_free(b->entries);
	fl_free(b->scores);
	b->entries = NULL;
	b->scores = NULL;
}

static void on_timer_closed(uv_handle_t *handle)
{
	p2p_host_handle_closed(handle->data);
}

void p2p_book_close(p2p_book *b)
{
	if (b->timer_open) {
		b->timer_open = 0;
		uv_close((uv_handle_t *)&b->timer, on_timer_closed);
	}
}

/* ------------------------------------------------------------ entries */

static p2p_book_entry *find_addr(p2p_host *h, const char *addr)
{
	for (size_t i = 0; i < P2P_BOOK_MAX; i++)
		if (h->book.entries[i].used && strcmp(h->book.entries[i].addr, addr) == 0)
			return &h->book.entries[i];
	return NULL;
}

static size_t count(const p2p_host *h, int persistent)
{
	size_t n = 0;

	for (size_t i = 0; i < P2P_BOOK_MAX; i++)
		n += h->book.entries[i].used && h->book.entries[i].persistent == persistent;
	return n;
}

/* A free slot, or the oldest idle learned entry (when learned ones are at
 * their cap, or to make room for a persistent one). */
static p2p_book_entry *take_slot(p2p_host *h, int persistent)
{
	p2p_book_entry *oldest = NULL;

	if (persistent || count(h, 0) < P2P_BOOK_LEARNED_MAX)
		for (size_t i = 0; i < P2P_BOOK_MAX; i++)
			if (!h->book.entries[i].used)
				return &h->book.entries[i];
	for (size_t i = 0; i < P2P_BOOK_MAX; i++) {
		p2p_book_entry *e = &h->book.entries[i];
		if (e->used && !e->persistent && e->peer == NULL &&
		    (oldest == NULL || e->learned_seq < oldest->learned_seq))
			oldest = e;
	}
	if (oldest != NULL)
		memset(oldest, 0, sizeof(*oldest));
	return oldest;
}

/* ------------------------------------------------------------ dialling */

/* The key a session is known or pinned to reach; NULL before AUTH without
 * a pin. */
static const fl_pubkey *peer_key(const p2p_peer *p)
{
	if (p->sess.authenticated)
		return &p->sess.remote_id;
	return p->has_expect ? &p->expect : NULL;
}

/*
 * A session, live or still in its handshake, to this entry's address (one
 * we dialled there) or to its key (either direction). Pending sessions
 * count: an address heard in ADDRS while our own dial there is in flight
 * must not be dialled a second time, which would only end in
 * duplicate-session resolution closing one of the two.
 */
static int has_session(const p2p_host *h, const p2p_book_entry *e)
{
	for (const p2p_peer *p = h->peers; p != NULL; p = p->next) {
		const fl_pubkey *k;
		if (p->state == P2P_PEER_CLOSING)
			continue;
		if (p->outbound && strcmp(p->dialled, e->addr) == 0)
			return 1;
		k = peer_key(p);
		if (e->id_known && k != NULL && fl_pubkey_cmp(k, &e->id) == 0)
			return 1;
	}
	return 0;
}

/* Worth a dial now or later: no session of its own, not us, no session
 * (live or pending) to its address or key, and a free outbound slot. */
static int wants_dial(const p2p_host *h, const p2p_book_entry *e)
{
	if (!e->used || e->peer != NULL)
		return 0;
	if (e->id_known && fl_pubkey_cmp(&e->id, &h->self) == 0)
		return 0;
	if (has_session(h, e))
		return 0;
	return h->n_out < h->cfg.max_outbound;
}

/*
 * When e may be dialled: its due time, and for a learned entry also the
 * host-wide bucket of learned dials. Learned addresses are claims of other
 * members, so they must not turn us into a dialler of their choosing: 4
 * ADDRS once made us dial 256 chosen addresses 1,843 times in 15 s.
 */
static uint64_t dial_at(const p2p_host *h, const p2p_book_entry *e)
{
	uint64_t slack = (uint64_t)(P2P_LEARNED_DIAL_BURST - 1) * P2P_LEARNED_DIAL_MS;
	uint64_t bucket = h->book.learned_tat > slack ? h->book.learned_tat - slack : 0;

	if (e->persistent)
		return e->due;
	return e->due > bucket ? e->due : bucket;
}

static void took_learned_dial(p2p_host *h)
{
	uint64_t now = now_ms(h);

	h->book.learned_tat =
	    (h->book.learned_tat > now ? h->book.learned_tat : now) + P2P_LEARNED_DIAL_MS;
	h->book.learned_dials++;
}

static void on_tick(uv_timer_t *t);

static void schedule(p2p_host *h)
{
	p2p_book *b = &h->book;
	uint64_t now = now_ms(h), due = UINT64_MAX;

	if (!b->timer_open || !h->started || h->closing)
		return;
	for (size_t i = 0; i < P2P_BOOK_MAX; i++)
		if (wants_dial(h, &b->entries[i]) && dial_at(h, &b->entries[i]) < due)
			due = dial_at(h, &b->entries[i]);
	if (due == UINT64_MAX)
		uv_timer_stop(&b->timer);
	else
		uv_timer_start(&b->timer, on_tick, due > now ? due - now : 0, 0);
}

static void on_tick(uv_timer_t *t)
{
	p2p_host *h = t->data;
	uint64_t now = now_ms(h);

	for (size_t i = 0; i < P2P_BOOK_MAX; i++) {
		p2p_book_entry *e = &h->book.entries[i];
		if (!wants_dial(h, e) || dial_at(h, e) > now)
			continue;
		if (!e->persistent)
			took_learned_dial(h);
		/* A failed start leaves e->peer NULL; a started dial reports its
		 * outcome through p2p_book_on_session_end. */
		if (p2p_host_dial_entry(h, e) != FL_OK && e->peer == NULL)
			p2p_book_on_dial_failed(h, e);
	}
	schedule(h);
}

void p2p_book_open(p2p_host *h)
{
	int rc = uv_timer_init(h->loop, &h->book.timer);

	assert(rc == 0); /* documented to always succeed */
	(void)rc;
	h->book.timer.data = h;
	h->book.timer_open = 1;
	h->handles++;
}

void p2p_book_start(p2p_host *h)
{
	schedule(h);
}

static void backoff(p2p_host *h, p2p_book_entry *e)
{
	uint32_t lo = h->cfg.backoff_min_ms, hi = h->cfg.backoff_max_ms;
	uint64_t cap;

	if (e->attempt < 32)
		e->attempt++;
	cap = (uint64_t)lo << (e->attempt - 1 < 20 ? e->attempt - 1 : 20);
	if (cap > hi)
		cap = hi;
	e->due = now_ms(h) + lo + randombytes_uniform((uint32_t)(cap - lo) + 1);
}

void p2p_book_on_dial_failed(p2p_host *h, p2p_book_entry *e)
{
	backoff(h, e);
	if (!e->persistent && e->attempt >= LEARNED_MAX_FAILURES)
		memset(e, 0, sizeof(*e));
}

void p2p_book_on_dial(p2p_host *h, p2p_peer *p)
{
	p2p_book_entry *e = find_addr(h, p->dialled);

	if (e == NULL || e->peer != NULL)
		return;
	p->entry = e;
	e->peer = p;
	p->has_expect = e->has_expect;
	p->expect = e->expect;
}

/*
 * The entry for an outbound session that has none (p2p_dial to an address
 * the book did not know, or one whose entry was busy): the book records the
 * address and the key that proved itself there, so it never dials that
 * address or key again while this session lasts, and redials it like any
 * learned address after. An entry still tied to a session that is closing
 * (a duplicate) passes to this one.
 */
static p2p_book_entry *adopt(p2p_host *h, p2p_peer *p)
{
	p2p_book_entry *e = find_addr(h, p->dialled);

	if (e == NULL) {
		e = take_slot(h, 0);
		if (e == NULL)
			return NULL;
		e->used = 1;
		snprintf(e->addr, sizeof(e->addr), "%s", p->dialled);
		e->learned_seq = ++h->book.learned_seq;
	} else {
		/* A key pinned to this address that this session did not prove:
		 * the entry stays the pin's. */
		if (e->has_expect && fl_pubkey_cmp(&e->expect, &p->sess.remote_id) != 0)
			return NULL;
		if (e->peer != NULL) {
			if (e->peer->state != P2P_PEER_CLOSING)
				return NULL;
			e->peer->entry = NULL;
		}
	}
	e->peer = p;
	p->entry = e;
	return e;
}

void p2p_book_on_session(p2p_host *h, p2p_peer *p)
{
	p2p_book_entry *e = p->entry;

	if (e == NULL && p->outbound)
		e = adopt(h, p);
	if (e != NULL) {
		e->attempt = 0;
		e->id_known = 1;
		e->id = p->sess.remote_id;
	}
	/* Entries that pointed to this key stop wanting a dial. */
	schedule(h);
}

void p2p_book_on_session_end(p2p_host *h, p2p_peer *p)
{
	p2p_book_entry *e = p->entry;

	if (e != NULL) {
		e->peer = NULL;
		if (p->sess.authenticated) {
			e->id_known = 1;
			e->id = p->sess.remote_id;
		}
		/* A duplicate's key is connected through the other session: no
		 * redial while that lasts (wants_dial), and none needed after. */
		if (p->duplicate)
			e->due = now_ms(h);
		else
			p2p_book_on_dial_failed(h, e);
	}
	if (!h->closing)
		schedule(h);
}

int p2p_add_persistent(p2p_host *h, const char *addr, const fl_pubkey *expect)
{
	struct sockaddr_in sin;
	p2p_book_entry *e;
	int rc;

	assert(h != NULL && addr != NULL);
	if ((rc = p2p_addr_parse(addr, &sin)) != FL_OK)
		return rc;
	e = find_addr(h, addr);
	if (e != NULL && e->persistent)
		return FL_EEXIST;
	if (e == NULL) {
		if (count(h, 1) >= P2P_BOOK_PERSISTENT_MAX)
			return FL_ETOOBIG;
		e = take_slot(h, 1);
		if (e == NULL)
			return FL_ETOOBIG;
		e->used = 1;
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
		e->due = now_ms(h);
	}
	e->persistent = 1;
	if (expect != NULL) {
		e->has_expect = 1;
		e->expect = *expect;
	}
	schedule(h);
	return FL_OK;
}

/* --------------------------------------------------------- addresses */

/*
 * ADDRS, sent once as the first message of a session: the sender's own
 * listen address first, then the addresses in its book. A host that does
 * not listen sends an empty list, so the first entry, when there is one,
 * is always the sender's: the receiver pins it to the sender's key and
 * never dials it while that session lasts (no duplicate sessions from our
 * own address book).
 */
int p2p_book_send_addrs(p2p_host *h, p2p_peer *p)
{
	p2p_addrs_msg *m;
	fl_writer w;
	int rc;

	/* 4 KiB: off the stack of a deep callback chain. */
	m = fl_malloc(sizeof(*m));
	if (m == NULL)
		return FL_ENOMEM;
	m->n = 0;
	if (h->listen_addr[0] != '\0') {
		snprintf(m->addr[m->n++], P2P_ADDR_MAX, "%s", h->listen_addr);
		for (size_t i = 0; i < P2P_BOOK_MAX && m->n < P2P_ADDRS_MAX; i++) {
			const p2p_book_entry *e = &h->book.entries[i];
			/* Not the receiver's own address, not one that led to us. */
			if (!e->used || e->peer == p ||
			    (e->id_known && (fl_pubkey_cmp(&e->id, &h->self) == 0 ||
					     fl_pubkey_cmp(&e->id, &p->sess.remote_id) == 0)))
				continue;
			snprintf(m->addr[m->n++], P2P_ADDR_MAX, "%s", e->addr);
		}
	}
	fl_writer_init(&w, (size_t)P2P_ADDRS_MAX * (P2P_ADDR_MAX + 2) + 16);
	rc = p2p_addrs_encode(&w, m);
	if (rc == FL_OK)
		rc = fl_writer_finish(&w);
	if (rc == FL_OK)
		rc = p2p_peer_queue(p, P2P_PRIO_HIGH, P2P_TYPE_ADDRS, w.buf, w.len);
	fl_writer_free(&w);
	fl_free(m);
	return rc;
}

static size_t count_source(const p2p_host *h, const fl_pubkey *id)
{
	size_t n = 0;

	for (size_t i = 0; i < P2P_BOOK_MAX; i++) {
		const p2p_book_entry *e = &h->book.entries[i];
		n += e->used && e->has_source && fl_pubkey_cmp(&e->source, id) == 0;
	}
	return n;
}

int p2p_book_on_addrs(p2p_host *h, p2p_peer *p, const uint8_t *body, size_t n)
{
	const fl_pubkey *from = &p->sess.remote_id;
	size_t added;
	p2p_addrs_msg *m;
	int rc;

	/* Once per session, as its first message: later ones could only
	 * re-aim our book (20 of them once stopped our dials to a member). */
	if (p->addrs_in)
		return FL_EPROTO;
	p->addrs_in = 1;
	m = fl_malloc(sizeof(*m));
	if (m == NULL)
		return FL_ENOMEM;
	if ((rc = p2p_addrs_decode(m, body, n)) != FL_OK)
		goto cleanup;
	added = count_source(h, from);
	for (uint32_t i = 0; i < m->n; i++) {
		p2p_book_entry *e;
		if (strcmp(m->addr[i], h->listen_addr) == 0)
			continue;
		e = find_addr(h, m->addr[i]);
		if (e == NULL) {
			/* One key fills at most its share of the book, across its
			 * sessions, so it cannot flush the others' addresses. */
			if (added >= P2P_LEARNED_PER_SOURCE)
				continue;
			e = take_slot(h, 0);
			if (e == NULL)
				break;
			e->used = 1;
			snprintf(e->addr, sizeof(e->addr), "%s", m->addr[i]);
			e->learned_seq = ++h->book.learned_seq;
			e->due = now_ms(h);
			e->has_source = 1;
			e->source = *from;
			added++;
		}
		/* The sender's own address, tied to its key only if nothing else
		 * names one: never a persistent or pinned entry, nor one whose key
		 * is known (proved by our dial, or claimed before), else a member
		 * could park another member's address on its own session and stop
		 * our dials there. */
		if (i == 0 && !e->persistent && !e->has_expect && !e->id_known && e->peer == NULL) {
			e->id_known = 1;
			e->id = *from;
		}
	}
	schedule(h);
cleanup:
	fl_free(m);
	return rc;
}

/* ------------------------------------------------------ scores, bans */

static p2p_score *find_score(const p2p_host *h, const fl_pubkey *id)
{
	for (size_t i = 0; i < h->book.n_scores; i++)
		if (fl_pubkey_cmp(&h->book.scores[i].id, id) == 0)
			return &h->book.scores[i];
	return NULL;
}

/* Whole half-lives (ban_ms, at least 1 ms) since s->decayed_at. */
static uint64_t halvings(const p2p_host *h, const p2p_score *s)
{
	uint64_t now = now_ms(h), half = h->cfg.ban_ms > 0 ? h->cfg.ban_ms : 1;

	return now > s->decayed_at ? (now - s->decayed_at) / half : 0;
}

static int32_t decayed(const p2p_host *h, const p2p_score *s)
{
	uint64_t k = halvings(h, s);

	return k >= 31 ? 0 : s->score >> k;
}

/* An expired ban starts over from a clean score; a live score loses the
 * halvings due since it was last touched. */
static void expire(const p2p_host *h, p2p_score *s)
{
	uint64_t k;

	if (s->banned_until != 0 && s->banned_until <= now_ms(h)) {
		s->banned_until = 0;
		s->score = 0;
	}
	k = halvings(h, s);
	s->score = decayed(h, s);
	/* The next halving stays on the same grid; from zero, a new penalty
	 * starts a fresh period. */
	if (s->score == 0)
		s->decayed_at = now_ms(h);
	else
		s->decayed_at += k * (h->cfg.ban_ms > 0 ? h->cfg.ban_ms : 1);
}

static p2p_score *score_entry(p2p_host *h, const fl_pubkey *id)
{
	p2p_book *b = &h->book;
	p2p_score *s = find_score(h, id);

	if (s == NULL) {
		if (b->n_scores < P2P_SCORES_MAX) {
			s = &b->scores[b->n_scores++];
		} else {
			/* Full: forget the longest-untouched id, preferring one
			 * that is not banned. */
			for (size_t i = 0; i < b->n_scores; i++) {
				p2p_score *c = &b->scores[i];
				expire(h, c);
				if (s == NULL || (c->banned_until == 0 && s->banned_until != 0) ||
				    ((c->banned_until == 0) == (s->banned_until == 0) &&
				     c->touched < s->touched))
					s = c;
			}
		}
		memset(s, 0, sizeof(*s));
		s->id = *id;
		s->decayed_at = now_ms(h);
	}
	expire(h, s);
	s->touched = now_ms(h);
	return s;
}

void p2p_book_ban(p2p_host *h, const fl_pubkey *id)
{
	p2p_score *s = score_entry(h, id);
	char hex[FL_PUBKEY_HEX_LEN + 1];

	s->banned_until = now_ms(h) + h->cfg.ban_ms + 1;
	fl_pubkey_to_hex(hex, id);
	fl_log(FL_LOG_WARN, "p2p", "banned %s for %u ms (score %d)", hex, h->cfg.ban_ms, s->score);
}

int p2p_book_penalize(p2p_host *h, const fl_pubkey *id, int32_t points)
{
	p2p_score *s = score_entry(h, id);

	if (points > 0)
		s->score = s->score > INT32_MAX - points ? INT32_MAX : s->score + points;
	if (s->score >= h->cfg.ban_score && s->banned_until == 0) {
		p2p_book_ban(h, id);
		return 1;
	}
	return s->banned_until != 0;
}

int32_t p2p_book_score(const p2p_host *h, const fl_pubkey *id)
{
	const p2p_score *s = find_score(h, id);

	if (s == NULL || (s->banned_until != 0 && s->banned_until <= now_ms(h)))
		return 0;
	return decayed(h, s);
}

int p2p_is_banned(const p2p_host *h, const fl_pubkey *id)
{
	const p2p_score *s;

	assert(h != NULL && id != NULL);
	s = find_score(h, id);
	return s != NULL && s->banned_until > now_ms(h);
}

/* ---------------------------------------------------------- duplicates */

/*
 * Both ends must keep the same session without talking about it, whatever
 * order their sessions finished in: keep the one dialled by the lower key;
 * if one side dialled both, the one with the lower transcript hash (which
 * both ends share).
 */
p2p_peer *p2p_book_pick_duplicate(const p2p_host *h, p2p_peer *a, p2p_peer *b)
{
	const fl_pubkey *da = a->outbound ? &h->self : &a->sess.remote_id;
	const fl_pubkey *db = b->outbound ? &h->self : &b->sess.remote_id;
	int c = fl_pubkey_cmp(da, db);

	if (c == 0)
		c = memcmp(a->sess.transcript.b, b->sess.transcript.b, FL_HASH_LEN);
	return c <= 0 ? a : b;
}
