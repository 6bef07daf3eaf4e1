/*
 * tests/p2p/test_promise.c — the callback promise of p2p/p2p.h: a callback
 * runs exactly once and never before the call that took it returns, and a
 * completion is deferred to a later loop iteration, so a caller that retries
 * from its callback cannot spin the loop.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/support/p2p_harness.h"

#define RETRIES 50

typedef struct {
	p2p_host *host;
	uint64_t iterations; /* polls for I/O, counted by a prepare handle */
	uint64_t last_iteration;
	int calls;
	int same_iteration; /* callbacks with no poll since the one before */
	int inside;         /* set while p2p_blob_fetch runs */
	int early;          /* callbacks that ran inside p2p_blob_fetch */
	int last_status;
	int refused;
} retry_state;

/* Runs right before each poll for I/O. */
static void on_prepare(uv_prepare_t *c)
{
	((retry_state *)c->data)->iterations++;
}

static void on_guard(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void fetch_again(retry_state *s);

static void fetched(void *arg, int status, const fl_hash *hash, const uint8_t *data, size_t n)
{
	retry_state *s = arg;

	(void)hash;
	(void)data;
	(void)n;
	if (s->inside)
		s->early++;
	if (s->calls > 0 && s->iterations == s->last_iteration)
		s->same_iteration++;
	s->last_iteration = s->iterations;
	s->last_status = status;
	if (++s->calls < RETRIES)
		fetch_again(s);
	else
		uv_stop(p2p_host_loop(s->host));
}

static void fetch_again(retry_state *s)
{
	fl_hash hash;

	memset(hash.b, 0x5a, sizeof(hash.b));
	s->inside = 1;
	if (p2p_blob_fetch(s->host, &hash, 1024, 10000, fetched, s) != FL_OK)
		s->refused++;
	s->inside = 0;
}

/* A host without peers: every fetch ends FL_ENOTFOUND at once, and the
 * callback fetches again. The loop must poll for I/O between any two
 * completions (before the fix the retry's 0 ms timer ran again in the same timer
 * pass: all RETRIES completions, and so a retry loop of any length, with no
 * poll in between). The loop runs in UV_RUN_DEFAULT, whose every iteration
 * is one timer pass and one poll (UV_RUN_ONCE adds a second timer pass
 * after its poll). */
Test(p2p_promise, blob_fetch_retried_from_its_callback_does_not_spin, .timeout = 20)
{
	ph_net net;
	retry_state s;
	uv_prepare_t prepare;
	uv_timer_t guard;

	memset(&s, 0, sizeof(s));
	cr_assert_eq(ph_net_init(&net, 1, NULL, NULL), FL_OK);
	cr_assert_eq(ph_host_start(&net, 0, NULL), FL_OK);
	s.host = net.hosts[0].host;
	uv_prepare_init(&net.loop, &prepare);
	prepare.data = &s;
	uv_prepare_start(&prepare, on_prepare);
	uv_timer_init(&net.loop, &guard);
	uv_timer_start(&guard, on_guard, 10000, 0);

	fetch_again(&s);
	cr_assert_eq(s.calls, 0, "the callback ran before p2p_blob_fetch returned");
	uv_run(&net.loop, UV_RUN_DEFAULT);
	cr_assert_eq(s.calls, RETRIES);
	cr_assert_eq(s.refused, 0);
	cr_assert_eq(s.early, 0);
	cr_assert_eq(s.same_iteration, 0, "%d callbacks came with no poll before them",
		     s.same_iteration);
	cr_assert_eq(s.last_status, FL_ENOTFOUND);
	cr_assert_geq(s.iterations, (uint64_t)RETRIES);

	uv_close((uv_handle_t *)&prepare, NULL);
	uv_close((uv_handle_t *)&guard, NULL);
	ph_net_free(&net);
}

static void on_host_closed(void *arg)
{
	*(int *)arg += 1;
}

static int anyone(void *ctx, const fl_pubkey *id)
{
	(void)ctx;
	(void)id;
	return 1;
}

/* p2p_host_close takes a callback too: a host that was never started has
 * few handles, but its callback still comes from the loop, once (before the fix
 * it ran inside p2p_host_close). */
Test(p2p_promise, host_close_calls_back_from_the_loop, .timeout = 20)
{
	uv_loop_t loop;
	p2p_config cfg;
	fl_pubkey pk;
	p2p_host *h;
	int closed = 0;

	cr_assert_eq(uv_loop_init(&loop), 0);
	p2p_config_default(&cfg);
	cr_assert_eq(fl_key_generate(&cfg.identity, &pk), FL_OK);
	snprintf(cfg.network_id, sizeof(cfg.network_id), "%s", PH_NETWORK);
	cfg.is_member = anyone;
	cr_assert_eq(p2p_host_new(&h, &loop, &cfg), FL_OK);
	p2p_host_close(h, on_host_closed, &closed);
	cr_assert_eq(closed, 0, "the close callback ran inside p2p_host_close");
	for (int k = 0; k < 100 && closed == 0; k++)
		uv_run(&loop, UV_RUN_ONCE);
	cr_assert_eq(closed, 1);
	cr_assert_eq(uv_loop_close(&loop), 0);
}
