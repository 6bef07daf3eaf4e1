/*
 * tests/node/test_config.c — config.json: the defaults, every field's bad
 * value named by its path, unknown keys named, write -> parse gives the same
 * config, every allocation failure reported (never a crash or a leak under
 * `make asan`), and docs/config.md naming every field.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/config.h"

#define PEER_A "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
#define PEER_B "c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"

static char err[NODE_CONFIG_ERR_MAX];

static int parse(node_config *cfg, const char *text)
{
	return node_config_parse(cfg, "config.json", text, strlen(text), err, sizeof(err));
}

/* The field of a string into a node_config the way the parser leaves it:
 * the unused tail zeroed, so that equal configs are equal bytes. */
static void set_str(char *field, size_t size, const char *value)
{
	memset(field, 0, size);
	cr_assert_lt(strlen(value), size);
	memcpy(field, value, strlen(value));
}

Test(config, defaults)
{
	node_config cfg;

	node_config_default(&cfg);
	cr_assert_str_eq(cfg.moniker, "node");
	cr_assert_str_eq(cfg.p2p.listen, "127.0.0.1:26656");
	cr_assert_str_eq(cfg.p2p.external, "");
	cr_assert_eq(cfg.p2p.n_persistent_peers, 0);
	cr_assert_eq(cfg.p2p.max_inbound, 40);
	cr_assert_eq(cfg.p2p.max_outbound, 10);
	cr_assert_str_eq(cfg.rpc.listen, "127.0.0.1:26657");
	cr_assert_eq(cfg.rpc.n_cors_allowed_origins, 0);
	cr_assert_eq(cfg.rpc.max_connections, 100);
	cr_assert_eq(cfg.rpc.max_body_bytes, 1024 * 1024);
	cr_assert_eq(cfg.rpc.request_timeout_ms, 10000);
	cr_assert_eq(cfg.log.format, FL_LOG_TEXT);
	cr_assert_eq(cfg.log.level, FL_LOG_INFO);
	for (int m = 0; m < NODE_LOG_MODULES; m++) {
		cr_assert_eq(cfg.log.modules[m], -1);
		cr_assert_eq(node_config_log_level(&cfg, (node_log_module)m), FL_LOG_INFO);
	}
	cr_assert_eq(cfg.timeouts.block_validation_ms, 10000);
	cr_assert_eq(cfg.timeouts.blob_fetch_ms, 120000);
	cr_assert_eq(cfg.timeouts.sync_request_ms, 10000);
	cr_assert_eq(cfg.mempool.max_txs, 20000);
	cr_assert_eq(cfg.mempool.max_bytes, 64u * 1024 * 1024);
	cr_assert_eq(cfg.mempool.max_per_sender, 256);
	cr_assert_str_eq(cfg.consensus.wal_dir, "data/wal");
	cr_assert_str_eq(cfg.blobs.dir, "data/blobs");
	cr_assert_eq(cfg.rounds.train_threads, 1);
	cr_assert_eq(cfg.rounds.n_data, 0);
}

Test(config, rounds_data_entries_and_their_defaults)
{
	node_config cfg;
	const node_config_data *d;

	cr_assert_eq(parse(&cfg,
			   "{\"rounds\": {\"train_threads\": 4, \"data\": ["
			   "{\"profile\": \"clothing\"},"
			   " {\"profile\": \"digits\", \"source\": \"idx\","
			   " \"train\": \"d/tr.idx\", \"train_labels\": \"d/trl.idx\","
			   " \"test\": \"/abs/te.idx\", \"test_labels\": \"/abs/tel.idx\","
			   " \"partition\": \"dirichlet\", \"alpha_milli\": 300,"
			   " \"clients\": 10, \"client\": 9, \"seed\": 9223372036854775807,"
			   " \"max_samples\": 500},"
			   " {\"profile\": \"tab\", \"source\": \"csv\", \"train\": \"t.csv\","
			   " \"partition\": \"labels\", \"labels_k\": 3}]}}"),
		     FL_OK, "%s", err);
	cr_assert_eq(cfg.rounds.train_threads, 4);
	cr_assert_eq(cfg.rounds.n_data, 3);
	d = &cfg.rounds.data[0];
	cr_assert_str_eq(d->profile, "clothing");
	cr_assert_eq(d->source, NODE_DATA_FASHION_MNIST);
	cr_assert_str_eq(d->dir, "/usr/share/datasets/fashion-mnist");
	cr_assert_eq(d->partition, NODE_PARTITION_IID);
	cr_assert_eq(d->clients, 1);
	cr_assert_eq(d->client, 0);
	cr_assert_eq(d->seed, 1);
	cr_assert_eq(d->max_samples, 0);
	d = &cfg.rounds.data[1];
	cr_assert_eq(d->source, NODE_DATA_IDX);
	cr_assert_str_eq(d->train, "d/tr.idx");
	cr_assert_str_eq(d->train_labels, "d/trl.idx");
	cr_assert_str_eq(d->test, "/abs/te.idx");
	cr_assert_str_eq(d->test_labels, "/abs/tel.idx");
	cr_assert_eq(d->partition, NODE_PARTITION_DIRICHLET);
	cr_assert_eq(d->alpha_milli, 300);
	cr_assert_eq(d->clients, 10);
	cr_assert_eq(d->client, 9);
	cr_assert_eq(d->seed, 9223372036854775807ull);
	cr_assert_eq(d->max_samples, 500);
	d = &cfg.rounds.data[2];
	cr_assert_eq(d->source, NODE_DATA_CSV);
	cr_assert_str_eq(d->test, "");
	cr_assert_eq(d->partition, NODE_PARTITION_LABELS);
	cr_assert_eq(d->labels_k, 3);
}

Test(config, empty_object_is_the_defaults)
{
	node_config def, cfg;

	node_config_default(&def);
	cr_assert_eq(parse(&cfg, "{}"), FL_OK, "%s", err);
	cr_assert_eq(memcmp(&def, &cfg, sizeof(cfg)), 0);
	cr_assert_eq(parse(&cfg, "{\"p2p\": {}, \"log\": {\"modules\": {}}}"), FL_OK, "%s", err);
	cr_assert_eq(memcmp(&def, &cfg, sizeof(cfg)), 0);
}

Test(config, fields_override_the_defaults)
{
	node_config cfg;

	cr_assert_eq(parse(&cfg, "{\"moniker\": \"val-3\", \"p2p\": {\"listen\": \"0.0.0.0:0\","
				 " \"persistent_peers\": [\"" PEER_A "@10.0.0.2:26656\"]},"
				 " \"log\": {\"level\": \"warn\", \"modules\": {\"consensus\":"
				 " \"trace\", \"p2p\": \"off\"}},"
				 " \"mempool\": {\"max_bytes\": 1073741824}}"),
		     FL_OK, "%s", err);
	cr_assert_str_eq(cfg.moniker, "val-3");
	cr_assert_str_eq(cfg.p2p.listen, "0.0.0.0:0");
	cr_assert_eq(cfg.p2p.n_persistent_peers, 1);
	cr_assert_str_eq(cfg.p2p.persistent_peers[0].addr, "10.0.0.2:26656");
	cr_assert_eq(cfg.p2p.persistent_peers[0].id.b[0], 0x79);
	cr_assert_eq(cfg.p2p.persistent_peers[0].id.b[31], 0x98);
	cr_assert_eq(cfg.log.level, FL_LOG_WARN);
	cr_assert_eq(node_config_log_level(&cfg, NODE_LOG_CONSENSUS), FL_LOG_TRACE);
	cr_assert_eq(node_config_log_level(&cfg, NODE_LOG_P2P), FL_LOG_OFF);
	cr_assert_eq(node_config_log_level(&cfg, NODE_LOG_CHAIN), FL_LOG_WARN);
	cr_assert_eq(cfg.mempool.max_bytes, 1073741824ull);
	cr_assert_eq(cfg.mempool.max_txs, 20000, "untouched fields keep their default");
}

/* A config and the start of the one-line error it must give. */
typedef struct {
	const char *json;
	const char *want;
} bad_case;

static const bad_case bad_cases[] = {
    {"{\"moniker\": 5}", "config.json: moniker: expected a string, got a number"},
    {"{\"moniker\": \"0123456789012345678901234567890123456789012345678901234567890123x\"}",
     "config.json: moniker: longer than 64 characters"},
    {"{\"moniker\": \"caf\\u00e9\"}", "config.json: moniker: only printable ASCII"},
    {"{\"p2p\": {\"listen\": \"localhost:26656\"}}",
     "config.json: p2p.listen: expected \"HOST:PORT\""},
    {"{\"p2p\": {\"listen\": \"127.0.0.1:65536\"}}",
     "config.json: p2p.listen: expected \"HOST:PORT\""},
    {"{\"p2p\": {\"listen\": \"127.0.0.01:1\"}}",
     "config.json: p2p.listen: expected \"HOST:PORT\""},
    {"{\"p2p\": {\"listen\": \"\"}}", "config.json: p2p.listen: expected \"HOST:PORT\""},
    {"{\"p2p\": {\"external\": \"10.0.0.1:0\"}}",
     "config.json: p2p.external: expected \"HOST:PORT\""},
    {"{\"p2p\": {\"external\": 1}}", "config.json: p2p.external: expected a string"},
    {"{\"p2p\": {\"persistent_peers\": \"x\"}}",
     "config.json: p2p.persistent_peers: expected an array"},
    {"{\"p2p\": {\"persistent_peers\": [\"" PEER_A "@10.0.0.1:1\", \"10.0.0.1:1\"]}}",
     "config.json: p2p.persistent_peers[1]: expected \"NODEID@HOST:PORT\""},
    {"{\"p2p\": {\"persistent_peers\": [\"" PEER_A "@10.0.0.1\"]}}",
     "config.json: p2p.persistent_peers[0]: expected \"NODEID@HOST:PORT\""},
    {"{\"p2p\": {\"persistent_peers\": [\"" PEER_A "@10.0.0.1:1@2\"]}}",
     "config.json: p2p.persistent_peers[0]: expected \"NODEID@HOST:PORT\""},
    {"{\"p2p\": {\"persistent_peers\": "
     "[\"zzbe667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798@10.0.0.1:1\"]}}",
     "config.json: p2p.persistent_peers[0]: node id"},
    {"{\"p2p\": {\"persistent_peers\": "
     "[\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff@10.0.0.1:1\"]}}",
     "config.json: p2p.persistent_peers[0]: node id"},
    {"{\"p2p\": {\"persistent_peers\": [\"" PEER_A "@10.0.0.1:1\", \"" PEER_A "@10.0.0.2:1\"]}}",
     "config.json: p2p.persistent_peers[1]: same node id as p2p.persistent_peers[0]"},
    {"{\"p2p\": {\"persistent_peers\": [7]}}",
     "config.json: p2p.persistent_peers[0]: expected a string"},
    {"{\"p2p\": {\"max_inbound\": 1025}}",
     "config.json: p2p.max_inbound: must be between 0 and 1024"},
    {"{\"p2p\": {\"max_inbound\": -1}}", "config.json: p2p.max_inbound: expected an integer >= 0"},
    {"{\"p2p\": {\"max_inbound\": 1.5}}", "config.json: p2p.max_inbound: expected an integer >= 0"},
    {"{\"p2p\": {\"max_inbound\": 1e2}}", "config.json: p2p.max_inbound: expected an integer >= 0"},
    {"{\"p2p\": {\"max_inbound\": \"10\"}}",
     "config.json: p2p.max_inbound: expected an integer, got a string"},
    {"{\"p2p\": {\"max_inbound\": null}}",
     "config.json: p2p.max_inbound: expected an integer, got null"},
    {"{\"p2p\": {\"max_inbound\": true}}",
     "config.json: p2p.max_inbound: expected an integer, got a boolean"},
    {"{\"p2p\": {\"max_outbound\": 99999999999999999999999999}}",
     "config.json: p2p.max_outbound: must be between 0 and 256"},
    {"{\"p2p\": {\"max_outbound\": 257}}",
     "config.json: p2p.max_outbound: must be between 0 and 256"},
    {"{\"p2p\": 3}", "config.json: p2p: expected an object, got a number"},
    {"{\"rpc\": {\"listen\": \"127.0.0.1\"}}", "config.json: rpc.listen: expected \"HOST:PORT\""},
    {"{\"rpc\": {\"listen\": \"127.0.0.1:26656\"}}",
     "config.json: rpc.listen: \"127.0.0.1:26656\" takes the port of p2p.listen"},
    {"{\"rpc\": {\"listen\": \"0.0.0.0:26656\"}}",
     "config.json: rpc.listen: \"0.0.0.0:26656\" takes the port"},
    {"{\"rpc\": {\"cors_allowed_origins\": [\"http://explorer.local/path\"]}}",
     "config.json: rpc.cors_allowed_origins[0]: expected \"*\" or \"http[s]://HOST[:PORT]\""},
    {"{\"rpc\": {\"cors_allowed_origins\": [\"https://a.b:99999\"]}}",
     "config.json: rpc.cors_allowed_origins[0]: expected \"*\""},
    {"{\"rpc\": {\"cors_allowed_origins\": [\"http://a\\r\\nSet-Cookie: x\"]}}",
     "config.json: rpc.cors_allowed_origins[0]: only printable ASCII"},
    {"{\"rpc\": {\"cors_allowed_origins\": [\"javascript:alert(1)\"]}}",
     "config.json: rpc.cors_allowed_origins[0]: expected \"*\""},
    {"{\"rpc\": {\"cors_allowed_origins\": [\"http://a\", \"*\"]}}",
     "config.json: rpc.cors_allowed_origins[1]: \"*\" allows every origin; list it alone"},
    {"{\"rpc\": {\"cors_allowed_origins\": [\"\"]}}",
     "config.json: rpc.cors_allowed_origins[0]: must not be empty"},
    {"{\"rpc\": {\"max_connections\": 0}}",
     "config.json: rpc.max_connections: must be between 1 and 10000"},
    {"{\"rpc\": {\"max_body_bytes\": 1023}}",
     "config.json: rpc.max_body_bytes: must be between 1024 and 67108864"},
    {"{\"rpc\": {\"request_timeout_ms\": 600001}}",
     "config.json: rpc.request_timeout_ms: must be between 100 and 600000"},
    {"{\"log\": {\"format\": \"xml\"}}", "config.json: log.format: unknown format \"xml\""},
    {"{\"log\": {\"level\": \"loud\"}}", "config.json: log.level: unknown level \"loud\""},
    {"{\"log\": {\"level\": \"INFO\"}}", "config.json: log.level: unknown level \"INFO\""},
    {"{\"log\": {\"modules\": {\"chain\": \"loud\"}}}",
     "config.json: log.modules.chain: unknown level \"loud\""},
    {"{\"log\": {\"modules\": {\"chain\": 1}}}",
     "config.json: log.modules.chain: expected a string"},
    {"{\"log\": {\"modules\": {\"chian\": \"info\"}}}",
     "config.json: log.modules: unknown module \"chian\""},
    {"{\"log\": {\"modules\": []}}", "config.json: log.modules: expected an object, got an array"},
    {"{\"timeouts\": {\"block_validation_ms\": 99}}",
     "config.json: timeouts.block_validation_ms: must be between 100"},
    {"{\"timeouts\": {\"blob_fetch_ms\": 999}}",
     "config.json: timeouts.blob_fetch_ms: must be between 1000"},
    {"{\"timeouts\": {\"sync_request_ms\": 0}}",
     "config.json: timeouts.sync_request_ms: must be between 100"},
    {"{\"mempool\": {\"max_txs\": 0}}",
     "config.json: mempool.max_txs: must be between 1 and 1000000"},
    {"{\"mempool\": {\"max_bytes\": 1073741825}}",
     "config.json: mempool.max_bytes: must be between 65536 and 1073741824"},
    {"{\"mempool\": {\"max_per_sender\": 0}}",
     "config.json: mempool.max_per_sender: must be between 1"},
    {"{\"mempool\": {\"max_txs\": 10, \"max_per_sender\": 11}}",
     "config.json: mempool.max_per_sender: must be at most mempool.max_txs (10), got 11"},
    {"{\"consensus\": {\"wal_dir\": \"\"}}", "config.json: consensus.wal_dir: must not be empty"},
    {"{\"consensus\": {\"wal_dir\": [\"a\"]}}",
     "config.json: consensus.wal_dir: expected a string, got an array"},
    {"{\"blobs\": {\"dir\": \"data/wal\"}}",
     "config.json: blobs.dir: must differ from consensus.wal_dir"},
    {"{\"rounds\": {\"train_threads\": 0}}",
     "config.json: rounds.train_threads: must be between 1 and 256"},
    {"{\"rounds\": {\"data\": {}}}", "config.json: rounds.data: expected an array"},
    {"{\"rounds\": {\"dat\": []}}", "config.json: rounds: unknown key \"dat\""},
    {"{\"rounds\": {\"data\": [{}]}}", "config.json: rounds.data[0]: \"profile\" is required"},
    {"{\"rounds\": {\"data\": [7]}}",
     "config.json: rounds.data[0]: expected an object, got a number"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"colour\": 1}]}}",
     "config.json: rounds.data[0]: unknown key \"colour\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"Clothing\"}]}}",
     "config.json: rounds.data[0].profile: expected a profile id"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"0123456789012345678901234567890123\"}]}}",
     "config.json: rounds.data[0].profile: longer than 32 characters"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\"}, {\"profile\": \"a\"}]}}",
     "config.json: rounds.data[1].profile: \"a\" is already in rounds.data[0]"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"source\": \"png\"}]}}",
     "config.json: rounds.data[0].source: unknown source \"png\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"dir\": \"\"}]}}",
     "config.json: rounds.data[0].dir: must not be empty"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"dir\": 1}]}}",
     "config.json: rounds.data[0].dir: expected a string"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"source\": \"idx\", \"dir\": \"x\","
     " \"train\": \"t\", \"train_labels\": \"l\"}]}}",
     "config.json: rounds.data[0].dir: only for source \"fashion-mnist\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"train\": \"t\"}]}}",
     "config.json: rounds.data[0].train: only for source \"idx\" or \"csv\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"source\": \"idx\"}]}}",
     "config.json: rounds.data[0].train: required for source \"idx\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"source\": \"csv\"}]}}",
     "config.json: rounds.data[0].train: required for source \"csv\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"source\": \"idx\", \"train\": \"t\"}]}}",
     "config.json: rounds.data[0].train_labels: required with train"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"source\": \"csv\", \"train\": \"t\","
     " \"train_labels\": \"l\"}]}}",
     "config.json: rounds.data[0].train_labels: only for source \"idx\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"source\": \"idx\", \"train\": \"t\","
     " \"train_labels\": \"l\", \"test\": \"x\"}]}}",
     "config.json: rounds.data[0].test_labels: test and test_labels go together"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"source\": \"idx\", \"train\": \"t\","
     " \"train_labels\": \"l\", \"test_labels\": \"x\"}]}}",
     "config.json: rounds.data[0].test: test and test_labels go together"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"source\": \"csv\","
     " \"train\": "
     "\"01234567890123456789012345678901234567890123456789012345678901234567890123456789"
     "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
     "01234567890123456789012345678901234567890123456789012345678901234567890123456789"
     "01234567890123456\"}]}}",
     "config.json: rounds.data[0].train: longer than 256 characters"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"partition\": \"shards\"}]}}",
     "config.json: rounds.data[0].partition: unknown partition \"shards\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"alpha_milli\": 500}]}}",
     "config.json: rounds.data[0].alpha_milli: only for partition \"dirichlet\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"partition\": \"dirichlet\","
     " \"alpha_milli\": 0}]}}",
     "config.json: rounds.data[0].alpha_milli: must be between 1 and 1000000"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"labels_k\": 2}]}}",
     "config.json: rounds.data[0].labels_k: only for partition \"labels\""},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"partition\": \"labels\","
     " \"labels_k\": 0}]}}",
     "config.json: rounds.data[0].labels_k: must be between 1 and 256"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"clients\": 0}]}}",
     "config.json: rounds.data[0].clients: must be between 1 and 1000"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"clients\": 1001}]}}",
     "config.json: rounds.data[0].clients: must be between 1 and 1000"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"b\"}, {\"profile\": \"a\", \"clients\": 4,"
     " \"client\": 4}]}}",
     "config.json: rounds.data[1].client: must be < clients (4), got 4"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"client\": -1}]}}",
     "config.json: rounds.data[0].client: expected an integer >= 0"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"seed\": 9223372036854775808}]}}",
     "config.json: rounds.data[0].seed: must be between 0 and 9223372036854775807"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"seed\": \"1\"}]}}",
     "config.json: rounds.data[0].seed: expected an integer, got a string"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"max_samples\": 4294967296}]}}",
     "config.json: rounds.data[0].max_samples: must be between 0 and 4294967295"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"max_samples\": 1.5}]}}",
     "config.json: rounds.data[0].max_samples: expected an integer >= 0"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"labels\": []}]}}",
     "config.json: rounds.data[0].labels: must list at least one label (leave it out for all)"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"labels\": [3, 3]}]}}",
     "config.json: rounds.data[0].labels[1]: labels must be strictly increasing"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"labels\": [65536]}]}}",
     "config.json: rounds.data[0].labels[0]: must be between 0 and 65535"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\", \"labels\": 3}]}}",
     "config.json: rounds.data[0].labels: expected an array, got a number"},
    {"{\"rounds\": {\"data\": [{\"profile\": \"a\"}, {\"profile\": \"b\"}, {\"profile\": \"c\"},"
     " {\"profile\": \"d\"}, {\"profile\": \"e\"}, {\"profile\": \"f\"}, {\"profile\": \"g\"},"
     " {\"profile\": \"h\"}, {\"profile\": \"i\"}]}}",
     "config.json: rounds.data: more than 8 entries"},
    {"{\"p2pp\": {}}", "config.json: unknown key \"p2pp\""},
    {"{\"p2p\": {\"lisen\": \"127.0.0.1:1\"}}", "config.json: p2p: unknown key \"lisen\""},
    {"{\"log\": {\"modules\": {}, \"colour\": true}}", "config.json: log: unknown key \"colour\""},
    {"[]", "config.json: expected an object, got an array"},
    {"{\"moniker\": \"a\", \"moniker\": \"b\"}", "config.json:1:"},
    {"{\"p2p\": {", "config.json:1:"},
    {"", "config.json:1:"},
};

Test(config, every_bad_field_is_named)
{
	node_config cfg;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		int rc = parse(&cfg, bad_cases[i].json);
		cr_assert_lt(rc, 0, "accepted: %s", bad_cases[i].json);
		cr_assert_eq(strncmp(err, bad_cases[i].want, strlen(bad_cases[i].want)), 0,
			     "%s\n got: %s\nwant: %s", bad_cases[i].json, err, bad_cases[i].want);
		cr_assert_null(strchr(err, '\n'));
	}
}

Test(config, the_first_bad_field_in_document_order_of_the_table)
{
	node_config cfg;

	/* Both bad: the table's order (moniker before p2p) decides. */
	cr_assert_lt(parse(&cfg, "{\"p2p\": {\"max_inbound\": 5000}, \"moniker\": 7}"), 0);
	cr_assert_str_eq(err, "config.json: moniker: expected a string, got a number");
}

Test(config, errors_stay_one_printable_line)
{
	node_config cfg;

	cr_assert_lt(parse(&cfg, "{\"a\\nb\\u001b[31m\": 1}"), 0);
	cr_assert_str_eq(err, "config.json: unknown key \"a?b?[31m\"");
	cr_assert_lt(parse(&cfg, "{\"log\": {\"level\": \"lo\\nud\"}}"), 0);
	cr_assert_str_eq(err, "config.json: log.level: unknown level \"lo?ud\"");
	/* A long bad key is cut, not overflowed. */
	char text[4096] = "{\"";
	memset(text + 2, 'k', 3000);
	memcpy(text + 3002, "\": 1}", 6);
	cr_assert_lt(parse(&cfg, text), 0);
	cr_assert_lt(strlen(err), sizeof(err));
	cr_assert_null(strchr(err, '\n'));
}

Test(config, limits)
{
	char *text = fl_malloc(NODE_CONFIG_MAX_BYTES + 2);
	node_config cfg;
	char peers[16384];
	size_t n = 0;

	/* Bigger than the cap: refused before any parsing. */
	memset(text, ' ', NODE_CONFIG_MAX_BYTES + 1);
	text[0] = '{';
	text[NODE_CONFIG_MAX_BYTES] = '}';
	cr_assert_eq(node_config_parse(&cfg, "config.json", text, NODE_CONFIG_MAX_BYTES + 1, err,
				       sizeof(err)),
		     FL_ETOOBIG);
	cr_assert_str_eq(err, "config.json: larger than 262144 bytes");
	fl_free(text);

	/* 65 persistent peers: one more than allowed. */
	n += (size_t)snprintf(peers + n, sizeof(peers) - n, "{\"p2p\": {\"persistent_peers\": [");
	for (int i = 0; i <= NODE_CONFIG_PEERS_MAX; i++)
		n += (size_t)snprintf(peers + n, sizeof(peers) - n, "%s\"" PEER_A "@10.0.0.1:%d\"",
				      i ? "," : "", i + 1);
	snprintf(peers + n, sizeof(peers) - n, "]}}");
	cr_assert_eq(parse(&cfg, peers), FL_ETOOBIG);
	cr_assert_str_eq(err, "config.json: p2p.persistent_peers: more than 64 entries");
}

/* A config with every field away from its default. */
static void everything_set(node_config *cfg)
{
	node_config_default(cfg);
	set_str(cfg->moniker, sizeof(cfg->moniker), "validator \"3\" / east");
	set_str(cfg->p2p.listen, sizeof(cfg->p2p.listen), "0.0.0.0:36656");
	set_str(cfg->p2p.external, sizeof(cfg->p2p.external), "203.0.113.7:36656");
	cr_assert_eq(fl_pubkey_from_hex(&cfg->p2p.persistent_peers[0].id, PEER_A), FL_OK);
	set_str(cfg->p2p.persistent_peers[0].addr, P2P_ADDR_MAX, "10.0.0.2:26656");
	cr_assert_eq(fl_pubkey_from_hex(&cfg->p2p.persistent_peers[1].id, PEER_B), FL_OK);
	set_str(cfg->p2p.persistent_peers[1].addr, P2P_ADDR_MAX, "10.0.0.3:1");
	cfg->p2p.n_persistent_peers = 2;
	cfg->p2p.max_inbound = 0;
	cfg->p2p.max_outbound = 256;
	set_str(cfg->rpc.listen, sizeof(cfg->rpc.listen), "127.0.0.1:0");
	set_str(cfg->rpc.cors_allowed_origins[0], NODE_CONFIG_ORIGIN_MAX + 1,
		"http://localhost:8080");
	set_str(cfg->rpc.cors_allowed_origins[1], NODE_CONFIG_ORIGIN_MAX + 1,
		"https://explorer.example");
	cfg->rpc.n_cors_allowed_origins = 2;
	cfg->rpc.max_connections = 1;
	cfg->rpc.max_body_bytes = 64u * 1024 * 1024;
	cfg->rpc.request_timeout_ms = 100;
	cfg->log.format = FL_LOG_JSON;
	cfg->log.level = FL_LOG_ERROR;
	cfg->log.modules[NODE_LOG_CHAIN] = FL_LOG_DEBUG;
	cfg->log.modules[NODE_LOG_SYNC] = FL_LOG_OFF;
	cfg->log.modules[NODE_LOG_CORE] = FL_LOG_TRACE;
	cfg->timeouts.block_validation_ms = 600000;
	cfg->timeouts.blob_fetch_ms = 1000;
	cfg->timeouts.sync_request_ms = 12345;
	cfg->mempool.max_txs = 1000000;
	cfg->mempool.max_bytes = 65536;
	cfg->mempool.max_per_sender = 1000000;
	set_str(cfg->consensus.wal_dir, sizeof(cfg->consensus.wal_dir), "/var/lib/fedledger/wal");
	set_str(cfg->blobs.dir, sizeof(cfg->blobs.dir), "blobs");
	cfg->rounds.train_threads = 256;
	/* One entry per source, each with the keys that apply to it set. */
	node_config_data *d = &cfg->rounds.data[0];
	node_config_data_default(d);
	set_str(d->profile, sizeof(d->profile), "clothing");
	set_str(d->dir, sizeof(d->dir), "/srv/fashion");
	d->partition = NODE_PARTITION_DIRICHLET;
	d->alpha_milli = 1;
	d->clients = 1000;
	d->client = 999;
	d->seed = 9223372036854775807ull;
	d->max_samples = 4294967295u;
	d->n_labels = 3;
	d->labels[0] = 0;
	d->labels[1] = 7;
	d->labels[2] = 65535;
	d = &cfg->rounds.data[1];
	node_config_data_default(d);
	set_str(d->profile, sizeof(d->profile), "digits.v2");
	d->source = NODE_DATA_IDX;
	set_str(d->train, sizeof(d->train), "data/train-images.idx");
	set_str(d->train_labels, sizeof(d->train_labels), "data/train-labels.idx");
	set_str(d->test, sizeof(d->test), "/abs/t10k-images.idx");
	set_str(d->test_labels, sizeof(d->test_labels), "/abs/t10k-labels.idx");
	d->partition = NODE_PARTITION_LABELS;
	d->labels_k = 256;
	d->seed = 0;
	d = &cfg->rounds.data[2];
	node_config_data_default(d);
	set_str(d->profile, sizeof(d->profile), "tab_1");
	d->source = NODE_DATA_CSV;
	set_str(d->train, sizeof(d->train), "tab.csv");
	d->clients = 2;
	d->client = 1;
	cfg->rounds.n_data = 3;
}

Test(config, write_then_parse_is_the_same_config)
{
	node_config a, b, def;
	char *text, *again;

	everything_set(&a);
	text = node_config_to_string(&a);
	cr_assert_not_null(text);
	cr_assert_eq(text[strlen(text) - 1], '\n');
	cr_assert_eq(parse(&b, text), FL_OK, "%s\n%s", err, text);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "%s", text);
	again = node_config_to_string(&b);
	cr_assert_str_eq(again, text);
	fl_free(again);
	fl_free(text);

	node_config_default(&def);
	text = node_config_to_string(&def);
	cr_assert_eq(parse(&b, text), FL_OK, "%s", err);
	cr_assert_eq(memcmp(&def, &b, sizeof(def)), 0);
	fl_free(text);
}

Test(config, write_and_load_a_file)
{
	char dir[] = "/tmp/fedledger-config-XXXXXX", path[128];
	node_config a, b;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	cr_assert_eq(node_config_load(&b, path, err, sizeof(err)), FL_ENOTFOUND);
	cr_assert_not_null(strstr(err, path), "%s", err);
	everything_set(&a);
	cr_assert_eq(node_config_write(path, &a, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(node_config_load(&b, path, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	unlink(path);
	rmdir(dir);
}

Test(config, every_allocation_failure_is_reported)
{
	node_config a, b;
	char *text;

	everything_set(&a);
	text = node_config_to_string(&a);
	cr_assert_not_null(text);
	for (unsigned long n = 1; n < 64; n++) {
		char *t;
		int rc;
		fl_alloc_fail_after(n);
		rc = parse(&b, text);
		t = node_config_to_string(&a);
		fl_alloc_fail_after(0);
		cr_assert(rc == FL_OK || rc == FL_EPARSE || rc == FL_ENOMEM, "rc %d", rc);
		if (rc != FL_OK)
			cr_assert_neq(err[0], '\0');
		else
			cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
		fl_free(t);
	}
	fl_free(text);
}

/* docs/config.md is the reference: it must name every field the writer
 * writes, as `section.key`. */
Test(config, docs_name_every_field)
{
	uint8_t *doc = NULL;
	size_t n;
	node_config cfg;
	json_t *root, *section;
	const char *name, *key;
	char *text, want[96];

	cr_assert_eq(fl_file_read("docs/config.md", &doc, &n, 1 << 20), FL_OK);
	node_config_default(&cfg);
	text = node_config_to_string(&cfg);
	root = json_loads(text, 0, NULL);
	cr_assert_not_null(root);
	json_object_foreach(root, name, section)
	{
		json_t *v;
		if (!json_is_object(section)) {
			snprintf(want, sizeof(want), "`%s`", name);
			cr_assert_not_null(strstr((char *)doc, want), "docs/config.md lacks %s",
					   want);
			continue;
		}
		json_object_foreach(section, key, v)
		{
			(void)v;
			snprintf(want, sizeof(want), "`%s.%s`", name, key);
			cr_assert_not_null(strstr((char *)doc, want), "docs/config.md lacks %s",
					   want);
		}
	}
	for (int m = 0; m < NODE_LOG_MODULES; m++)
		cr_assert_not_null(strstr((char *)doc, node_log_module_name((node_log_module)m)));
	json_decref(root);
	fl_free(text);
	fl_free(doc);
}
