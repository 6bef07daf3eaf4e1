/*
 * node/config_internal.h — what node/config.c (reading) and
 * node/config_write.c (writing) share: the one table of config.json's
 * fields. Each field appears once, with its JSON path, its kind, where it
 * lives in node_config, its range and its default, so the defaults, the
 * reader, the writer and docs/config.md cannot drift apart field by field.
 * Never included outside node/config*.c.
 */
#ifndef FEDLEDGER_NODE_CONFIG_INTERNAL_H
#define FEDLEDGER_NODE_CONFIG_INTERNAL_H

#include "node/config.h"

typedef enum {
	CF_U32,        /* uint32_t in [min, max] */
	CF_U64,        /* uint64_t in [min, max] */
	CF_NAME,       /* char[max + 1], printable ASCII, may be empty */
	CF_PATH,       /* char[max + 1], printable ASCII, not empty */
	CF_LISTEN,     /* char[P2P_ADDR_MAX]: p2p_listen_addr_parse */
	CF_EXTERNAL,   /* char[P2P_ADDR_MAX]: "" or p2p_addr_parse */
	CF_LOG_FORMAT, /* fl_log_format */
	CF_LOG_LEVEL,  /* fl_log_level */
	CF_LOG_MODULES,
	CF_PEERS,
	CF_ORIGINS
} node__config_kind;

typedef struct {
	const char *section; /* "" for a top-level key */
	const char *key;
	node__config_kind kind;
	size_t offset; /* in node_config */
	uint64_t min, max;
	uint64_t def;        /* numbers and enums */
	const char *def_str; /* strings and addresses */
} node__config_field;

/* The fields in the order config.json is written and documented. */
extern const node__config_field node__config_fields[];
extern const size_t node__config_n_fields;
/* The sections ("p2p", "rpc", …) in that order, NULL-terminated. */
extern const char *const node__config_sections[];

/* "trace" … "off" and "text", "json", indexed by the enums. */
extern const char *const node__log_level_names[];
extern const char *const node__log_format_names[];

/* Turns every byte outside printable ASCII into '?', so that a message
 * quoting a key, a value or a file name is always exactly one line. */
void node__config_one_line(char *s);

#endif
