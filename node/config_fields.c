/*
 * node/config_fields.c — the table of config.json's fields (see
 * node/config_internal.h) and the defaults it gives.
 *
 * The defaults suit one node on this machine: everything listens on
 * 127.0.0.1 only (a node is opened to the network on purpose, never by
 * accident), on CometBFT's well-known ports 26656 (p2p) and 26657 (RPC).
 */
#include "node/config_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define KiB (1024ull)
#define MiB (1024ull * 1024)
#define GiB (1024ull * 1024 * 1024)

#define AT(member) offsetof(node_config, member)

/* {section, key, kind, offset, min, max, default number, default string} */
const node__config_field node__config_fields[] = {
    {"", "moniker", CF_NAME, AT(moniker), 0, CHAIN_NAME_MAX, 0, "node"},

    {"p2p", "listen", CF_LISTEN, AT(p2p.listen), 0, 0, 0, "127.0.0.1:26656"},
    {"p2p", "external", CF_EXTERNAL, AT(p2p.external), 0, 0, 0, ""},
    {"p2p", "persistent_peers", CF_PEERS, AT(p2p.n_persistent_peers), 0, NODE_CONFIG_PEERS_MAX, 0,
     NULL},
    /* p2p_config's own defaults; inbound 0 makes a node that only dials. */
    {"p2p", "max_inbound", CF_U32, AT(p2p.max_inbound), 0, 1024, 40, NULL},
    {"p2p", "max_outbound", CF_U32, AT(p2p.max_outbound), 0, 256, 10, NULL},

    {"rpc", "listen", CF_LISTEN, AT(rpc.listen), 0, 0, 0, "127.0.0.1:26657"},
    {"rpc", "cors_allowed_origins", CF_ORIGINS, AT(rpc.n_cors_allowed_origins), 0,
     NODE_CONFIG_ORIGINS_MAX, 0, NULL},
    {"rpc", "max_connections", CF_U32, AT(rpc.max_connections), 1, 10000, 100, NULL},
    /* interfaces.md: request bodies are capped at 1 MiB by default. */
    {"rpc", "max_body_bytes", CF_U32, AT(rpc.max_body_bytes), 1 * KiB, 64 * MiB, 1 * MiB, NULL},
    {"rpc", "request_timeout_ms", CF_U32, AT(rpc.request_timeout_ms), 100, 600000, 10000, NULL},

    {"log", "format", CF_LOG_FORMAT, AT(log.format), 0, 0, FL_LOG_TEXT, NULL},
    {"log", "level", CF_LOG_LEVEL, AT(log.level), 0, 0, FL_LOG_INFO, NULL},
    {"log", "modules", CF_LOG_MODULES, AT(log.modules), 0, 0, 0, NULL},

    {"timeouts", "block_validation_ms", CF_U32, AT(timeouts.block_validation_ms), 100, 600000,
     10000, NULL},
    /* A model blob is megabytes; a slow peer set needs minutes for it. */
    {"timeouts", "blob_fetch_ms", CF_U32, AT(timeouts.blob_fetch_ms), 1000, 3600000, 120000, NULL},
    {"timeouts", "sync_request_ms", CF_U32, AT(timeouts.sync_request_ms), 100, 600000, 10000, NULL},

    {"mempool", "max_txs", CF_U32, AT(mempool.max_txs), 1, 1000000, 20000, NULL},
    {"mempool", "max_bytes", CF_U64, AT(mempool.max_bytes), 64 * KiB, 1 * GiB, 64 * MiB, NULL},
    {"mempool", "max_per_sender", CF_U32, AT(mempool.max_per_sender), 1, 1000000, 256, NULL},

    {"consensus", "wal_dir", CF_PATH, AT(consensus.wal_dir), 1, NODE_CONFIG_PATH_MAX, 0,
     "data/wal"},
    {"blobs", "dir", CF_PATH, AT(blobs.dir), 1, NODE_CONFIG_PATH_MAX, 0, "data/blobs"},

    /* One trainer thread: a node on a shared machine does not take every
     * core by default; the model's bytes do not depend on it. */
    {"rounds", "train_threads", CF_U32, AT(rounds.train_threads), 1, 256, 1, NULL},
    {"rounds", "data", CF_DATA, AT(rounds.n_data), 0, NODE_CONFIG_DATA_MAX, 0, NULL},
};

const size_t node__config_n_fields = FL_ARRAY_LEN(node__config_fields);

const char *const node__config_sections[] = {"p2p",       "rpc",   "log",    "timeouts", "mempool",
					     "consensus", "blobs", "rounds", NULL};

const char *const node__log_level_names[] = {"trace", "debug", "info", "warn", "error", "off"};
const char *const node__log_format_names[] = {"text", "json"};

static const char *const module_names[NODE_LOG_MODULES] = {
    "core", "chain", "p2p", "fl", "node", "rpc", "consensus", "mempool", "sync"};

const char *node_log_module_name(node_log_module module)
{
	assert((unsigned)module < NODE_LOG_MODULES);
	return module_names[module];
}

fl_log_level node_config_log_level(const node_config *cfg, node_log_module module)
{
	assert(cfg != NULL && (unsigned)module < NODE_LOG_MODULES);
	return cfg->log.modules[module] >= 0 ? (fl_log_level)cfg->log.modules[module]
					     : cfg->log.level;
}

void node_config_default(node_config *cfg)
{
	size_t i;

	assert(cfg != NULL);
	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < node__config_n_fields; i++) {
		const node__config_field *f = &node__config_fields[i];
		char *at = (char *)cfg + f->offset;
		switch (f->kind) {
		case CF_U32:
			*(uint32_t *)(void *)at = (uint32_t)f->def;
			break;
		case CF_U64:
			*(uint64_t *)(void *)at = f->def;
			break;
		case CF_NAME:
		case CF_PATH:
		case CF_LISTEN:
		case CF_EXTERNAL:
			/* The table's strings fit their fields: checked by
			 * tests/node/test_config.c (defaults load back). */
			strcpy(at, f->def_str);
			break;
		case CF_LOG_FORMAT:
			*(fl_log_format *)(void *)at = (fl_log_format)f->def;
			break;
		case CF_LOG_LEVEL:
			*(fl_log_level *)(void *)at = (fl_log_level)f->def;
			break;
		case CF_LOG_MODULES:
			for (size_t m = 0; m < NODE_LOG_MODULES; m++)
				cfg->log.modules[m] = -1;
			break;
		case CF_PEERS:
		case CF_ORIGINS:
		case CF_DATA:
			break; /* empty lists: the memset */
		}
	}
}

void node__config_one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}
