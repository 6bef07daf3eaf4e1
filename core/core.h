/*
 * core/core.h — the shared ground of fedledger: error codes, logging, hex,
 * SHA-256 and Merkle roots, secp256k1 BIP340 keys and signatures, the
 * canonical binary codec, and an allocator with a failure hook for tests.
 *
 * This is the only header another module may include from core/.
 * Conventions (see shared/style.md):
 *   - functions that can fail return int: 0 (FL_OK) or a negative FL_E* code;
 *   - caller bugs (NULL where the contract forbids it) are assert()s;
 *   - the caller owns every buffer it passes in; functions that allocate say
 *     so and name the matching free.
 */
#ifndef FEDLEDGER_CORE_H
#define FEDLEDGER_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define FL_MUST_CHECK __attribute__((warn_unused_result))

/* ------------------------------------------------------------------ errors */

enum {
	FL_OK = 0,
	FL_ENOMEM = -1,     /* allocation failed */
	FL_EINVAL = -2,     /* argument or field out of its domain */
	FL_ETRUNC = -3,     /* input ended before the value did */
	FL_ETOOBIG = -4,    /* a length or count over its maximum */
	FL_ETRAILING = -5,  /* bytes left after a complete value */
	FL_ENONCANON = -6,  /* a value in a non-canonical encoding */
	FL_EIO = -7,        /* read/write/open failed (see errno) */
	FL_ENOTFOUND = -8,  /* no such key, file, account, profile… */
	FL_EEXIST = -9,     /* already exists */
	FL_ESIG = -10,      /* signature does not verify */
	FL_ECRYPTO = -11,   /* a crypto library call failed */
	FL_ECORRUPT = -12,  /* stored data does not match its hash or format */
	FL_ENONCE = -13,    /* nonce replayed or skipped */
	FL_EFUNDS = -14,    /* balance too low */
	FL_EOVERFLOW = -15, /* an amount would overflow 64 bits */
	FL_EPERM = -16,     /* sender may not do this (not member/validator/coordinator) */
	FL_ESTATE = -17,    /* not allowed in the current state (profile, round, window) */
	FL_ECHAIN = -18,    /* wrong chain id or height */
	FL_EPARSE = -19,    /* text input (JSON, hex, number) malformed */
	FL_EVERSION = -20,  /* unknown version or kind */
	FL_ETIMEOUT = -21,  /* timed out */
	FL_EPROTO = -22,    /* protocol violation by a peer */
	FL_EDB = -23,       /* the chain store (LMDB) failed */
	FL_EDUP = -24,      /* a duplicate entry (key, vote, member) */
	FL_E_LAST = -24
};

/* Words for any code this project returns; never NULL. */
const char *fl_strerror(int code);

/* ------------------------------------------------------------------ memory */

/*
 * All allocations in decoders and stores go through these, so that a test can
 * make the Nth allocation fail (curl's torture mode) and prove every error
 * path frees what it took. fl_free(NULL) is a no-op.
 */
void *fl_malloc(size_t n);
void *fl_calloc(size_t count, size_t size);
void *fl_realloc(void *p, size_t n);
void fl_free(void *p);
char *fl_strdup(const char *s);

/* Test hook: the allocation number `n` from now (1-based) and every later one
 * fail; 0 switches failure off. Returns how many allocations were made since
 * the last call. Thread-safe counters; meant for single-threaded tests. */
unsigned long fl_alloc_fail_after(unsigned long n);

/* Overwrite a secret so the compiler cannot elide it. */
void fl_wipe(void *p, size_t n);

/* ----------------------------------------------------------------- logging */

typedef enum {
	FL_LOG_TRACE = 0,
	FL_LOG_DEBUG,
	FL_LOG_INFO,
	FL_LOG_WARN,
	FL_LOG_ERROR,
	FL_LOG_OFF
} fl_log_level;

typedef enum { FL_LOG_TEXT = 0, FL_LOG_JSON } fl_log_format;

void fl_log_set_level(fl_log_level level);
void fl_log_set_format(fl_log_format format);
/* A level of its own for the lines of `module` (the name fl_log gets; at
 * most FL_LOG_MODULES_MAX modules, each under FL_LOG_MODULE_LEN chars: more
 * or longer is FL_EINVAL). Set again, it replaces the level. Every other
 * module logs at fl_log_set_level's. Call it before other threads log. */
#define FL_LOG_MODULES_MAX 16
#define FL_LOG_MODULE_LEN  16
int fl_log_set_module_level(const char *module, fl_log_level level);
/* Parses "trace|debug|info|warn|error|off" and "text|json". */
int fl_log_level_parse(const char *s, fl_log_level *out) FL_MUST_CHECK;
int fl_log_format_parse(const char *s, fl_log_format *out) FL_MUST_CHECK;
/* One line to stderr: text "TIME LEVEL module: message" or a JSON object
 * {"ts":…,"level":…,"module":…,"msg":…}. Thread-safe; a line is never split. */
void fl_log(fl_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --------------------------------------------------------------------- hex */

/* Writes 2*n lowercase hex chars and a NUL into out (size >= 2*n+1). */
void fl_hex_encode(char *out, const uint8_t *in, size_t n);
/* Decodes exactly 2*n hex chars (either case) from a NUL-terminated string.
 * FL_EPARSE on a bad char or a wrong length. */
int fl_hex_decode(uint8_t *out, size_t n, const char *hex) FL_MUST_CHECK;

/* ------------------------------------------------------------------ hashes */

#define FL_HASH_LEN 32
typedef struct {
	uint8_t b[FL_HASH_LEN];
} fl_hash;

#define FL_HASH_HEX_LEN (2 * FL_HASH_LEN)

void fl_sha256(fl_hash *out, const void *data, size_t n);

/* Incremental SHA-256. init/update/final; the context holds an OpenSSL
 * EVP_MD_CTX and is freed by final (or by fl_sha256_ctx_abort). */
typedef struct fl_sha256_ctx fl_sha256_ctx;
int fl_sha256_init(fl_sha256_ctx **ctx) FL_MUST_CHECK;
void fl_sha256_update(fl_sha256_ctx *ctx, const void *data, size_t n);
void fl_sha256_final(fl_sha256_ctx *ctx, fl_hash *out);
void fl_sha256_ctx_abort(fl_sha256_ctx *ctx);

int fl_hash_is_zero(const fl_hash *h);
int fl_hash_cmp(const fl_hash *a, const fl_hash *b);
void fl_hash_to_hex(char out[FL_HASH_HEX_LEN + 1], const fl_hash *h);
int fl_hash_from_hex(fl_hash *out, const char *hex) FL_MUST_CHECK;

/*
 * Merkle root in the RFC 6962 form: leaf = H(0x00 || leaf), node =
 * H(0x01 || left || right), split at the largest power of two below n.
 * Unlike Bitcoin's tree it has no duplicated-last-leaf ambiguity
 * (CVE-2012-2459). The root of zero leaves is SHA-256 of the empty string.
 * Allocates O(n) scratch: FL_ENOMEM possible.
 */
int fl_merkle_root(fl_hash *out, const fl_hash *leaves, size_t n) FL_MUST_CHECK;

/*
 * The domain-separated hash that every signature covers (design.md §4):
 * SHA256("fedledger/v1/" || kind || 0x00 || chain_id || 0x00 || body).
 * The NUL separators make (kind, chain_id) unambiguous; neither may hold NUL.
 */
void fl_domain_hash(fl_hash *out, const char *kind, const char *chain_id, const void *body,
		    size_t n);

/* ------------------------------------------------------------------- keys */

#define FL_SECKEY_LEN 32
#define FL_PUBKEY_LEN 32 /* BIP340 x-only public key = account id */
#define FL_SIG_LEN    64

typedef struct {
	uint8_t b[FL_SECKEY_LEN];
} fl_seckey;
typedef struct {
	uint8_t b[FL_PUBKEY_LEN];
} fl_pubkey;
typedef struct {
	uint8_t b[FL_SIG_LEN];
} fl_sig;

#define FL_PUBKEY_HEX_LEN (2 * FL_PUBKEY_LEN)

/* A fresh secret key from the OS RNG, and its public key. */
int fl_key_generate(fl_seckey *sk, fl_pubkey *pk) FL_MUST_CHECK;
/* The public key of sk; FL_EINVAL if sk is not a valid scalar. */
int fl_key_public(fl_pubkey *pk, const fl_seckey *sk) FL_MUST_CHECK;
/* FL_OK if pk is a valid x-only point, FL_EINVAL otherwise. */
int fl_pubkey_check(const fl_pubkey *pk) FL_MUST_CHECK;
int fl_pubkey_cmp(const fl_pubkey *a, const fl_pubkey *b);
void fl_pubkey_to_hex(char out[FL_PUBKEY_HEX_LEN + 1], const fl_pubkey *pk);
/* Decodes and checks the point: FL_EPARSE (hex) or FL_EINVAL (not on curve). */
int fl_pubkey_from_hex(fl_pubkey *out, const char *hex) FL_MUST_CHECK;

/* BIP340 signature over a 32-byte message digest (a fl_domain_hash). */
int fl_sign(fl_sig *sig, const fl_seckey *sk, const fl_hash *msg) FL_MUST_CHECK;
/* FL_OK or FL_ESIG. */
int fl_verify(const fl_sig *sig, const fl_pubkey *pk, const fl_hash *msg) FL_MUST_CHECK;

/*
 * A verifiable random function on the same keys (core/vrf.c): ECVRF in the
 * RFC 9381 construction on secp256k1 with SHA-256 and try-and-increment
 * hash-to-curve, suite string "fedledger/v1/ecvrf-secp256k1-sha256-tai".
 * The public key is the x-only key taken as its even-y point, so an account
 * id is also its VRF key. For one key and input there is exactly one output
 * (the proof is deterministic too), and nobody without the secret key can
 * predict it; the proof lets anyone check it.
 *
 * Proof = Gamma (33-byte compressed point) || c (16 bytes) || s (32 bytes,
 * big-endian scalar). Canonical: Gamma a valid point, 0 < s < n, c != 0.
 * alpha (the input) is at most FL_VRF_ALPHA_MAX bytes (FL_ETOOBIG above);
 * nothing here allocates.
 */
#define FL_VRF_PROOF_LEN 81
#define FL_VRF_ALPHA_MAX 1024

typedef struct {
	uint8_t b[FL_VRF_PROOF_LEN];
} fl_vrf_proof;

/* The proof for alpha under sk; FL_EINVAL if sk is not a valid scalar. */
int fl_vrf_prove(fl_vrf_proof *proof, const fl_seckey *sk, const void *alpha,
		 size_t n) FL_MUST_CHECK;
/* FL_OK and the output in *out (may be NULL) if proof is pk's proof for
 * alpha; FL_ESIG for any other proof, a non-canonical one or a pk that is
 * not a point. */
int fl_vrf_verify(fl_hash *out, const fl_vrf_proof *proof, const fl_pubkey *pk, const void *alpha,
		  size_t n) FL_MUST_CHECK;
/* The output of a canonical proof, SHA256(suite || 0x03 || Gamma || 0x00),
 * without verifying it: only for a proof verified before. FL_EINVAL if
 * not canonical. */
int fl_vrf_proof_to_hash(fl_hash *out, const fl_vrf_proof *proof) FL_MUST_CHECK;
/* FL_OK if canonical, FL_EINVAL otherwise. */
int fl_vrf_proof_check(const fl_vrf_proof *proof) FL_MUST_CHECK;

/*
 * A bounded cache of verified (msg, pubkey, sig) triples (core/sigcache.c):
 * entries are SHA-256 of a random per-cache salt and the whole triple, in
 * a fixed table of 4-way buckets with clock eviction. Thread-safe. Outside
 * consensus: a miss costs a verify, a hit is exactly this triple verified.
 * max_entries 0 = 131072 (4 MiB); more than 2^26 is FL_ETOOBIG.
 */
typedef struct fl_sigcache fl_sigcache;
int fl_sigcache_new(fl_sigcache **out, size_t max_entries) FL_MUST_CHECK;
void fl_sigcache_free(fl_sigcache *c);
/* 1 if this triple verified through c and is still cached, else 0. */
int fl_sigcache_contains(fl_sigcache *c, const fl_hash *msg, const fl_pubkey *pk,
			 const fl_sig *sig);
/* fl_verify, skipped on a hit; a triple that verifies is added. c may be
 * NULL (plain fl_verify). Failures are never cached. */
int fl_verify_cached(fl_sigcache *c, const fl_sig *sig, const fl_pubkey *pk,
		     const fl_hash *msg) FL_MUST_CHECK;
/* The same without adding: for signatures never checked again (a block
 * being applied), which would only cost an insert and evict others. */
int fl_verify_lookup(fl_sigcache *c, const fl_sig *sig, const fl_pubkey *pk,
		     const fl_hash *msg) FL_MUST_CHECK;

/*
 * Key files: one line "fedledger-seckey-v1 <64 hex>\n", mode 0600, written
 * atomically (temp file, fsync, rename) so a crash never leaves half a key.
 * Load refuses a file readable by group or others (FL_EPERM) and wipes its
 * buffers. FL_EEXIST if save would overwrite (unless overwrite is set).
 * Load also refuses group/other write or exec bits (any of 077, as ssh does):
 * a key others could replace is not ours. pk may be NULL.
 */
int fl_key_save(const char *path, const fl_seckey *sk, int overwrite) FL_MUST_CHECK;
int fl_key_load(const char *path, fl_seckey *sk, fl_pubkey *pk) FL_MUST_CHECK;

/* ------------------------------------------------------------------ codec */

/*
 * The canonical binary codec (design.md §4): little-endian fixed-width
 * integers; lengths and counts as LEB128 varints in their shortest form;
 * byte strings length-prefixed with a per-field maximum; booleans as one
 * byte 0 or 1. One encoder and one decoder per type are built on these.
 *
 * Errors are sticky: after the first failure every call is a no-op, and the
 * code is returned by fl_writer_finish / fl_reader_finish (and by each call).
 */
typedef struct {
	uint8_t *buf; /* owned; fl_writer_free releases it */
	size_t len;
	size_t cap;
	size_t max; /* refuse to grow past this (FL_ETOOBIG); 0 = 64 MiB */
	int err;
} fl_writer;

void fl_writer_init(fl_writer *w, size_t max);
void fl_writer_free(fl_writer *w);
int fl_write_u8(fl_writer *w, uint8_t v);
int fl_write_bool(fl_writer *w, int v);
int fl_write_u16(fl_writer *w, uint16_t v);
int fl_write_u32(fl_writer *w, uint32_t v);
int fl_write_u64(fl_writer *w, uint64_t v);
int fl_write_i64(fl_writer *w, int64_t v);
int fl_write_varint(fl_writer *w, uint64_t v);
/* Raw bytes, no length prefix (fixed-size fields such as hashes). */
int fl_write_fixed(fl_writer *w, const void *p, size_t n);
/* varint length then bytes; FL_ETOOBIG if n > max. */
int fl_write_bytes(fl_writer *w, const void *p, size_t n, size_t max);
/* A NUL-terminated string as bytes; see fl_read_str for the allowed set. */
int fl_write_str(fl_writer *w, const char *s, size_t max);
/* Returns w->err. On success the caller may take w->buf (set it to NULL). */
int fl_writer_finish(fl_writer *w);

typedef struct {
	const uint8_t *p;
	size_t len;
	size_t pos;
	int err;
} fl_reader;

void fl_reader_init(fl_reader *r, const void *p, size_t len);
int fl_read_u8(fl_reader *r, uint8_t *v);
int fl_read_bool(fl_reader *r, int *v); /* 0/1 only: else FL_ENONCANON */
int fl_read_u16(fl_reader *r, uint16_t *v);
int fl_read_u32(fl_reader *r, uint32_t *v);
int fl_read_u64(fl_reader *r, uint64_t *v);
int fl_read_i64(fl_reader *r, int64_t *v);
/* Shortest form only (FL_ENONCANON), at most 10 bytes (FL_ENONCANON), fits
 * 64 bits (FL_EOVERFLOW). */
int fl_read_varint(fl_reader *r, uint64_t *v);
/* A count/length varint with a maximum (FL_ETOOBIG above it). */
int fl_read_count(fl_reader *r, size_t *n, size_t max);
int fl_read_fixed(fl_reader *r, void *out, size_t n);
/* Zero-copy: *p points into the reader's buffer, valid as long as it is. */
int fl_read_bytes(fl_reader *r, const uint8_t **p, size_t *n, size_t max);
/* Copies a string into out (size >= max+1) and NUL-terminates it. Only
 * printable ASCII 0x20..0x7e is canonical; anything else is FL_ENONCANON. */
int fl_read_str(fl_reader *r, char *out, size_t max);
/* FL_ETRAILING if bytes remain; else r->err. */
int fl_reader_finish(fl_reader *r);
size_t fl_reader_remaining(const fl_reader *r);

/* A VRF proof (above) as a fixed 81-byte field; both refuse a non-canonical
 * proof with FL_EINVAL (sticky, like every codec error). */
int fl_write_vrf_proof(fl_writer *w, const fl_vrf_proof *proof);
int fl_read_vrf_proof(fl_reader *r, fl_vrf_proof *proof);

/* ------------------------------------------------------------------- misc */

/* Strict decimal parse of a whole string into uint64 (no sign, no spaces,
 * no leading zeros except "0"): FL_EPARSE or FL_EOVERFLOW. */
int fl_parse_u64(const char *s, uint64_t *out) FL_MUST_CHECK;

/* Read a whole file into a fresh buffer (fl_free it). FL_ETOOBIG past max.
 * The buffer has a NUL after the *n bytes (not counted), for text parsers. */
int fl_file_read(const char *path, uint8_t **out, size_t *n, size_t max) FL_MUST_CHECK;
/* Write atomically: temp file in the same dir, fsync, rename, fsync dir. */
int fl_file_write_atomic(const char *path, const void *p, size_t n, unsigned mode) FL_MUST_CHECK;

#define FL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
