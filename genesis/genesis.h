/*
 * genesis/genesis.h — genesis.json, the file every node of a network starts
 * from, to and from chain/'s chain_genesis (docs/genesis.md has the schema).
 *
 * Reading is strict: duplicate keys, unknown fields, wrong types, numbers out
 * of range and fractions with more than 6 decimals are all errors. Numbers are
 * never turned into binary floating point: fractions ("0.05") are parsed from
 * their decimal text into parts per million, so every machine builds the very
 * same chain_genesis and hence the same genesis hash.
 *
 * Errors: every function that can fail returns 0 or a negative FL_E* code and,
 * when err is not NULL, writes exactly one line (no newline) into err naming
 * the file and the JSON path of the first bad field:
 *     genesis.json: validators[2].power: must be > 0
 * err is always NUL-terminated when errlen > 0; a longer message is cut.
 *
 * Ownership: a chain_genesis filled here owns its arrays (fl_malloc'd);
 * release it with chain_genesis_free, also after a failed load.
 */
#ifndef FEDLEDGER_GENESIS_H
#define FEDLEDGER_GENESIS_H

#include <jansson.h>
#include <stdio.h>

#include "chain/chain.h"
#include "core/core.h"

#define GENESIS_MAX_BYTES    (16u * 1024 * 1024) /* genesis.json or a profile file */
#define GENESIS_MAX_MEMBERS  65536               /* members[] entries */
#define GENESIS_MAX_BALANCES 65536               /* balances[] entries */
#define GENESIS_MAX_PROFILES 256                 /* profiles[] entries */
#define GENESIS_ERR_MAX      512                 /* a comfortable errlen */

/* Integers above this must be written as decimal strings ("18446744073709551615"):
 * most JSON tools hold numbers as doubles, which are exact only up to 2^53. */
#define GENESIS_JSON_INT_MAX 9007199254740992ull

/* ------------------------------------------------------------ whole file */

/* Parse and fully check (genesis_check without GENESIS_CHECK_DRAFT). */
int genesis_load_file(const char *path, chain_genesis *out, char *err, size_t errlen) FL_MUST_CHECK;
/* The same from memory; `name` stands for the file in messages. text need
 * not be NUL-terminated. Never crashes on any bytes (fuzzed). */
int genesis_load_string(const char *name, const char *text, size_t len, chain_genesis *out,
			char *err, size_t errlen) FL_MUST_CHECK;

/* Parse only: syntax, types, and the ranges and rules of each field and each
 * profile, but not the rules across entries (unique keys, parents, supply). */
int genesis_parse_file(const char *path, chain_genesis *out, char *err,
		       size_t errlen) FL_MUST_CHECK;
int genesis_parse_string(const char *name, const char *text, size_t len, chain_genesis *out,
			 char *err, size_t errlen) FL_MUST_CHECK;

/*
 * The rules across entries (no duplicate validator, member, balance account
 * or profile id; a parent names an earlier profile; at least one validator;
 * supply fits 64 bits), then chain_genesis_check and chain_profile_check as
 * the final word. GENESIS_CHECK_DRAFT accepts a genesis with no validator
 * yet (what `fedledger-genesis new` writes) and then skips chain_genesis_check,
 * which requires one. `name` is the file named in messages.
 */
#define GENESIS_CHECK_DRAFT 1u
int genesis_check(const chain_genesis *g, unsigned flags, const char *name, char *err,
		  size_t errlen) FL_MUST_CHECK;

/* Pretty JSON (2-space indent, fixed key order, trailing newline), as
 * written by genesis_write_file. Returns a fl_malloc'd NUL-terminated string
 * or NULL when out of memory. */
char *genesis_to_string(const chain_genesis *g);
/* Writes genesis_to_string atomically (temp file, fsync, rename), mode 0644. */
int genesis_write_file(const char *path, const chain_genesis *g, char *err,
		       size_t errlen) FL_MUST_CHECK;
/* The tree genesis_to_string prints; json_decref it. NULL when out of memory. */
json_t *genesis_to_json(const chain_genesis *g);

/*
 * What `fedledger-genesis validate` prints for a checked genesis: a short
 * human summary (chain id, genesis hash, validators and total power,
 * members, supply, and per profile its data, labels, model size and FLOPs,
 * rule and schedule), or with as_json one compact JSON object and a newline.
 * FL_ENOMEM or a hashing error possible; nothing is printed then.
 */
int genesis_summary_print(FILE *out, const char *name, const chain_genesis *g,
			  int as_json) FL_MUST_CHECK;

/* ------------------------------------------------------------- profiles */

/*
 * jansson's json_loadb with JSON_REJECT_DUPLICATES, except that every JSON
 * number comes back as its exact source text (a string starting with a NUL
 * byte; see genesis/json_strict.c), so fractions never pass through a double.
 * Returns a new tree (json_decref) or NULL with err set ("NAME:LINE:COL: …").
 */
json_t *genesis_json_loads(const char *name, const char *text, size_t len, char *err,
			   size_t errlen);

/*
 * One profile object (the entries of genesis "profiles", the file of
 * `add-profile --file` and of the wallet's `profile propose`) into *out,
 * checked field by field and then with chain_profile_check. `obj` should come
 * from genesis_json_loads; on a tree from plain json_loads, fractions must be
 * decimal strings (a JSON real has already lost its decimal text). `name` is
 * the file and `where` the path of the object ("profiles[1]", or "" for a
 * file holding just the profile), both used in messages.
 */
int genesis_profile_from_json(chain_profile *out, const json_t *obj, const char *name,
			      const char *where, char *err, size_t errlen) FL_MUST_CHECK;
/* The object genesis_profile_from_json reads back to an equal profile.
 * NULL when out of memory; json_decref it. */
json_t *genesis_profile_to_json(const chain_profile *p);
/* A file holding one profile object. */
int genesis_profile_load_file(const char *path, chain_profile *out, char *err,
			      size_t errlen) FL_MUST_CHECK;

/* ------------------------------------------------------------- numbers */

/*
 * Decimal text to parts per million without floating point: an optional '-',
 * an integer part without leading zeros ("0" alone is fine), then optionally
 * '.' and 1 to 6 digits. "0.05" -> 50000, "1" -> 1000000, "-0.5" -> -500000.
 * FL_EPARSE for anything else (exponents, '+', ".5", "5.", spaces),
 * FL_ETOOBIG for more than 6 decimals, FL_EOVERFLOW past INT64 range.
 */
int genesis_decimal_to_ppm(const char *s, int64_t *out) FL_MUST_CHECK;
/* The shortest text genesis_decimal_to_ppm maps back to ppm ("0.05", "1",
 * "-0.000001"). out must hold 32 bytes. */
void genesis_ppm_to_decimal(char out[32], int64_t ppm);

/* Names of the enums as written in JSON; NULL for an unknown value. */
const char *genesis_metric_name(int metric);
const char *genesis_activation_name(int activation);
const char *genesis_agg_rule_name(int rule);
const char *genesis_task_name(int task);

#endif
