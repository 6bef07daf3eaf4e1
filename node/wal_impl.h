/*
 * node/wal_impl.h — what the WAL's files share: the handle's layout, the
 * header codec and the buffered file reader. Not for other components:
 * they go through node/wal.h.
 */
#ifndef FEDLEDGER_NODE_WAL_IMPL_H
#define FEDLEDGER_NODE_WAL_IMPL_H

#include "node/wal.h"

#define WAL_LOG        "wal"
#define WAL_NAME_LEN   14 /* "NNNNNNNNNN.wal" */
#define WAL_READ_CHUNK (64u * 1024)
/* A directory with more files than this is not a log we wrote: a head
 * rotates at >= 17 bytes, but pruning keeps a handful. */
#define WAL_MAX_FILES 100000u

/* Returned by node__wal_reader_next at a clean end of file. */
#define WAL_END 1

typedef struct {
	uint32_t index;
	uint64_t size; /* bytes of whole, checked records */
	int has_marker;
	uint64_t first_marker, last_marker; /* heights of its end-height markers */
} wal_file;

struct node_wal {
	char *dir;
	int dir_fd;
	int lock_fd;
	int head_fd;
	wal_file *files; /* oldest first; files[n_files-1] is the head */
	uint32_t n_files, cap_files;
	uint64_t max_file;
	uint32_t max_record;
	int has_marker;
	uint64_t last_height;
	int dirty;  /* appended since the last sync */
	int failed; /* a write or sync failed: the file's state is unknown */
	node_wal_stats stats;
};

/* Reads one file's records in order through a window buffer, so a scan is
 * one pread per 64 KiB, not two per record. */
typedef struct {
	int fd;
	uint64_t size; /* bytes to read: records past this are not looked at */
	uint64_t off;  /* where the next record starts */
	uint8_t *buf;
	size_t cap, len;
	uint64_t buf_off;
} wal_reader;

void node__wal_header_encode(uint8_t hdr[NODE_WAL_HEADER_LEN], uint8_t type, const void *payload,
			     uint32_t len);
/* FL_ECORRUPT if the len field is over NODE_WAL_RECORD_MAX. */
int node__wal_header_decode(const uint8_t hdr[NODE_WAL_HEADER_LEN], uint32_t *len);
/* Checks the CRC (and a marker's length) of a header and its payload. */
int node__wal_record_check(const uint8_t hdr[NODE_WAL_HEADER_LEN], const uint8_t *payload,
			   node_wal_record *rec);
void node__wal_put_u64(uint8_t *p, uint64_t v);
uint64_t node__wal_get_u64(const uint8_t *p);

void node__wal_reader_init(wal_reader *r, int fd, uint64_t size);
void node__wal_reader_free(wal_reader *r);
/* FL_OK and the next record (payload valid until the next call), WAL_END
 * at the end, FL_ETRUNC (cut short), FL_ECORRUPT, FL_EIO or FL_ENOMEM;
 * r->off is then the offset of the bad record. */
int node__wal_reader_next(wal_reader *r, node_wal_record *rec);

void node__wal_file_name(char out[WAL_NAME_LEN + 1], uint32_t index);
/* fsync of the log's directory, for a created or removed file. */
int node__wal_sync_dir(node_wal *w);

#endif
