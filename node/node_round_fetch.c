/*
 * node/node_round_fetch.c — blobs the rounds need from peers: the round's
 * base model for a member, the committed updates for the coordinator and
 * the validators, a new model for everyone. A step asks for a blob each
 * time it needs it (node__round_want); what is not stored is fetched over
 * p2p (p2p_blob_fetch checks the hash), at most NODE__ROUND_FETCHES_MAX at
 * once, and written to the store on the pool. A failed fetch is retried
 * after 3 s per attempt (at most 30 s apart): a member whose blob is not
 * served yet may serve it later, and one that never does costs one
 * request per half minute. A want nobody asked for in a minute is
 * forgotten, so the table holds what open rounds need, not history.
 */
#include "node/node_round_internal.h"

#include <string.h>

#define LOG "rounds"

#define RETRY_MS     3000u
#define RETRY_MAX_MS 30000u
#define FORGET_MS    60000u

static node__want *find(node__rounds *r, const fl_hash *h)
{
	for (unsigned i = 0; i < NODE__ROUND_WANTS_MAX; i++)
		if (r->wants[i].state != NODE__WANT_FREE && fl_hash_cmp(&r->wants[i].hash, h) == 0)
			return &r->wants[i];
	return NULL;
}

static void fetched(void *arg, int status, const fl_hash *hash, const uint8_t *data, size_t n);

static void start(node *n, node__want *w)
{
	node__rounds *r = n->rounds;
	uint32_t timeout = n->home.config.timeouts.blob_fetch_ms;
	int rc;

	if (n->p2p == NULL || n->stopping || r->fetching >= NODE__ROUND_FETCHES_MAX)
		return;
	w->attempts++;
	rc = p2p_blob_fetch(n->p2p, &w->hash, w->max_size, timeout, fetched, w);
	if (rc != FL_OK) {
		uint64_t delay = (uint64_t)RETRY_MS * w->attempts;
		w->next_ms = node__now_ms() + (delay < RETRY_MAX_MS ? delay : RETRY_MAX_MS);
		return;
	}
	w->state = NODE__WANT_FETCHING;
	r->fetching++;
}

static void fetched(void *arg, int status, const fl_hash *hash, const uint8_t *data, size_t n)
{
	node__want *w = arg;
	node *nd = w->node;
	node__rjob *j;
	char hex[17];

	(void)hash;
	nd->rounds->fetching--;
	fl_hex_encode(hex, w->hash.b, 8);
	if (status != FL_OK || nd->stopping) {
		uint64_t delay = (uint64_t)RETRY_MS * w->attempts;
		w->state = NODE__WANT_IDLE;
		w->next_ms = node__now_ms() + (delay < RETRY_MAX_MS ? delay : RETRY_MAX_MS);
		if (nd->rounds->m.fetch_failed != NULL)
			node_metric_add(nd->rounds->m.fetch_failed, 1);
		fl_log(FL_LOG_DEBUG, LOG, "blob %s…: fetch attempt %u failed: %s", hex, w->attempts,
		       fl_strerror(status));
		return;
	}
	if (nd->rounds->m.fetched != NULL) {
		node_metric_add(nd->rounds->m.fetched, 1);
		node_metric_add(nd->rounds->m.fetch_bytes, (double)n);
	}
	j = node__round_job_new(nd, NODE__RJOB_STORE, (int)(w - nd->rounds->wants));
	if (j == NULL || (j->blob = fl_malloc(n != 0 ? n : 1)) == NULL) {
		node__round_job_free(j);
		w->state = NODE__WANT_IDLE;
		w->next_ms = node__now_ms() + RETRY_MS;
		return;
	}
	memcpy(j->blob, data, n);
	j->blob_n = n;
	w->state = NODE__WANT_STORING;
	if (node__round_job_queue(nd, j) != FL_OK) {
		w->state = NODE__WANT_IDLE;
		w->next_ms = node__now_ms() + RETRY_MS;
	}
}

void node__round_stored(node *n, node__rjob *j)
{
	node__want *w = &n->rounds->wants[j->slot];
	char hex[17];

	fl_hex_encode(hex, w->hash.b, 8);
	if (j->rc != FL_OK) {
		fl_log(FL_LOG_WARN, LOG, "blob %s…: fetched but not stored: %s", hex,
		       fl_strerror(j->rc));
		w->state = NODE__WANT_IDLE;
		w->next_ms = node__now_ms() + RETRY_MS;
		return;
	}
	fl_log(FL_LOG_DEBUG, LOG, "blob %s…: fetched, %zu bytes", hex, j->blob_n);
	memset(w, 0, sizeof(*w));
	/* Whatever waited for it goes on now rather than at the next tick. */
	node__round_step(n);
}

int node__round_want(node *n, const fl_hash *h, uint64_t max_size)
{
	node__rounds *r = n->rounds;
	node__want *w;
	uint64_t size, now = node__now_ms();

	if (node__zero_hash(h))
		return 1; /* the init model: nothing to fetch */
	if (node_blobstore_size(n->blobs, h, &size) == FL_OK)
		return 1;
	if ((w = find(r, h)) == NULL) {
		for (unsigned i = 0; i < NODE__ROUND_WANTS_MAX && w == NULL; i++)
			if (r->wants[i].state == NODE__WANT_FREE)
				w = &r->wants[i];
		if (w == NULL)
			return 0; /* full: asked again at the next step */
		memset(w, 0, sizeof(*w));
		w->state = NODE__WANT_IDLE;
		w->node = n;
		w->hash = *h;
		w->max_size = max_size;
	}
	w->asked_ms = now;
	if (w->state == NODE__WANT_IDLE && now >= w->next_ms)
		start(n, w);
	return 0;
}

void node__round_fetch_tick(node *n)
{
	node__rounds *r = n->rounds;
	uint64_t now = node__now_ms();

	for (unsigned i = 0; i < NODE__ROUND_WANTS_MAX; i++) {
		node__want *w = &r->wants[i];

		if (w->state != NODE__WANT_IDLE)
			continue;
		if (now - w->asked_ms > FORGET_MS)
			memset(w, 0, sizeof(*w));
		else if (now >= w->next_ms)
			start(n, w);
	}
}
