/*
 * node/wal.h — the consensus write-ahead log (docs/wal.md): an append-only
 * log of typed records in a directory (data/cs.wal/), written and synced
 * before the node acts on an input or sends its own signature, replayed on
 * restart from the last end-of-height marker.
 *
 * Record (little-endian, like the codec):
 *   u32 len   payload bytes, at most NODE_WAL_RECORD_MAX
 *   u32 crc   CRC-32C (Castagnoli) of the len field, the type and the payload
 *   u8  type  NODE_WAL_END_HEIGHT, or a caller's type 1..255
 *   payload
 * Files are named NNNNNNNNNN.wal (a decimal index, 10 digits); the highest
 * index is the head, the only file appended to. A file is closed (synced and
 * never written again) before the next one is created.
 *
 * One node_wal per directory: open takes an exclusive lock (flock on LOCK)
 * and fails with FL_EEXIST while another process holds it. A node_wal is
 * used from one thread (the loop's).
 */
#ifndef FEDLEDGER_NODE_WAL_H
#define FEDLEDGER_NODE_WAL_H

#include "core/core.h"

#define NODE_WAL_HEADER_LEN 9u
/* The ceiling of a payload: a whole block (CHAIN_MAX_BLOCK_BYTES, 8 MiB)
 * plus its envelope fits. Decoding refuses a larger len before reading or
 * allocating anything. */
#define NODE_WAL_RECORD_MAX   (9u * 1024 * 1024)
#define NODE_WAL_FILE_DEFAULT (64u * 1024 * 1024)

/* Type 0 is the WAL's own: an end-of-height marker, payload u64 height. */
#define NODE_WAL_END_HEIGHT 0u

typedef struct node_wal node_wal;

typedef struct {
	/* A new file is started when an append would take the head past this
	 * (a record larger than it gets a file of its own). 0 = 64 MiB; at
	 * least NODE_WAL_HEADER_LEN + 8. */
	uint64_t max_file_bytes;
	/* Appends of longer payloads are refused (FL_ETOOBIG). 0 or more than
	 * NODE_WAL_RECORD_MAX = NODE_WAL_RECORD_MAX. */
	uint32_t max_record_bytes;
} node_wal_options;

/* A record as decoded; payload points into the decoder's buffer. */
typedef struct {
	uint8_t type;
	uint32_t len;
	const uint8_t *payload;
} node_wal_record;

/*
 * Opens the log in `dir`, creating the directory (0700) and a first file
 * holding an end-height marker for height 0 when there is none, so height 1
 * replays like any other. opt may be NULL (defaults).
 *
 * Every file is read and checked. A bad record (cut short, wrong CRC, len
 * over the ceiling, malformed or decreasing marker) in the head file is a
 * torn tail: the head is truncated at the last good record, synced, and a
 * warning names the file, the offset and the bytes cut. The same in an
 * older file, a gap in the numbering or a file that cannot be read is
 * FL_ECORRUPT (or FL_EIO) with an error line naming the file and offset;
 * nothing is changed on disk then. FL_EEXIST: another process has the log
 * open. FL_ENOMEM, FL_EIO. On error *out is NULL and nothing is held.
 */
int node_wal_open(node_wal **out, const char *dir, const node_wal_options *opt) FL_MUST_CHECK;

/* Syncs what was appended, then closes; the handle is freed whatever the
 * result. Returns the sync's result. w may be NULL (FL_OK). */
int node_wal_close(node_wal *w);

/*
 * Appends one record of type 1..255 (FL_EINVAL for 0: markers go through
 * node_wal_end_height). The record is in the file (write(2)) but durable
 * only after node_wal_sync: group commit is several appends, one sync.
 * Rotates to a new file first when the head would pass max_file_bytes.
 * FL_ETOOBIG over max_record_bytes (nothing written). A failed write is
 * cut back off the file; if even that fails the log refuses every later
 * append and sync with FL_EIO (reopen it, which repairs the tail).
 */
int node_wal_append(node_wal *w, uint8_t type, const void *payload, size_t n) FL_MUST_CHECK;

/* fdatasync of the head: every record appended before is durable once this
 * returns FL_OK. A no-op when nothing was appended since the last sync.
 * FL_EIO, after which the log is failed as above (an fsync error may have
 * dropped pages: what is on disk is not known until a reopen reads it). */
int node_wal_sync(node_wal *w) FL_MUST_CHECK;

/*
 * Appends the end-of-height marker for `height` and syncs (with every
 * record appended before it). The node writes it once height's block is
 * committed to the store. Heights of markers strictly grow: FL_EINVAL for
 * a height at or below the last marker's.
 */
int node_wal_end_height(node_wal *w, uint64_t height) FL_MUST_CHECK;

/* The height of the last marker (0 on a fresh log). */
uint64_t node_wal_last_height(const node_wal *w);

/*
 * Replay of height `height` (>= 1) after a restart: finds the marker of
 * height-1 and calls cb for every record after it, in order, up to the end
 * of the log. payload is valid during the call only. cb returns FL_OK to go
 * on; any other value stops the replay and is returned. cb must not append.
 *
 * FL_ENOTFOUND: no marker of height-1 (pruned, or never written). FL_ESTATE:
 * a marker of `height` or higher follows it (that height is already over:
 * the caller asked for the wrong one); cb has seen the records before it.
 * FL_ECORRUPT if a record no longer checks (the files changed under us),
 * FL_EIO, FL_ENOMEM.
 */
typedef int (*node_wal_replay_cb)(void *arg, const node_wal_record *rec);
int node_wal_replay(node_wal *w, uint64_t height, node_wal_replay_cb cb, void *arg) FL_MUST_CHECK;

/*
 * Deletes the files not needed to replay any height >= keep_height: every
 * file before the one holding the last marker of a height <= keep_height-1
 * (the head is never deleted). Syncs the directory after unlinking. Returns
 * FL_OK (also when there was nothing to delete) or FL_EIO; *removed (may be
 * NULL) counts the files removed.
 */
int node_wal_prune(node_wal *w, uint64_t keep_height, unsigned *removed) FL_MUST_CHECK;

/* Counters since open, for /metrics ("WAL fsync time") and for tests. */
typedef struct {
	uint64_t appends;   /* records appended, markers included */
	uint64_t bytes;     /* their bytes, headers included */
	uint64_t syncs;     /* fdatasyncs of the head that succeeded */
	uint64_t sync_ns;   /* wall time spent in them (CLOCK_MONOTONIC) */
	uint64_t rotations; /* files started past max_file_bytes */
} node_wal_stats;

void node_wal_get_stats(const node_wal *w, node_wal_stats *out);

/* The index of the head file and of the oldest file kept. */
uint32_t node_wal_head_index(const node_wal *w);
uint32_t node_wal_first_index(const node_wal *w);

/*
 * Pure decoding of one record at the start of p[0..n) (for tools and the
 * fuzz target; the log reads files through the same checks). FL_OK with
 * *rec (payload points into p) and *used = its length; FL_ETRUNC if p ends
 * inside the record (a torn tail); FL_ECORRUPT for a len over the ceiling, a
 * CRC mismatch or a marker whose payload is not 8 bytes.
 */
int node_wal_record_decode(const uint8_t *p, size_t n, node_wal_record *rec,
			   size_t *used) FL_MUST_CHECK;

/* CRC-32C (Castagnoli, reflected, as in iSCSI and ext4) of p[0..n),
 * continuing from crc (0 to start). */
uint32_t node_wal_crc32c(uint32_t crc, const void *p, size_t n);

#endif
