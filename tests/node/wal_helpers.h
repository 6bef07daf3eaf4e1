/*
 * tests/node/wal_helpers.h — what the WAL and signer tests share: scratch
 * directories, file surgery (truncate, flip a bit, read, write) standing
 * in for a crash or a bad disk, and a replay callback that keeps copies.
 */
#ifndef FEDLEDGER_TESTS_NODE_WAL_HELPERS_H
#define FEDLEDGER_TESTS_NODE_WAL_HELPERS_H

#include "node/wal.h"

#include <stddef.h>
#include <stdint.h>

#define WH_MAX_RECORDS 512
#define WH_MAX_PAYLOAD 4096

/* A fresh directory under /tmp (path in out, size >= 64); aborts on error. */
void wh_tmpdir(char *out, size_t size);
/* Removes a directory tree made by wh_tmpdir. */
void wh_rmtree(const char *dir);
/* dir/name into out (size >= 256). */
void wh_path(char *out, const char *dir, const char *name);
/* dir/"NNNNNNNNNN.wal" of that index. */
void wh_wal_file(char *out, const char *dir, uint32_t index);

long wh_file_size(const char *path);
void wh_truncate(const char *path, long len);
void wh_flip_bit(const char *path, long off, int bit);
/* Whole file into a fresh malloc'd buffer (free()), length in *n. */
uint8_t *wh_read_all(const char *path, size_t *n);
void wh_write_all(const char *path, const void *p, size_t n);

/* Replayed records, copied. */
typedef struct {
	unsigned n;
	uint8_t type[WH_MAX_RECORDS];
	uint32_t len[WH_MAX_RECORDS];
	uint8_t payload[WH_MAX_RECORDS][WH_MAX_PAYLOAD];
	unsigned stop_at; /* 0 = never; else return FL_EPROTO at record stop_at */
} wh_seen;

/* node_wal_replay_cb that appends to a wh_seen (arg). */
int wh_collect(void *arg, const node_wal_record *rec);
/* The test payload of record i: deterministic bytes, length 1 + i*7 % 300. */
size_t wh_payload(uint8_t *out, unsigned i);

#endif
