/*
 * genesis/internal.h — shared by genesis/ files only: the strict JSON field
 * reader (json_strict.c) used by json_read.c and json_profile.c.
 *
 * A gj_ctx carries the file name and the JSON path of the value being read,
 * so that any error can name both ("genesis.json: profiles[1].training.lr:
 * more than 6 decimals"). The first error wins; later ones are ignored.
 */
#ifndef FEDLEDGER_GENESIS_INTERNAL_H
#define FEDLEDGER_GENESIS_INTERNAL_H

#include "genesis/genesis.h"

#define GJ_PATH_MAX 160

typedef struct {
	const char *name; /* file named in messages */
	char *err;
	size_t errlen;
	int failed;
	size_t len; /* strlen(path) */
	char path[GJ_PATH_MAX];
} gj_ctx;

/* snprintf into err (if any) with every non-printable byte turned into '?',
 * so that an error is always exactly one line whatever the input held. */
void gj_errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void gj_init(gj_ctx *c, const char *name, const char *where, char *err, size_t errlen);

/* Path stack: push returns the mark to pop back to. */
size_t gj_push_key(gj_ctx *c, const char *key);
size_t gj_push_index(gj_ctx *c, size_t i);
void gj_pop(gj_ctx *c, size_t mark);

/* Records "NAME: PATH: message" (or "NAME: message" at the root) once and
 * returns code. */
int gj_fail(gj_ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* v must be an object whose keys all appear in the NULL-terminated `allowed`. */
int gj_object(gj_ctx *c, const json_t *v, const char *const *allowed) FL_MUST_CHECK;

/*
 * Looks up `key` in obj and pushes it on the path. Returns 1 when present
 * (pop with gj_pop(c, *mark)), 0 when absent and optional (nothing pushed),
 * or FL_EINVAL when absent and required.
 */
int gj_enter(gj_ctx *c, const json_t *obj, const char *key, int required, const json_t **v,
	     size_t *mark) FL_MUST_CHECK;

/* Value readers: the current path names v in messages. */
int gj_val_u64(gj_ctx *c, const json_t *v, uint64_t min, uint64_t max, uint64_t *out) FL_MUST_CHECK;
int gj_val_u32(gj_ctx *c, const json_t *v, uint32_t min, uint32_t max, uint32_t *out) FL_MUST_CHECK;
/* A fraction in ppm; min and max are in ppm too. */
int gj_val_ppm(gj_ctx *c, const json_t *v, int64_t min, int64_t max, int64_t *out) FL_MUST_CHECK;
/* Printable ASCII, at most max chars (out holds max+1). */
int gj_val_str(gj_ctx *c, const json_t *v, size_t max, char *out) FL_MUST_CHECK;
int gj_val_bool(gj_ctx *c, const json_t *v, int *out) FL_MUST_CHECK;
int gj_val_pubkey(gj_ctx *c, const json_t *v, fl_pubkey *out) FL_MUST_CHECK;
/* A string from the NULL-terminated names; *out = values[i]. */
int gj_val_enum(gj_ctx *c, const json_t *v, const char *const *names, const int *values,
		int *out) FL_MUST_CHECK;
/* An array of at most max entries. */
int gj_val_array(gj_ctx *c, const json_t *v, size_t max, size_t *n) FL_MUST_CHECK;

/* Field readers: gj_enter + the value reader + gj_pop. They return 1 when
 * the field was read, 0 when absent and optional (*out untouched), or < 0. */
int gj_u64(gj_ctx *c, const json_t *obj, const char *key, int required, uint64_t min, uint64_t max,
	   uint64_t *out) FL_MUST_CHECK;
int gj_u32(gj_ctx *c, const json_t *obj, const char *key, int required, uint32_t min, uint32_t max,
	   uint32_t *out) FL_MUST_CHECK;
int gj_ppm_u32(gj_ctx *c, const json_t *obj, const char *key, int required, uint32_t min,
	       uint32_t max, uint32_t *out) FL_MUST_CHECK;
int gj_str(gj_ctx *c, const json_t *obj, const char *key, int required, size_t max,
	   char *out) FL_MUST_CHECK;
int gj_bool(gj_ctx *c, const json_t *obj, const char *key, int required, int *out) FL_MUST_CHECK;
int gj_pubkey(gj_ctx *c, const json_t *obj, const char *key, fl_pubkey *out) FL_MUST_CHECK;
int gj_enum(gj_ctx *c, const json_t *obj, const char *key, int required, const char *const *names,
	    const int *values, int *out) FL_MUST_CHECK;

/* Writers shared by json_write.c and json_profile.c: an unsigned integer as
 * a JSON integer up to GENESIS_JSON_INT_MAX and as a decimal string above;
 * a ppm value as a decimal string. NULL when out of memory. */
json_t *gj_new_u64(uint64_t v);
json_t *gj_new_ppm(int64_t ppm);
json_t *gj_new_pubkey(const fl_pubkey *pk);
/* json_object_set_new that remembers a failure in *ok (0 on failure). */
void gj_set(json_t *obj, const char *key, json_t *v, int *ok);
void gj_append(json_t *arr, json_t *v, int *ok);

/* Parse a profile object at the context's current path (json_profile.c). */
int genesis_profile_read(gj_ctx *c, const json_t *obj, chain_profile *out) FL_MUST_CHECK;
/* chain_profile_check, its field name turned into the JSON path under the
 * context's current path (check.c). */
int genesis_profile_chain_check(gj_ctx *c, const chain_profile *p) FL_MUST_CHECK;

#endif
