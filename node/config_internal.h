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

#include <jansson.h>

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
	CF_ORIGINS,
	CF_DATA /* rounds.data: node/config_rounds.c */
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

/* ------------------------------------------------------------ reading
 * node/config.c's value readers, for the sections read in files of their
 * own (node/config_rounds.c). Each names `path` in its error, as fail does. */
typedef struct {
	const char *name; /* the file, in messages */
	char *err;
	size_t errlen;
} node__config_reader;

/* "NAME: PATH: message" into err; returns code. */
int node__config_fail(const node__config_reader *r, int code, const char *path, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));
/* v an object whose keys are all in the NULL-terminated allowed. */
int node__config_check_object(const node__config_reader *r, const char *path, const json_t *v,
			      const char *const *allowed);
/* A JSON integer in [min, max]. */
int node__config_read_uint(const node__config_reader *r, const char *path, const json_t *v,
			   uint64_t min, uint64_t max, uint64_t *out);
/* Printable ASCII, min..max chars, into out[max + 1] (its tail zeroed). */
int node__config_read_string(const node__config_reader *r, const char *path, const json_t *v,
			     size_t min, size_t max, char *out);
/* One of names[0..n_names); *out its index. */
int node__config_read_enum(const node__config_reader *r, const char *path, const json_t *v,
			   const char *what, const char *const *names, size_t n_names, int *out);
/* An array of at most max entries; *n how many. */
int node__config_read_array(const node__config_reader *r, const char *path, const json_t *v,
			    size_t max, size_t *n);

/* rounds.data (node/config_rounds.c): read into cfg->rounds, and written. */
int node__config_read_data(const node__config_reader *r, const char *path, const json_t *v,
			   node_config *cfg);
json_t *node__config_data_json(const node_config *cfg);

/* Turns every byte outside printable ASCII into '?', so that a message
 * quoting a key, a value or a file name is always exactly one line. */
void node__config_one_line(char *s);

#endif
