/*
 * node/config.h — config.json, the operator's settings for one fedledgerd
 * node (docs/config.md lists every field with its default and range).
 *
 * Every field is optional: node_config_default fills a complete config, and
 * a file overrides what it names. Reading is as strict as genesis.json's
 * (genesis/genesis.h): standard JSON, no duplicate keys, no unknown keys at
 * any level (a misspelt field would otherwise be silently ignored), exact
 * types (an integer field takes a JSON integer, never "10" or 10.0), every
 * number range-checked, strings printable ASCII.
 *
 * Errors: every function that can fail returns 0 or a negative FL_E* code
 * and, when err is not NULL, writes one line (no newline) into err naming the
 * file and the path of the first bad field:
 *     config.json: p2p.listen: expected "HOST:PORT", got "localhost"
 *     config.json: log.modules.chain: unknown level "loud"
 * err is always NUL-terminated when errlen > 0; a longer message is cut.
 *
 * A node_config is a fixed-size value: nothing here allocates into it, so
 * there is nothing to free and it may be copied freely.
 */
#ifndef FEDLEDGER_NODE_CONFIG_H
#define FEDLEDGER_NODE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "core/core.h"
#include "p2p/p2p.h"

#define NODE_CONFIG_MAX_BYTES   (256u * 1024) /* config.json larger than this is refused */
#define NODE_CONFIG_PEERS_MAX   64            /* p2p.persistent_peers entries */
#define NODE_CONFIG_ORIGINS_MAX 16            /* rpc.cors_allowed_origins entries */
#define NODE_CONFIG_ORIGIN_MAX  253           /* chars of one origin */
#define NODE_CONFIG_PATH_MAX    1024          /* chars of a directory path */
#define NODE_CONFIG_ERR_MAX     512           /* a comfortable errlen */
#define NODE_CONFIG_DATA_MAX    8             /* rounds.data entries: profiles with local data */
#define NODE_CONFIG_DATA_PATH_MAX 256         /* chars of a data file or directory path */
#define NODE_CONFIG_CLIENTS_MAX 1000          /* rounds.data[].clients: fedledger-sim's --clients */

/* The modules a log level can be set for (log.modules), in this order. */
typedef enum {
	NODE_LOG_CORE = 0,
	NODE_LOG_CHAIN,
	NODE_LOG_P2P,
	NODE_LOG_FL,
	NODE_LOG_NODE,
	NODE_LOG_RPC,
	NODE_LOG_CONSENSUS,
	NODE_LOG_MEMPOOL,
	NODE_LOG_SYNC,
	NODE_LOG_MODULES /* how many */
} node_log_module;

/* A persistent peer, "NODEID@HOST:PORT": the member key it must prove in
 * the handshake (its node id) and where to dial it. */
typedef struct {
	fl_pubkey id;
	char addr[P2P_ADDR_MAX]; /* "a.b.c.d:port", checked by p2p_addr_parse */
} node_config_peer;

/* Where a profile's local data comes from (rounds.data[].source). */
typedef enum {
	NODE_DATA_FASHION_MNIST = 1, /* the Debian layout in `dir` (fl_dataset_load_fashion_mnist) */
	NODE_DATA_IDX = 2,           /* IDX image and label files (fl_dataset_load_idx) */
	NODE_DATA_CSV = 3            /* CSV, label first (fl_dataset_load_csv) */
} node_data_source;

/* How the profile's samples are split among `clients` members (fl/ partitions). */
typedef enum {
	NODE_PARTITION_IID = 1,       /* fl_partition_iid */
	NODE_PARTITION_DIRICHLET = 2, /* fl_partition_dirichlet(alpha_milli / 1000) */
	NODE_PARTITION_LABELS = 3     /* fl_partition_labels(labels_k) */
} node_partition_kind;

/*
 * One profile's local data (rounds.data[]): what to load and which share of
 * it is this member's. The share is fedledger-sim's client `client` of
 * `clients` with the same seed and max_samples (node/round_data.h), so a
 * testnet can be checked against the simulation. Relative paths are under
 * the node's home. Fields that do not apply to the source or the partition
 * keep their defaults (node_config_data_default).
 */
typedef struct {
	char profile[CHAIN_PROFILE_ID_MAX + 1]; /* a profile id, unique in rounds.data */
	node_data_source source;
	char dir[NODE_CONFIG_DATA_PATH_MAX + 1];          /* fashion-mnist */
	char train[NODE_CONFIG_DATA_PATH_MAX + 1];        /* idx images, csv file */
	char train_labels[NODE_CONFIG_DATA_PATH_MAX + 1]; /* idx labels */
	char test[NODE_CONFIG_DATA_PATH_MAX + 1];         /* "" = no test set */
	char test_labels[NODE_CONFIG_DATA_PATH_MAX + 1];
	node_partition_kind partition;
	uint32_t alpha_milli; /* dirichlet: alpha in thousandths, >= 1 */
	uint32_t labels_k;    /* labels: labels per client */
	uint32_t clients;     /* 1..NODE_CONFIG_CLIENTS_MAX */
	uint32_t client;      /* < clients: this member's share */
	uint64_t seed;        /* partition and cap (fedledger-sim's --seed), < 2^63 */
	uint32_t max_samples; /* per share; 0 = all */
	/* The labels the member's data holds, strictly increasing (0 = every
	 * label of the source): its share is of those of the profile's labels
	 * it also has, as at a site that only ever sees some classes. */
	uint32_t n_labels;
	uint16_t labels[CHAIN_MAX_LABELS];
} node_config_data;

typedef struct {
	char moniker[CHAIN_NAME_MAX + 1]; /* printable ASCII, may be empty */

	struct {
		char listen[P2P_ADDR_MAX];   /* "a.b.c.d:port"; port 0 = any */
		char external[P2P_ADDR_MAX]; /* advertised to peers; "" = none */
		uint32_t n_persistent_peers;
		node_config_peer persistent_peers[NODE_CONFIG_PEERS_MAX];
		uint32_t max_inbound;  /* p2p_config.max_inbound */
		uint32_t max_outbound; /* p2p_config.max_outbound */
	} p2p;

	struct {
		char listen[P2P_ADDR_MAX]; /* "a.b.c.d:port"; port 0 = any */
		/* Origins allowed by CORS: "*" or "http[s]://host[:port]". */
		uint32_t n_cors_allowed_origins;
		char cors_allowed_origins[NODE_CONFIG_ORIGINS_MAX][NODE_CONFIG_ORIGIN_MAX + 1];
		uint32_t max_connections;
		uint32_t max_body_bytes;
		uint32_t request_timeout_ms;
	} rpc;

	struct {
		fl_log_format format;
		fl_log_level level; /* every module without its own */
		/* A module's own level, or -1 to use `level`; node_config_log_level
		 * resolves it. */
		int modules[NODE_LOG_MODULES];
	} log;

	/* Limits on the node's own work, each in milliseconds. */
	struct {
		uint32_t block_validation_ms; /* checking one proposed or synced block */
		uint32_t blob_fetch_ms;       /* fetching one model or update blob */
		uint32_t sync_request_ms;     /* one block-sync request to a peer */
	} timeouts;

	struct {
		uint32_t max_txs;        /* transactions held */
		uint64_t max_bytes;      /* their encoded bytes together */
		uint32_t max_per_sender; /* transactions of one sender; <= max_txs */
	} mempool;

	/* Directories: relative ones are under the node's home (node/home.h). */
	struct {
		char wal_dir[NODE_CONFIG_PATH_MAX + 1];
	} consensus;
	struct {
		char dir[NODE_CONFIG_PATH_MAX + 1];
	} blobs;

	/* The member's part in rounds: its data per profile, and the threads
	 * it trains with. */
	struct {
		size_t n_data;
		node_config_data data[NODE_CONFIG_DATA_MAX];
		uint32_t train_threads;
	} rounds;
} node_config;

/* Every field at its default (docs/config.md). */
void node_config_default(node_config *cfg);
/* One rounds.data entry at its defaults: profile "", fashion-mnist in
 * FL_FASHION_MNIST_DIR, iid, alpha 0.5, 2 labels per client, clients 1,
 * client 0, seed 1, max_samples 0. Every byte set (equal entries memcmp
 * equal). */
void node_config_data_default(node_config_data *d);

/*
 * Parses config.json text (need not be NUL-terminated; at most
 * NODE_CONFIG_MAX_BYTES) over the defaults into *out. `name` stands for the
 * file in messages. On failure *out holds the defaults overlaid by whatever
 * was read before the bad field: do not use it. Pure: no I/O, no global
 * state; never crashes on any bytes (fuzzed by tests/fuzz/fuzz_config.c).
 * FL_EPARSE (syntax, types), FL_EINVAL (a value out of its domain or
 * range, an unknown key), FL_ETOOBIG (too long, too many entries). The
 * JSON parser running out of memory is FL_EPARSE too, err saying so.
 */
int node_config_parse(node_config *out, const char *name, const char *text, size_t len, char *err,
		      size_t errlen) FL_MUST_CHECK;

/* Reads the file at path and parses it, naming path in messages.
 * FL_ENOTFOUND when there is no such file, FL_ETOOBIG past
 * NODE_CONFIG_MAX_BYTES, FL_EIO, or node_config_parse's codes. */
int node_config_load(node_config *out, const char *path, char *err, size_t errlen) FL_MUST_CHECK;

/*
 * cfg as config.json text: every field (log.modules only those set), in the
 * order docs/config.md lists them, 2-space indent, a trailing newline.
 * node_config_parse reads it back to an equal config. Returns a fl_malloc'd
 * NUL-terminated string (fl_free it) or NULL when out of memory. cfg must be
 * valid (as node_config_default or node_config_parse leave it).
 */
char *node_config_to_string(const node_config *cfg);

/* Writes node_config_to_string atomically (temp file, fsync, rename, fsync
 * of the directory), mode 0644: config.json holds no secret. */
int node_config_write(const char *path, const node_config *cfg, char *err,
		      size_t errlen) FL_MUST_CHECK;

/* The level in force for a module: its own, else log.level. */
fl_log_level node_config_log_level(const node_config *cfg, node_log_module module);
/* "core", "chain", … as written under log.modules. */
const char *node_log_module_name(node_log_module module);

#endif
