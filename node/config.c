/*
 * node/config.c — reading config.json: field by field through the table in
 * node/config_fields.c, each error naming the path of the bad field.
 *
 * Numbers come from genesis_json_loads, which hands back every JSON number
 * as its exact source text: jansson alone would refuse an integer past 2^63
 * with a syntax error naming no field, and would take 10.0 for 10.
 */
#include "node/config_internal.h"

#include "genesis/genesis.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PATH_LEN 96 /* "p2p.persistent_peers[63]", "log.modules.<64 chars>" */
#define SHOWN    64 /* chars of a bad value or key quoted in a message */

typedef node__config_reader reader;

static int vfail(const reader *r, int code, const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static int fail(const reader *r, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "NAME: PATH: message" into err; returns code. */
static int fail(const reader *r, int code, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vfail(r, code, path, fmt, ap);
	va_end(ap);
	return code;
}

int node__config_fail(const reader *r, int code, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vfail(r, code, path, fmt, ap);
	va_end(ap);
	return code;
}

static int vfail(const reader *r, int code, const char *path, const char *fmt, va_list ap)
{
	char msg[NODE_CONFIG_ERR_MAX];

	assert(code < 0);
	if (r->err == NULL || r->errlen == 0)
		return code;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (path[0] != '\0')
		snprintf(r->err, r->errlen, "%s: %s: %s", r->name, path, msg);
	else
		snprintf(r->err, r->errlen, "%s: %s", r->name, msg);
	node__config_one_line(r->err);
	return code;
}

/* The source text of a number (genesis_json_loads marks each one with a
 * leading NUL, which no string from the file can start with), or NULL. */
static const char *number_text(const json_t *v)
{
	if (json_is_string(v) && json_string_length(v) > 0 && json_string_value(v)[0] == '\0')
		return json_string_value(v) + 1;
	return NULL;
}

static const char *type_name(const json_t *v)
{
	if (number_text(v) != NULL)
		return "a number";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* v must be an object whose keys are all in the NULL-terminated `allowed`. */
static int check_object(const reader *r, const char *path, const json_t *v,
			const char *const *allowed)
{
	const char *key;
	json_t *value;

	if (!json_is_object(v))
		return fail(r, FL_EPARSE, path, "expected an object, got %s", type_name(v));
	/* jansson keeps document order, so the first unknown key is named. */
	json_object_foreach((json_t *)v, key, value)
	{
		size_t i;
		(void)value;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return fail(r, FL_EINVAL, path, "unknown key \"%.*s\"", SHOWN, key);
	}
	return FL_OK;
}

/* ---------------------------------------------------------------- values */

static int read_uint(const reader *r, const char *path, const json_t *v, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	const char *text = number_text(v);
	uint64_t x;
	int rc;

	if (text == NULL)
		return fail(r, FL_EPARSE, path, "expected an integer, got %s", type_name(v));
	rc = fl_parse_u64(text, &x);
	if (rc == FL_EPARSE)
		return fail(r, FL_EPARSE, path, "expected an integer >= 0, got %.*s", SHOWN, text);
	if (rc != FL_OK || x < min || x > max)
		return fail(r, FL_EINVAL, path,
			    "must be between %" PRIu64 " and %" PRIu64 ", got %.*s", min, max,
			    SHOWN, text);
	*out = x;
	return FL_OK;
}

/* A string of printable ASCII, min..max chars, copied into out[max + 1]. */
static int read_string(const reader *r, const char *path, const json_t *v, size_t min, size_t max,
		       char *out)
{
	const char *s;
	size_t n, i;

	if (!json_is_string(v) || number_text(v) != NULL)
		return fail(r, FL_EPARSE, path, "expected a string, got %s", type_name(v));
	s = json_string_value(v);
	n = json_string_length(v);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return fail(r, FL_EINVAL, path, "only printable ASCII is allowed");
	if (n > max)
		return fail(r, FL_ETOOBIG, path, "longer than %zu characters", max);
	if (n < min)
		return fail(r, FL_EINVAL, path, "must not be empty");
	/* The whole field, so that equal configs are equal bytes. */
	memset(out, 0, max + 1);
	memcpy(out, s, n);
	return FL_OK;
}

/* "a.b.c.d:port" as p2p/ takes it; listen addresses may use port 0 (any). */
static int read_addr(const reader *r, const char *path, const json_t *v, int listen, char *out)
{
	char text[P2P_ADDR_MAX];
	struct sockaddr_in sin;
	int rc;

	if ((rc = read_string(r, path, v, 0, P2P_ADDR_MAX - 1, text)) != FL_OK)
		return rc;
	if (!listen && text[0] == '\0') {
		memset(out, 0, P2P_ADDR_MAX);
		return FL_OK;
	}
	rc = listen ? p2p_listen_addr_parse(text, &sin) : p2p_addr_parse(text, &sin);
	if (rc != FL_OK)
		return fail(r, FL_EINVAL, path,
			    "expected \"HOST:PORT\" (an IPv4 address such as 127.0.0.1 and a port "
			    "%s65535), got \"%s\"",
			    listen ? "0 (any) to " : "1 to ", text);
	memcpy(out, text, sizeof(text));
	return FL_OK;
}

/* A value from the NULL-terminated names; *out is its index. */
static int read_enum(const reader *r, const char *path, const json_t *v, const char *what,
		     const char *const *names, size_t n_names, int *out)
{
	char text[16];
	size_t i;

	if (!json_is_string(v) || number_text(v) != NULL)
		return fail(r, FL_EPARSE, path, "expected a string, got %s", type_name(v));
	for (i = 0; i < n_names; i++) {
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*out = (int)i;
			return FL_OK;
		}
	}
	/* Quoted as given (cut and made one line by fail). */
	snprintf(text, sizeof(text), "%s", json_string_value(v));
	return fail(r, FL_EINVAL, path, "unknown %s \"%s%s\"", what, text,
		    strlen(json_string_value(v)) >= sizeof(text) ? "..." : "");
}

static int read_level(const reader *r, const char *path, const json_t *v, int *out)
{
	return read_enum(r, path, v, "level", node__log_level_names, FL_LOG_OFF + 1, out);
}

/* An array of at most max entries. */
static int read_array(const reader *r, const char *path, const json_t *v, size_t max, size_t *n)
{
	if (!json_is_array(v))
		return fail(r, FL_EPARSE, path, "expected an array, got %s", type_name(v));
	*n = json_array_size(v);
	if (*n > max)
		return fail(r, FL_ETOOBIG, path, "more than %zu entries", max);
	return FL_OK;
}

/* -------------------------------------------------------------- the lists */

/* "NODEID@HOST:PORT": NODEID the 64 hex chars of the member key. */
static int read_peer(const reader *r, const char *path, const json_t *v, node_config_peer *out)
{
	char text[FL_PUBKEY_HEX_LEN + 1 + P2P_ADDR_MAX], hex[FL_PUBKEY_HEX_LEN + 1];
	struct sockaddr_in sin;
	const char *addr;
	int rc;

	if ((rc = read_string(r, path, v, 0, sizeof(text) - 1, text)) != FL_OK)
		return rc;
	addr = text + FL_PUBKEY_HEX_LEN + 1;
	if (strlen(text) <= FL_PUBKEY_HEX_LEN || text[FL_PUBKEY_HEX_LEN] != '@' ||
	    strchr(text, '@') != text + FL_PUBKEY_HEX_LEN)
		return fail(r, FL_EINVAL, path,
			    "expected \"NODEID@HOST:PORT\" (NODEID: 64 hex characters), got \"%s\"",
			    text);
	memcpy(hex, text, FL_PUBKEY_HEX_LEN);
	hex[FL_PUBKEY_HEX_LEN] = '\0';
	rc = fl_pubkey_from_hex(&out->id, hex);
	if (rc == FL_EPARSE)
		return fail(r, FL_EINVAL, path, "node id \"%s\" is not 64 hex characters", hex);
	if (rc != FL_OK)
		return fail(r, FL_EINVAL, path, "node id \"%s\" is not a secp256k1 public key",
			    hex);
	if (p2p_addr_parse(addr, &sin) != FL_OK)
		return fail(r, FL_EINVAL, path,
			    "expected \"NODEID@HOST:PORT\" (an IPv4 address and a port 1 to "
			    "65535), got \"...@%s\"",
			    addr);
	memset(out->addr, 0, sizeof(out->addr));
	memcpy(out->addr, addr, strlen(addr));
	return FL_OK;
}

static int read_peers(const reader *r, const char *path, const json_t *v, node_config *cfg)
{
	char at[PATH_LEN];
	size_t n, i, j;
	int rc;

	if ((rc = read_array(r, path, v, NODE_CONFIG_PEERS_MAX, &n)) != FL_OK)
		return rc;
	for (i = 0; i < n; i++) {
		node_config_peer *p = &cfg->p2p.persistent_peers[i];
		snprintf(at, sizeof(at), "%.60s[%zu]", path, i);
		if ((rc = read_peer(r, at, json_array_get(v, i), p)) != FL_OK)
			return rc;
		/* One session per key: a second entry could only fight the first. */
		for (j = 0; j < i; j++)
			if (fl_pubkey_cmp(&cfg->p2p.persistent_peers[j].id, &p->id) == 0)
				return fail(r, FL_EINVAL, at, "same node id as %s[%zu]", path, j);
	}
	cfg->p2p.n_persistent_peers = (uint32_t)n;
	return FL_OK;
}

/* [A-Za-z0-9.-]+ then optionally ":PORT" (1..65535): the host part of an
 * Origin header (RFC 6454) as browsers send it for http and https. */
static int origin_host_ok(const char *s)
{
	size_t n = 0;
	const char *colon;
	uint64_t port;

	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	       (s[n] >= '0' && s[n] <= '9') || s[n] == '.' || s[n] == '-')
		n++;
	if (n == 0)
		return 0;
	if (s[n] == '\0')
		return 1;
	colon = s + n;
	return *colon == ':' && fl_parse_u64(colon + 1, &port) == FL_OK && port >= 1 &&
	       port <= 65535;
}

static int read_origins(const reader *r, const char *path, const json_t *v, node_config *cfg)
{
	char at[PATH_LEN];
	size_t n, i;
	int rc;

	if ((rc = read_array(r, path, v, NODE_CONFIG_ORIGINS_MAX, &n)) != FL_OK)
		return rc;
	for (i = 0; i < n; i++) {
		char *o = cfg->rpc.cors_allowed_origins[i];
		const char *host = NULL;
		snprintf(at, sizeof(at), "%.60s[%zu]", path, i);
		if ((rc = read_string(r, at, json_array_get(v, i), 1, NODE_CONFIG_ORIGIN_MAX, o)))
			return rc;
		if (strcmp(o, "*") == 0) {
			/* "*" already allows everyone: others next to it are a
			 * mistake about what the list means. */
			if (n > 1)
				return fail(r, FL_EINVAL, at,
					    "\"*\" allows every origin; list it alone");
			continue;
		}
		if (strncmp(o, "http://", 7) == 0)
			host = o + 7;
		else if (strncmp(o, "https://", 8) == 0)
			host = o + 8;
		/* The value is echoed in a response header: only this strict form
		 * can never smuggle a header or a path into it. */
		if (host == NULL || !origin_host_ok(host))
			return fail(r, FL_EINVAL, at,
				    "expected \"*\" or \"http[s]://HOST[:PORT]\", got \"%s\"", o);
	}
	cfg->rpc.n_cors_allowed_origins = (uint32_t)n;
	return FL_OK;
}

static int read_modules(const reader *r, const char *path, const json_t *v, node_config *cfg)
{
	const char *key;
	json_t *value;
	char at[PATH_LEN];
	int rc;

	if (!json_is_object(v))
		return fail(r, FL_EPARSE, path, "expected an object, got %s", type_name(v));
	json_object_foreach((json_t *)v, key, value)
	{
		size_t m;
		int level;
		for (m = 0; m < NODE_LOG_MODULES; m++)
			if (strcmp(key, node_log_module_name((node_log_module)m)) == 0)
				break;
		if (m == NODE_LOG_MODULES)
			return fail(r, FL_EINVAL, path,
				    "unknown module \"%.*s\" (core, chain, p2p, fl, node, rpc, "
				    "consensus, mempool, sync)",
				    SHOWN, key);
		snprintf(at, sizeof(at), "%.40s.%.40s", path, key);
		if ((rc = read_level(r, at, value, &level)) != FL_OK)
			return rc;
		cfg->log.modules[m] = level;
	}
	return FL_OK;
}

/* The readers above, for node/config_rounds.c (config_internal.h). */
int node__config_check_object(const reader *r, const char *path, const json_t *v,
			      const char *const *allowed)
{
	return check_object(r, path, v, allowed);
}

int node__config_read_uint(const reader *r, const char *path, const json_t *v, uint64_t min,
			   uint64_t max, uint64_t *out)
{
	return read_uint(r, path, v, min, max, out);
}

int node__config_read_string(const reader *r, const char *path, const json_t *v, size_t min,
			     size_t max, char *out)
{
	return read_string(r, path, v, min, max, out);
}

int node__config_read_enum(const reader *r, const char *path, const json_t *v, const char *what,
			   const char *const *names, size_t n_names, int *out)
{
	return read_enum(r, path, v, what, names, n_names, out);
}

int node__config_read_array(const reader *r, const char *path, const json_t *v, size_t max,
			    size_t *n)
{
	return read_array(r, path, v, max, n);
}

/* -------------------------------------------------------------- a field */

static int read_field(const reader *r, const node__config_field *f, const char *path,
		      const json_t *v, node_config *cfg)
{
	char *at = (char *)cfg + f->offset;
	uint64_t x = 0;
	int rc, e = 0;

	switch (f->kind) {
	case CF_U32:
	case CF_U64:
		if ((rc = read_uint(r, path, v, f->min, f->max, &x)) != FL_OK)
			return rc;
		if (f->kind == CF_U32)
			*(uint32_t *)(void *)at = (uint32_t)x;
		else
			*(uint64_t *)(void *)at = x;
		return FL_OK;
	case CF_NAME:
	case CF_PATH:
		return read_string(r, path, v, (size_t)f->min, (size_t)f->max, at);
	case CF_LISTEN:
	case CF_EXTERNAL:
		return read_addr(r, path, v, f->kind == CF_LISTEN, at);
	case CF_LOG_FORMAT:
		if ((rc = read_enum(r, path, v, "format", node__log_format_names, 2, &e)) != FL_OK)
			return rc;
		*(fl_log_format *)(void *)at = (fl_log_format)e;
		return FL_OK;
	case CF_LOG_LEVEL:
		if ((rc = read_level(r, path, v, &e)) != FL_OK)
			return rc;
		*(fl_log_level *)(void *)at = (fl_log_level)e;
		return FL_OK;
	case CF_LOG_MODULES:
		return read_modules(r, path, v, cfg);
	case CF_PEERS:
		return read_peers(r, path, v, cfg);
	case CF_ORIGINS:
		return read_origins(r, path, v, cfg);
	case CF_DATA:
		return node__config_read_data(r, path, v, cfg);
	}
	assert(0 && "a kind missing from read_field");
	return FL_EINVAL;
}

/* The keys the table allows in one section ("" = the top level, which also
 * holds the sections), NULL-terminated into keys. */
static void section_keys(const char *section, const char **keys, size_t max)
{
	size_t n = 0, i;

	for (i = 0; i < node__config_n_fields; i++)
		if (strcmp(node__config_fields[i].section, section) == 0 && n + 1 < max)
			keys[n++] = node__config_fields[i].key;
	if (section[0] == '\0')
		for (i = 0; node__config_sections[i] != NULL && n + 1 < max; i++)
			keys[n++] = node__config_sections[i];
	keys[n] = NULL;
}

/* Rules between fields, once each has passed its own. */
static int check_across(const reader *r, const node_config *cfg)
{
	struct sockaddr_in p2p, rpc;

	if (cfg->mempool.max_per_sender > cfg->mempool.max_txs)
		return fail(r, FL_EINVAL, "mempool.max_per_sender",
			    "must be at most mempool.max_txs (%" PRIu32 "), got %" PRIu32,
			    cfg->mempool.max_txs, cfg->mempool.max_per_sender);
	/* Both passed p2p_listen_addr_parse. One port cannot serve both, on
	 * the same address or with either on 0.0.0.0 (every address). */
	if (p2p_listen_addr_parse(cfg->p2p.listen, &p2p) == FL_OK &&
	    p2p_listen_addr_parse(cfg->rpc.listen, &rpc) == FL_OK && p2p.sin_port != 0 &&
	    p2p.sin_port == rpc.sin_port &&
	    (p2p.sin_addr.s_addr == rpc.sin_addr.s_addr || p2p.sin_addr.s_addr == 0 ||
	     rpc.sin_addr.s_addr == 0))
		return fail(r, FL_EINVAL, "rpc.listen",
			    "\"%s\" takes the port of p2p.listen (\"%s\")", cfg->rpc.listen,
			    cfg->p2p.listen);
	if (strcmp(cfg->consensus.wal_dir, cfg->blobs.dir) == 0)
		return fail(r, FL_EINVAL, "blobs.dir",
			    "must differ from consensus.wal_dir (\"%s\")", cfg->blobs.dir);
	return FL_OK;
}

/* The fields of one section ("" = the top level) present in obj, in the
 * table's order, so that with two bad fields the one named is the first
 * docs/config.md lists. */
static int read_section(const reader *r, const char *section, const json_t *obj, node_config *cfg)
{
	const char *keys[32];
	size_t i;
	int rc;

	section_keys(section, keys, FL_ARRAY_LEN(keys));
	if ((rc = check_object(r, section, obj, keys)) != FL_OK)
		return rc;
	for (i = 0; i < node__config_n_fields; i++) {
		const node__config_field *f = &node__config_fields[i];
		char path[PATH_LEN];
		const json_t *v;
		if (strcmp(f->section, section) != 0 || (v = json_object_get(obj, f->key)) == NULL)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", section, section[0] ? "." : "", f->key);
		if ((rc = read_field(r, f, path, v, cfg)) != FL_OK)
			return rc;
	}
	return FL_OK;
}

int node_config_parse(node_config *out, const char *name, const char *text, size_t len, char *err,
		      size_t errlen)
{
	reader r = {name, err, errlen};
	json_t *root;
	size_t s;
	int rc;

	assert(out != NULL && name != NULL && (text != NULL || len == 0));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	node_config_default(out);
	if (len > NODE_CONFIG_MAX_BYTES)
		return fail(&r, FL_ETOOBIG, "", "larger than %u bytes", NODE_CONFIG_MAX_BYTES);
	root = genesis_json_loads(name, text, len, err, errlen);
	if (root == NULL)
		return FL_EPARSE; /* err says where */
	if ((rc = read_section(&r, "", root, out)) != FL_OK)
		goto cleanup;
	for (s = 0; node__config_sections[s] != NULL; s++) {
		const json_t *obj = json_object_get(root, node__config_sections[s]);
		if (obj != NULL && (rc = read_section(&r, node__config_sections[s], obj, out)))
			goto cleanup;
	}
	rc = check_across(&r, out);

cleanup:
	json_decref(root);
	return rc;
}

int node_config_load(node_config *out, const char *path, char *err, size_t errlen)
{
	reader r = {path, err, errlen};
	uint8_t *text = NULL;
	size_t n;
	int rc;

	assert(out != NULL && path != NULL);
	node_config_default(out);
	rc = fl_file_read(path, &text, &n, NODE_CONFIG_MAX_BYTES);
	if (rc == FL_ETOOBIG)
		return fail(&r, rc, "", "larger than %u bytes", NODE_CONFIG_MAX_BYTES);
	if (rc != FL_OK)
		return fail(&r, rc, "", "cannot read: %s", fl_strerror(rc));
	rc = node_config_parse(out, path, (const char *)text, n, err, errlen);
	fl_free(text);
	return rc;
}
