/*
 * node/node.c — node_run: opens everything a node is made of in order
 * (home, store, WAL, signer, mempool, consensus core, p2p host), replays
 * the height in progress, runs the loop, and on a signal closes it all in
 * reverse order.
 */
#include "node/node_internal.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG "node"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int node_byzantine_parse(const char *s, node_byzantine *out)
{
	static const struct {
		const char *name;
		node_byzantine mode;
	} modes[] = {{"equivocate", NODE_BYZ_EQUIVOCATE},
		     {"silent", NODE_BYZ_SILENT},
		     {"bad-proposal", NODE_BYZ_BAD_PROPOSAL},
		     {"bad-aggregate", NODE_BYZ_BAD_AGGREGATE},
		     {"withhold-updates", NODE_BYZ_WITHHOLD_UPDATES}};

	for (size_t i = 0; i < FL_ARRAY_LEN(modes); i++)
		if (strcmp(s, modes[i].name) == 0) {
			*out = modes[i].mode;
			return FL_OK;
		}
	return FL_EINVAL;
}

const char *node_byzantine_name(node_byzantine mode)
{
	switch (mode) {
	case NODE_BYZ_EQUIVOCATE:
		return "equivocate";
	case NODE_BYZ_SILENT:
		return "silent";
	case NODE_BYZ_BAD_PROPOSAL:
		return "bad-proposal";
	case NODE_BYZ_BAD_AGGREGATE:
		return "bad-aggregate";
	case NODE_BYZ_WITHHOLD_UPDATES:
		return "withhold-updates";
	default:
		return "none";
	}
}

/* The proposer priority of the next height, from genesis: chain/ keeps
 * each height's set, and the priorities follow from them alone. */
static int priority_compute(node *n)
{
	chain_validator_set set;
	int rc;

	if ((rc = chain_get_validator_set(n->store, 1, &set)) != 0 ||
	    (rc = node_cons_priority_init(&n->prio, &set)) != 0)
		return rc;
	for (uint64_t h = 2; h <= n->info.height + 1; h++)
		if ((rc = chain_get_validator_set(n->store, h, &set)) != 0 ||
		    (rc = node_cons_priority_advance(&n->prio, &set)) != 0)
			return rc;
	return FL_OK;
}

/* ------------------------------------------------------------ the loop */

static void tick_cb(uv_timer_t *t)
{
	node *n = t->data;

	node__net_send_status(n, NULL);
	node__metrics_tick(n);
	node__cons_resend(n);
	node__block_retry(n);
	node__net_sync(n, 1);
	node__own_txs_tick(n);
	node__round_tick(n);
}

static void handle_closed(uv_handle_t *h)
{
	node *n = h->data;

	n->handles--;
}

static void p2p_closed(void *arg)
{
	node *n = arg;

	n->p2p = NULL;
	n->handles--;
}

static void close_handle(node *n, uv_handle_t *h)
{
	if (h->loop == NULL || uv_is_closing(h))
		return;
	n->handles++;
	uv_close(h, handle_closed);
}

static void begin_stop(node *n)
{
	if (n->stopping)
		return;
	n->stopping = 1;
	fl_log(FL_LOG_INFO, LOG, "shutting down");
	close_handle(n, (uv_handle_t *)&n->tick);
	close_handle(n, (uv_handle_t *)&n->cons_timer);
	close_handle(n, (uv_handle_t *)&n->start_timer);
	close_handle(n, (uv_handle_t *)&n->validate_timer);
	node__rpc_close(n);
	if (n->p2p != NULL) {
		n->handles++;
		p2p_host_close(n->p2p, p2p_closed, n);
	}
}

static void signal_cb(uv_signal_t *s, int signum)
{
	node *n = s->data;

	if (n->stopping) {
		/* A second signal: out now. The WAL and the store are crash-safe. */
		static const char msg[] = "second signal: exiting at once\n";
		ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
		(void)w;
		_exit(130);
	}
	fl_log(FL_LOG_INFO, LOG, "%s received", signum == SIGINT ? "SIGINT" : "SIGTERM");
	begin_stop(n);
}

/* ------------------------------------------------------------- opening */

/* log.modules: each module set there logs at its own level; the others
 * at the global one (log.level or --log-level). */
static void log_modules(const node_config *cfg)
{
	for (unsigned m = 0; m < NODE_LOG_MODULES; m++)
		if (cfg->log.modules[m] >= 0)
			fl_log_set_module_level(node_log_module_name((node_log_module)m),
						(fl_log_level)cfg->log.modules[m]);
}

/* A FEDLEDGERD_TEST_* variable as a decimal number; 0 when unset or not
 * one. Only tests set these (docs/node.md, "Test modes"). */
static uint64_t test_env(const char *name)
{
	const char *v = getenv(name);
	uint64_t x = 0;

	if (v == NULL || fl_parse_u64(v, &x) != FL_OK)
		return 0;
	return x;
}

static void test_hooks(node *n)
{
	uint64_t v;

	n->test.exit_after_apply = test_env("FEDLEDGERD_TEST_EXIT_AFTER_APPLY");
	v = test_env("FEDLEDGERD_TEST_FAIL_APPLIES");
	n->test.fail_applies = v > 1000 ? 1000 : (unsigned)v;
	n->test.lose_tip_commit = test_env("FEDLEDGERD_TEST_LOSE_TIP_COMMIT");
	v = test_env("FEDLEDGERD_TEST_SLOW_VALIDATE_MS");
	n->test.slow_validate_ms = v > 600000 ? 600000 : (uint32_t)v;
	v = test_env("FEDLEDGERD_TEST_PRUNE_S");
	n->test.prune_s = v > 3600 ? 3600 : (uint32_t)v;
}

static int open_store(node *n, char *err, size_t errlen)
{
	int rc;

	if ((rc = chain_store_open(&n->store, n->home.store_dir, 0)) != 0)
		return fail(err, errlen, rc, "%s: cannot open the chain store: %s",
			    n->home.store_dir, fl_strerror(rc));
	rc = chain_store_init_genesis(n->store, &n->home.genesis);
	if (rc == FL_ECHAIN)
		return fail(err, errlen, rc, "%s: holds the chain of another genesis than %s",
			    n->home.store_dir, n->home.genesis_path);
	if (rc != 0 && rc != FL_EEXIST)
		return fail(err, errlen, rc, "%s: cannot write the genesis: %s", n->home.store_dir,
			    fl_strerror(rc));
	if ((rc = chain_store_set_verify_threads(n->store, 2)) != 0 ||
	    (rc = chain_store_info(n->store, &n->info)) != 0)
		return fail(err, errlen, rc, "%s: %s", n->home.store_dir, fl_strerror(rc));
	memcpy(n->chain_id, n->info.chain_id, sizeof(n->chain_id));
	return FL_OK;
}

/* 1 if dir holds no WAL file yet: a node that never ran consensus. */
static int wal_is_new(const char *dir)
{
	DIR *d = opendir(dir);
	const struct dirent *e;
	int fresh = 1;

	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL && fresh) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".wal") == 0)
			fresh = 0;
	}
	closedir(d);
	return fresh;
}

static int open_wal_and_signer(node *n, char *err, size_t errlen)
{
	char path[NODE_HOME_PATH_MAX + 32];
	unsigned flags = 0;
	int fresh = wal_is_new(n->home.wal_dir);
	int rc;

	if ((rc = node_wal_open(&n->wal, n->home.wal_dir, NULL)) != 0)
		return fail(err, errlen, rc, "%s: cannot open the consensus WAL: %s",
			    n->home.wal_dir, fl_strerror(rc));
	snprintf(path, sizeof(path), "%s/signer.state", n->home.data_dir);
	/* A fresh node starts with nothing signed; a node with a history
	 * that lost its state file must not (it may have signed already): only a
	 * store at genesis with no WAL file at all is new. */
	if (n->info.height == 0 && fresh)
		flags = NODE_SIGNER_CREATE;
	if ((rc = node_signer_open(&n->signer, path, &n->home.member_key, flags)) != 0)
		return fail(err, errlen, rc,
			    rc == FL_ENOTFOUND ? "%s: missing, and the store is past genesis: "
						 "restore it (a blank state could sign twice)"
					       : "%s: %s",
			    path, fl_strerror(rc));
	return FL_OK;
}

static int open_mempool(node *n, char *err, size_t errlen)
{
	node_mempool_config mc;
	int rc;

	node_mempool_config_default(&mc);
	mc.max_txs = n->home.config.mempool.max_txs;
	mc.max_bytes = (size_t)n->home.config.mempool.max_bytes;
	mc.max_per_sender = n->home.config.mempool.max_per_sender;
	if ((rc = node_mempool_new(&n->mempool, n->store, &mc)) != 0)
		return fail(err, errlen, rc, "mempool: %s", fl_strerror(rc));
	return FL_OK;
}

static int open_p2p(node *n, char *err, size_t errlen)
{
	p2p_config cfg;
	int rc;

	node__net_config(n, &cfg);
	rc = p2p_host_new(&n->p2p, n->loop, &cfg);
	fl_wipe(&cfg.identity, sizeof(cfg.identity));
	if (rc != 0)
		return fail(err, errlen, rc, "p2p: %s", fl_strerror(rc));
	for (uint32_t i = 0; i < n->home.config.p2p.n_persistent_peers; i++) {
		const node_config_peer *pp = &n->home.config.p2p.persistent_peers[i];
		if ((rc = p2p_add_persistent(n->p2p, pp->addr, &pp->id)) != 0)
			return fail(err, errlen, rc, "%s: p2p.persistent_peers[%u]: %s",
				    n->home.config_path, i, fl_strerror(rc));
	}
	return FL_OK;
}

static int start_p2p(node *n, char *err, size_t errlen)
{
	int rc;

	if ((rc = p2p_host_start(n->p2p)) != 0)
		return fail(err, errlen, rc, "%s: p2p.listen \"%s\": cannot listen: %s",
			    n->home.config_path, n->home.config.p2p.listen, fl_strerror(rc));
	return FL_OK;
}

static void close_all(node *n)
{
	begin_stop(n);
	/* Block work in flight finishes (its after_work runs), p2p closes. */
	while (n->handles > 0 || n->job_running || node__round_busy(n))
		uv_run(n->loop, UV_RUN_ONCE);
	close_handle(n, (uv_handle_t *)&n->sig_int);
	close_handle(n, (uv_handle_t *)&n->sig_term);
	while (n->handles > 0)
		uv_run(n->loop, UV_RUN_ONCE);
	for (unsigned i = 0; i < n->n_next; i++)
		fl_free(n->next[i].p);
	node__sync_free(n);
	node__fetch_free_all(n);
	node__blocks_free(n);
	node__round_close(n);
	node__own_txs_free(n);
	fl_free(n->stuck.bytes);
	node_cons_free(n->cons);
	node_mempool_free(n->mempool);
	if (n->wal != NULL && node_wal_close(n->wal) != 0)
		fl_log(FL_LOG_ERROR, LOG, "the WAL's last sync failed");
	node_signer_close(n->signer);
	node_blobstore_close(n->blobs);
	chain_store_close(n->store);
	node_home_close(&n->home);
	node_metrics_free(&n->metrics);
}

int node_run(const node_run_opts *opts, char *err, size_t errlen)
{
	node *n = fl_calloc(1, sizeof(*n));
	uv_loop_t loop;
	int rc;

	if (n == NULL)
		return fail(err, errlen, FL_ENOMEM, "out of memory");
	if (uv_loop_init(&loop) != 0) {
		fl_free(n);
		return fail(err, errlen, FL_EIO, "cannot start the event loop");
	}
	n->loop = &loop;
	n->opts = *opts;
	uv_timer_init(n->loop, &n->tick);
	uv_timer_init(n->loop, &n->cons_timer);
	uv_timer_init(n->loop, &n->start_timer);
	uv_timer_init(n->loop, &n->validate_timer);
	uv_signal_init(n->loop, &n->sig_int);
	uv_signal_init(n->loop, &n->sig_term);
	n->tick.data = n->cons_timer.data = n->start_timer.data = n->validate_timer.data = n;
	n->sig_int.data = n->sig_term.data = n;

	if ((rc = node__metrics_init(n)) != 0) {
		fail(err, errlen, rc, "metrics: %s", fl_strerror(rc));
		goto cleanup;
	}
	if ((rc = node_home_open(&n->home, opts->home, err, errlen)) != 0)
		goto cleanup;
	fl_log_set_format(opts->log_format >= 0 ? (fl_log_format)opts->log_format
						: n->home.config.log.format);
	fl_log_set_level(opts->log_level >= 0 ? (fl_log_level)opts->log_level
					      : n->home.config.log.level);
	log_modules(&n->home.config);
	test_hooks(n);
	if ((rc = open_store(n, err, errlen)) != 0 ||
	    (rc = open_wal_and_signer(n, err, errlen)) != 0 ||
	    (rc = open_mempool(n, err, errlen)) != 0)
		goto cleanup;
	if ((rc = node__tip_commit_recover(n)) != 0) {
		fail(err, errlen, rc, "%s: cannot read the commit of the tip: %s",
		     n->home.store_dir, fl_strerror(rc));
		goto cleanup;
	}
	node_cons_config_from_params(&n->cons_cfg, &n->info.params);
	n->block_interval_ms = n->info.params.block_interval_ms;
	if ((rc = priority_compute(n)) != 0) {
		fail(err, errlen, rc, "the validator sets of the chain: %s", fl_strerror(rc));
		goto cleanup;
	}
	if ((rc = node__cons_open(n)) != 0) {
		fail(err, errlen, rc, "consensus: %s", fl_strerror(rc));
		goto cleanup;
	}
	if ((rc = open_p2p(n, err, errlen)) != 0)
		goto cleanup;
	if ((rc = node__cons_replay(n)) != 0) {
		fail(err, errlen, rc, "%s: cannot replay the WAL: %s", n->home.wal_dir,
		     fl_strerror(rc));
		goto cleanup;
	}
	if ((rc = start_p2p(n, err, errlen)) != 0 || (rc = node__rpc_open(n, err, errlen)) != 0 ||
	    (rc = node__round_open(n, err, errlen)) != 0)
		goto cleanup;
	uv_signal_start(&n->sig_int, signal_cb, SIGINT);
	uv_signal_start(&n->sig_term, signal_cb, SIGTERM);
	uv_timer_start(&n->tick, tick_cb, NODE__TICK_MS, NODE__TICK_MS);
	{
		char id[FL_HASH_HEX_LEN + 1];
		fl_hex_encode(id, n->home.member_id.b, FL_PUBKEY_LEN);
		fl_log(FL_LOG_INFO, LOG,
		       "started: chain %s, height %llu, node %s, p2p port %u, rpc port %u%s%s",
		       n->chain_id, (unsigned long long)n->info.height, id,
		       (unsigned)p2p_host_listen_port(n->p2p), (unsigned)node__rpc_port(n),
		       opts->byzantine ? ", BYZANTINE TEST MODE " : "",
		       opts->byzantine ? node_byzantine_name(opts->byzantine) : "");
	}
	if (n->test.exit_after_apply != 0 || n->test.fail_applies != 0 ||
	    n->test.slow_validate_ms != 0 || n->test.lose_tip_commit != 0 || n->test.prune_s != 0)
		fl_log(FL_LOG_WARN, LOG,
		       "TEST HOOKS: exit after applying height %llu, fail %u applies, "
		       "delay the first block check %u ms, lose the commit of height %llu, "
		       "blob retention every %u s",
		       (unsigned long long)n->test.exit_after_apply, n->test.fail_applies,
		       n->test.slow_validate_ms, (unsigned long long)n->test.lose_tip_commit,
		       n->test.prune_s);
	while (!n->stopping && !n->fatal)
		uv_run(n->loop, UV_RUN_ONCE);
	rc = n->fatal;
cleanup:
	close_all(n);
	if (uv_loop_close(&loop) != 0)
		fl_log(FL_LOG_WARN, LOG, "handles left open at exit");
	fl_free(n);
	return rc;
}
