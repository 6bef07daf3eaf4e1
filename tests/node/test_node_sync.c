/*
 * tests/node/test_node_sync.c — block sync of a real fedledgerd member
 * started from genesis, from a chain built here with the chain fixture
 * that holds blocks larger than one blocks response: from a real
 * validator it must sync them part by part and end with the very blocks
 * the fixture made; from a peer (a p2p host in this process) that serves
 * honest first parts and commits but junk parts, it must apply nothing of
 * that block and drop the peer.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "genesis/genesis.h"
#include "node/signer.h"
#include "node/wire.h"
#include "p2p/p2p.h"
#include "tests/node/home_helpers.h"
#include "tests/node/node_run_helpers.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/run_prog.h"

#define WAIT_MS  60000
#define BIG_TXS  7000 /* transfers in a large block: about 1 MB */
#define N_BLOCKS 5    /* 1 small, 2 large, 3 small, 4 large, 5 small */

static const char *bin_dir(void)
{
	const char *b = getenv("FEDLEDGER_BIN");
	return b != NULL && b[0] != '\0' ? b : "build/bin";
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* fedledgerd start --home home, output appended to home/node.log. */
static pid_t start_node(const char *home)
{
	char prog[512], log[300];
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/fedledgerd", bin_dir());
	snprintf(log, sizeof(log), "%s/node.log", home);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(prog, prog, "start", "--home", home, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static char *read_log(const char *home)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/node.log", home);
	return nr_read_file(path);
}

/* Waits (bounded) until home's log holds needle: the log, or NULL. */
static char *wait_log(const char *home, const char *needle)
{
	for (unsigned t = 0; t < WAIT_MS; t += 50) {
		char *s = read_log(home);
		if (strstr(s, needle) != NULL)
			return s;
		free(s);
		sleep_ms(50);
	}
	return NULL;
}

static void stop_node(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	for (unsigned t = 0; t < 10000; t += 20) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/* A fresh home (fedledgerd init) holding the fixture's genesis and key
 * `who`, listening on ephemeral ports; `peer` (may be NULL) its one
 * persistent peer, "ID@127.0.0.1:PORT". */
static void make_home(const char *home, chain_fixture *fx, uint32_t who, const char *peer)
{
	char path[300], err[256];
	json_error_t je;
	test_run r;

	const char *init[] = {"init", "--home", home, NULL};
	test_run_prog(&r, "fedledgerd", init);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(path, sizeof(path), "%s/genesis.json", home);
	cr_assert_eq(genesis_write_file(path, &fx->genesis, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/keys/member.key", home);
	cr_assert_eq(fl_key_save(path, &fx->sk[who], 1), 0);
	snprintf(path, sizeof(path), "%s/config.json", home);
	json_t *c = json_load_file(path, 0, &je);
	cr_assert(c != NULL);
	json_t *p2p = json_object_get(c, "p2p");
	json_object_set_new(p2p, "listen", json_string("127.0.0.1:0"));
	json_object_set_new(json_object_get(c, "rpc"), "listen", json_string("127.0.0.1:0"));
	if (peer != NULL) {
		json_t *peers = json_array();
		json_array_append_new(peers, json_string(peer));
		json_object_set_new(p2p, "persistent_peers", peers);
	}
	cr_assert_eq(json_dump_file(c, path, JSON_INDENT(2)), 0);
	json_decref(c);
}

static void big_params(chain_genesis *g, void *arg)
{
	(void)arg;
	g->params.max_block_txs = 10000;
	g->params.block_interval_ms = 300;
}

/* The next block, with BIG_TXS transfers when big; its hash and size. */
static void next_block(chain_fixture *fx, int big, fl_hash *hash, size_t *size)
{
	chain_tx *txs = NULL;
	uint32_t n = big ? BIG_TXS : 0;
	chain_block b;
	fl_writer w;

	if (n > 0) {
		txs = calloc(n, sizeof(*txs));
		cr_assert(txs != NULL);
		for (uint32_t i = 0; i < n; i++)
			cr_assert_eq(fixture_transfer(fx, &txs[i], 1 + i % 2, 3, 1), 0);
	}
	cr_assert_eq(fixture_build_block(fx, txs, n, &b), 0);
	fl_writer_init(&w, CHAIN_MAX_BLOCK_BYTES);
	cr_assert_eq(chain_block_encode(&w, &b), 0);
	cr_assert_eq(fl_writer_finish(&w), 0);
	*size = w.len;
	fl_writer_free(&w);
	cr_assert_eq(chain_header_hash(hash, &b.header), 0);
	cr_assert_eq(fixture_apply(fx, &b), 0, "%s", fx->res.reason ? fx->res.reason : "-");
	chain_block_free(&b);
	for (uint32_t i = 0; i < n; i++)
		chain_tx_free(&txs[i]);
	free(txs);
}

/*
 * The chain in dir: key 0 the validator, 1 and 2 members, 3 funded; large
 * blocks in the middle of a batch (2) and at the tip a node starts from
 * (4), with the tip's commit stored. hashes[1..N_BLOCKS].
 */
static void make_chain(chain_fixture *fx, const char *dir, fl_hash *hashes)
{
	fixture_opts o;
	chain_commit tip;

	memset(&o, 0, sizeof(o));
	o.n_validators = 1;
	o.n_members = 2;
	o.n_outsiders = 1;
	o.balance = 1000000000;
	o.tweak = big_params;
	cr_assert_eq(fixture_open_at(fx, &o, dir), 0);
	for (uint64_t h = 1; h <= N_BLOCKS; h++) {
		size_t size;
		int big = h == 2 || h == 4;
		next_block(fx, big, &hashes[h], &size);
		if (big)
			cr_assert_gt(size, NODE_WIRE_BLOCKS_BYTES_MAX, "block %llu: %zu bytes",
				     (unsigned long long)h, size);
	}
	cr_assert_eq(fixture_tip_commit(fx, &tip), 0);
	cr_assert_eq(chain_store_put_tip_commit(fx->store, &tip), 0);
}

/* "committed height H block <16 hex>…" of hash into out. */
static void committed_line(char *out, size_t n, uint64_t h, const fl_hash *hash)
{
	char hex[17];

	fl_hex_encode(hex, hash->b, 8);
	snprintf(out, n, "committed height %llu block %s", (unsigned long long)h, hex);
}

Test(node_sync, blocks_larger_than_a_response_are_synced_part_by_part, .timeout = 120)
{
	char dir[64], vhome[128], mhome[128], path[300], needle[300], peer[200], vid[65];
	chain_fixture fx;
	fl_hash hashes[N_BLOCKS + 1];
	node_signer *sg = NULL;
	pid_t v, m;

	hh_scratch(dir, sizeof(dir));
	snprintf(vhome, sizeof(vhome), "%s/v", dir);
	snprintf(mhome, sizeof(mhome), "%s/m", dir);

	snprintf(path, sizeof(path), "%s/chain", dir);
	make_chain(&fx, path, hashes);

	make_home(vhome, &fx, 0, NULL);
	fixture_detach(&fx);
	/* The fixture's store becomes the validator's, with a signer state
	 * that has signed nothing yet. */
	snprintf(needle, sizeof(needle), "%s/data/chain", vhome);
	cr_assert_eq(rename(path, needle), 0);
	snprintf(path, sizeof(path), "%s/data/signer.state", vhome);
	cr_assert_eq(node_signer_open(&sg, path, &fx.sk[0], NODE_SIGNER_CREATE), 0);
	node_signer_close(sg);

	v = start_node(vhome);
	char *log = wait_log(vhome, "p2p port ");
	if (log == NULL) {
		kill(v, SIGKILL);
		cr_assert_fail("the validator did not start");
	}
	const char *at = strstr(log, "p2p port ");
	fl_hex_encode(vid, fx.pk[0].b, 32);
	snprintf(peer, sizeof(peer), "%s@127.0.0.1:%d", vid, atoi(at + strlen("p2p port ")));
	free(log);

	make_home(mhome, &fx, 1, peer);
	m = start_node(mhome);
	snprintf(needle, sizeof(needle), "committed height %d ", N_BLOCKS + 2);
	log = wait_log(mhome, needle);
	stop_node(m);
	stop_node(v);
	if (log == NULL) {
		char *s = read_log(mhome);
		fprintf(stderr, "---- member log ----\n%s\n", s);
		free(s);
		cr_assert_fail("the member did not sync past height %d", N_BLOCKS);
	}
	/* Every block the fixture made, with its hash, came by sync. */
	for (uint64_t h = 1; h <= N_BLOCKS; h++) {
		committed_line(needle, sizeof(needle), h, &hashes[h]);
		const char *line = strstr(log, needle);
		cr_assert(line != NULL, "height %llu: %s not in\n%s", (unsigned long long)h, needle,
			  log);
		const char *eol = strchr(line, '\n');
		cr_assert(eol != NULL && memmem(line, (size_t)(eol - line), "(sync)", 6) != NULL,
			  "height %llu not synced", (unsigned long long)h);
	}
	cr_assert(strstr(log, "does not verify") == NULL, "%s", log);
	cr_assert(strstr(log, "dropped") == NULL, "%s", log);
	free(log);
	fixture_close(&fx);
	hh_remove(dir);
}

/* ------------------------------------------------ a peer that lies */

/* A p2p host in this process that claims the fixture's chain, answers
 * blocks requests honestly from its store and part requests with one
 * byte of each part flipped. */
typedef struct {
	chain_fixture *fx;
	uint64_t height;
	int parts, blocks, up, down;
} liar;

static int liar_member(void *ctx, const fl_pubkey *id)
{
	(void)ctx;
	(void)id;
	return 1;
}

static void liar_peer(void *ctx, p2p_peer *peer, int connected)
{
	liar *l = ctx;
	node_wire_status st;
	fl_writer w;

	if (!connected) {
		l->down++;
		return;
	}
	l->up++;
	memset(&st, 0, sizeof(st));
	st.height = l->height;
	fl_writer_init(&w, 64);
	cr_assert_eq(node_wire_status_encode(&w, &st), 0);
	cr_assert_eq(fl_writer_finish(&w), 0);
	cr_assert_eq(p2p_send(peer, NODE_MSG_STATUS, w.buf, w.len), 0);
	fl_writer_free(&w);
}

static void liar_message(void *ctx, p2p_peer *peer, uint16_t type, const uint8_t *p, size_t n)
{
	(void)ctx, (void)peer, (void)type, (void)p, (void)n;
}

static void liar_blocks(liar *l, p2p_peer *peer, uint64_t id, const node_wire_blocks_req *q)
{
	chain_commit *c = malloc(sizeof(*c));
	uint32_t count = 0;
	fl_writer w;

	cr_assert(c != NULL);
	fl_writer_init(&w, P2P_MAX_FRAME - 1024);
	fl_write_u32(&w, 0);
	for (uint64_t h = q->from; count < q->max && h <= l->height; h++) {
		uint8_t *bytes;
		size_t len;
		cr_assert_eq(chain_get_block(l->fx->store, h, &bytes, &len), 0);
		cr_assert_eq(chain_get_commit(l->fx->store, h, c), 0);
		int big = len > NODE_WIRE_PART_MAX;
		cr_assert_eq(node_wire_blocks_item_encode(&w, bytes, len, c), 0);
		fl_free(bytes);
		count++;
		if (big)
			break;
	}
	cr_assert_eq(fl_writer_finish(&w), 0);
	for (int i = 0; i < 4; i++)
		w.buf[i] = (uint8_t)(count >> (8 * i));
	cr_assert_eq(p2p_respond(peer, id, FL_OK, w.buf, w.len), 0);
	fl_writer_free(&w);
	free(c);
}

static void liar_request(void *ctx, p2p_peer *peer, uint64_t id, uint16_t kind, const uint8_t *p,
			 size_t n)
{
	liar *l = ctx;
	node_wire_blocks_req q;
	node_wire_part_req pq;
	uint64_t h;
	uint8_t *bytes;
	size_t len;

	if (kind == NODE_REQ_BLOCKS && node_wire_blocks_req_decode(&q, p, n) == 0) {
		l->blocks++;
		liar_blocks(l, peer, id, &q);
		return;
	}
	cr_assert_eq(kind, NODE_REQ_BLOCK_PART);
	cr_assert_eq(node_wire_part_req_decode(&pq, p, n), 0);
	cr_assert_eq(pq.by_hash, 1);
	cr_assert_eq(chain_get_block_height(l->fx->store, &pq.hash, &h), 0);
	cr_assert_eq(chain_get_block(l->fx->store, h, &bytes, &len), 0);
	cr_assert_lt(pq.offset, len);
	l->parts++;
	len = len - pq.offset < NODE_WIRE_PART_MAX ? len - pq.offset : NODE_WIRE_PART_MAX;
	bytes[pq.offset + len / 2] ^= 0x01; /* inside a tx: the tx root no longer holds */
	cr_assert_eq(p2p_respond(peer, id, FL_OK, bytes + pq.offset, len), 0);
	fl_free(bytes);
}

Test(node_sync, a_peer_sending_junk_parts_is_dropped, .timeout = 120)
{
	char dir[64], mhome[128], path[300], peer[200], lid[65];
	chain_fixture fx;
	fl_hash hashes[N_BLOCKS + 1];
	uv_loop_t loop;
	p2p_config cfg;
	p2p_host *host = NULL;
	liar l;
	char *log = NULL;
	pid_t m;

	hh_scratch(dir, sizeof(dir));
	snprintf(mhome, sizeof(mhome), "%s/m", dir);
	snprintf(path, sizeof(path), "%s/chain", dir);
	make_chain(&fx, path, hashes);

	memset(&l, 0, sizeof(l));
	l.fx = &fx;
	l.height = N_BLOCKS;
	cr_assert_eq(uv_loop_init(&loop), 0);
	p2p_config_default(&cfg);
	cfg.identity = fx.sk[2];
	snprintf(cfg.network_id, sizeof(cfg.network_id), "%s", fx.genesis.chain_id);
	snprintf(cfg.listen, sizeof(cfg.listen), "127.0.0.1:0");
	cfg.is_member = liar_member;
	cfg.on_peer = liar_peer;
	cfg.on_message = liar_message;
	cfg.on_request = liar_request;
	cfg.ctx = &l;
	cr_assert_eq(p2p_host_new(&host, &loop, &cfg), 0);
	cr_assert_eq(p2p_host_start(host), 0);
	fl_hex_encode(lid, fx.pk[2].b, 32);
	snprintf(peer, sizeof(peer), "%s@127.0.0.1:%u", lid, p2p_host_listen_port(host));

	make_home(mhome, &fx, 1, peer);
	m = start_node(mhome);
	/* The loop serves the member while its log is watched. */
	for (unsigned t = 0; t < WAIT_MS && l.down == 0; t += 10) {
		uv_run(&loop, UV_RUN_NOWAIT);
		sleep_ms(10);
	}
	for (unsigned t = 0; t < 500; t += 10) {
		uv_run(&loop, UV_RUN_NOWAIT);
		sleep_ms(10);
	}
	log = read_log(mhome);
	stop_node(m);
	p2p_host_close(host, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);

	cr_assert_eq(l.down, 1, "the member never dropped the peer:\n%s", log);
	cr_assert_gt(l.parts, 0, "no part was asked for:\n%s", log);
	cr_assert(strstr(log, "sent a block that is not the one its commit names; dropped") != NULL,
		  "%s", log);
	/* Block 1 came whole and honest; nothing of block 2 was used. */
	char needle[300];
	committed_line(needle, sizeof(needle), 1, &hashes[1]);
	cr_assert(strstr(log, needle) != NULL, "%s", log);
	cr_assert(strstr(log, "committed height 2 ") == NULL, "%s", log);
	cr_assert(strstr(log, "does not apply") == NULL, "%s", log);
	free(log);
	fixture_close(&fx);
	hh_remove(dir);
}
