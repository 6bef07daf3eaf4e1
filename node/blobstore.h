/*
 * node/blobstore.h — the node's content-addressed blob store on disk:
 * models and updates, each a file named by the SHA-256 of its bytes
 * (docs/http.md, "The node's API": GET /v1/blobs/{hash}; the p2p host
 * serves blob fetches from it through p2p_config.blob_size / blob_read).
 *
 * Layout: dir/XX/HEX64, XX the first two hex digits of HEX64 (256
 * directories at most, so no directory grows past a few thousand files for
 * a million blobs). A put writes dir/XX/.tmp-HEX64-N, fsyncs it, renames it
 * onto its name and fsyncs the directory: a crash leaves either the whole
 * blob or a temp file, and node_blobstore_open removes temp files. Names
 * only ever come from a fl_hash (lowercase hex written here), so no client
 * string reaches the filesystem.
 *
 * Threads: every function may be called from any thread at once (the loop
 * serves reads, the thread pool stores a trained update): there is no
 * mutable state but the temp-name counter, which is atomic. Two puts of
 * one blob race harmlessly: both renames put the same bytes there.
 *
 * Ownership: the caller owns the handle from node_blobstore_open until
 * node_blobstore_close (NULL is a no-op), which must not run while another
 * call on it does.
 */
#ifndef FEDLEDGER_NODE_BLOBSTORE_H
#define FEDLEDGER_NODE_BLOBSTORE_H

#include "core/core.h"

/* The default cap on one blob: a CHAIN_MAX_MODEL_PARAMS model of f32
 * weights is 256 MiB, so 1 GiB leaves room and stays one answer
 * (NODE_HTTP_ANSWER_MAX). */
#define NODE_BLOBSTORE_DEFAULT_MAX (1024ull * 1024 * 1024)

typedef struct node_blobstore node_blobstore;

/*
 * Opens the store in dir, making it (mode 0700, its parent must exist) if
 * absent, and removes the temp files a crash left. max_blob_bytes caps one
 * blob (0 = NODE_BLOBSTORE_DEFAULT_MAX). FL_EIO when dir cannot be made or
 * is not a directory, FL_ENOMEM.
 */
int node_blobstore_open(node_blobstore **out, const char *dir,
			uint64_t max_blob_bytes) FL_MUST_CHECK;
void node_blobstore_close(node_blobstore *bs);

/*
 * Stores p[0..n) under its SHA-256 (into *hash, which may be NULL) and
 * returns once it is durable. A blob already stored is left as it is
 * (FL_OK). FL_ETOOBIG over the cap (nothing written), FL_EIO, FL_ENOMEM.
 */
int node_blobstore_put(node_blobstore *bs, const void *p, size_t n, fl_hash *hash) FL_MUST_CHECK;

/* The stored size of blob h: FL_OK, FL_ENOTFOUND, FL_EIO. */
int node_blobstore_size(node_blobstore *bs, const fl_hash *h, uint64_t *size) FL_MUST_CHECK;

/*
 * Bytes [off, off+n) of blob h into out, unchecked against the hash (the
 * p2p fetcher checks the whole blob it assembles). FL_ENOTFOUND, FL_EINVAL
 * when the range goes past the end, FL_EIO (also when the file shrank
 * under the read).
 */
int node_blobstore_read(node_blobstore *bs, const fl_hash *h, uint64_t off, uint8_t *out,
			size_t n) FL_MUST_CHECK;

/*
 * The whole blob h in a fresh buffer (*p, fl_free it; *n bytes), hashed
 * again: FL_ECORRUPT (nothing returned) when the file no longer matches its
 * name or is over the cap. FL_ENOTFOUND, FL_EIO, FL_ENOMEM.
 */
int node_blobstore_get(node_blobstore *bs, const fl_hash *h, uint8_t **p, size_t *n) FL_MUST_CHECK;

/* The stored blobs' bytes and count (either may be NULL), kept as puts
 * and prunes go; counted from the disk at open. */
void node_blobstore_usage(node_blobstore *bs, uint64_t *bytes, uint64_t *count);

/*
 * The retention policy's sweep: removes every blob whose file was last
 * written before `older_than` (seconds since the epoch; a put just made is
 * never swept while its round is being set up) and for which keep(ctx, h)
 * is 0. keep runs on the calling thread for each candidate; the caller
 * decides (node/node_round.c keeps the models of the last K rounds and
 * everything an open round needs). *removed and *removed_bytes (may be
 * NULL) what went. A blob being read meanwhile stays readable to that
 * reader (its file is open); a later get finds FL_ENOTFOUND. FL_EIO when
 * the directory cannot be read.
 */
typedef int (*node_blobstore_keep_fn)(void *ctx, const fl_hash *h);
int node_blobstore_prune(node_blobstore *bs, node_blobstore_keep_fn keep, void *ctx,
			 int64_t older_than, uint64_t *removed, uint64_t *removed_bytes) FL_MUST_CHECK;

#endif
