/*
 * tests/node/test_wal_crash.c — what a crash or a bad disk leaves, made by
 * hand: the head cut at every byte of its last record (a torn append), a
 * flipped bit anywhere in the last record, zeros past the end (a file
 * extended without its data), a log that died before its first marker was
 * synced; and damage that is not a torn tail — a flipped bit or a missing
 * file among the closed files — refused, naming the file and the offset.
 */
#include "node/wal.h"
#include "tests/node/wal_helpers.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_RECORDS 12

static char dir[64];
static wh_seen *seen;

static void setup(void)
{
	wh_tmpdir(dir, sizeof(dir));
	seen = calloc(1, sizeof(*seen));
	cr_assert_not_null(seen);
}

static void teardown(void)
{
	wh_rmtree(dir);
	free(seen);
}

TestSuite(wal_crash, .init = setup, .fini = teardown);

static void append_n(node_wal *w, unsigned first, unsigned n)
{
	uint8_t p[WH_MAX_PAYLOAD];

	for (unsigned i = first; i < first + n; i++) {
		size_t len = wh_payload(p, i);
		cr_assert_eq(node_wal_append(w, (uint8_t)(1 + i % 200), p, len), FL_OK);
	}
}

/* Reopens the log and checks it replays exactly records 0..n-1. */
static void assert_reopens_with(const node_wal_options *o, unsigned n)
{
	uint8_t p[WH_MAX_PAYLOAD];
	node_wal *w;

	cr_assert_eq(node_wal_open(&w, dir, o), FL_OK);
	memset(seen, 0, sizeof(*seen));
	cr_assert_eq(node_wal_replay(w, 1, wh_collect, seen), FL_OK);
	cr_assert_eq(seen->n, n, "replayed %u records, want %u", seen->n, n);
	for (unsigned k = 0; k < n; k++) {
		size_t len = wh_payload(p, k);
		cr_assert_eq(seen->len[k], len);
		cr_assert_eq(memcmp(seen->payload[k], p, len), 0);
	}
	/* The repaired log takes appends where the good records end. */
	append_n(w, n, 1);
	cr_assert_eq(node_wal_close(w), FL_OK);
}

/* A log of N_RECORDS records in one file; returns the offset of the last
 * one and its length in *size. */
static long one_file_log(long *size)
{
	char f[256];
	node_wal *w;
	long before;

	cr_assert_eq(node_wal_open(&w, dir, NULL), FL_OK);
	append_n(w, 0, N_RECORDS - 1);
	cr_assert_eq(node_wal_sync(w), FL_OK);
	wh_wal_file(f, dir, 0);
	before = wh_file_size(f);
	append_n(w, N_RECORDS - 1, 1);
	cr_assert_eq(node_wal_close(w), FL_OK);
	*size = wh_file_size(f);
	return before;
}

Test(wal_crash, a_cut_at_every_byte_of_the_last_record_keeps_all_before_it)
{
	uint8_t *image;
	size_t n;
	long last, size;
	char f[256];

	last = one_file_log(&size);
	wh_wal_file(f, dir, 0);
	image = wh_read_all(f, &n);
	cr_assert_eq((long)n, size);
	cr_assert_gt(size - last, (long)NODE_WAL_HEADER_LEN);
	for (long len = last; len < size; len++) {
		wh_write_all(f, image, (size_t)len);
		assert_reopens_with(NULL, N_RECORDS - 1);
		/* Cut back to the good records; the append after the reopen
		 * wrote the same last record again, so the bytes match. */
		cr_assert_eq(wh_file_size(f), size);
		uint8_t *again = wh_read_all(f, &n);
		cr_assert_eq(memcmp(again, image, n), 0);
		free(again);
	}
	wh_write_all(f, image, n);
	assert_reopens_with(NULL, N_RECORDS);
	free(image);
}

Test(wal_crash, a_flipped_bit_in_the_last_record_cuts_it)
{
	uint8_t *image;
	size_t n;
	long last, size;
	char f[256];

	last = one_file_log(&size);
	wh_wal_file(f, dir, 0);
	image = wh_read_all(f, &n);
	/* Every byte of the last record: its len, its CRC, its type and its
	 * payload, each with a different bit. */
	for (long off = last; off < size; off++) {
		wh_write_all(f, image, n);
		wh_flip_bit(f, off, (int)(off % 8));
		assert_reopens_with(NULL, N_RECORDS - 1);
	}
	free(image);
}

Test(wal_crash, zeros_past_the_end_are_cut)
{
	uint8_t zeros[700] = {0};
	uint8_t *image, *grown;
	size_t n;
	long size;
	char f[256];

	(void)one_file_log(&size);
	wh_wal_file(f, dir, 0);
	image = wh_read_all(f, &n);
	grown = malloc(n + sizeof(zeros));
	cr_assert_not_null(grown);
	memcpy(grown, image, n);
	memcpy(grown + n, zeros, sizeof(zeros));
	wh_write_all(f, grown, n + sizeof(zeros));
	assert_reopens_with(NULL, N_RECORDS);
	free(grown);
	free(image);
}

Test(wal_crash, a_log_that_died_before_its_first_marker_starts_again)
{
	char f[256];
	node_wal *w;

	wh_wal_file(f, dir, 0);
	wh_write_all(f, "\x08\x00\x00", 3); /* a third of a marker's header */
	cr_assert_eq(node_wal_open(&w, dir, NULL), FL_OK);
	cr_assert_eq(node_wal_last_height(w), 0);
	memset(seen, 0, sizeof(*seen));
	cr_assert_eq(node_wal_replay(w, 1, wh_collect, seen), FL_OK);
	cr_assert_eq(seen->n, 0);
	cr_assert_eq(node_wal_close(w), FL_OK);
	cr_assert_eq(wh_file_size(f), (long)NODE_WAL_HEADER_LEN + 8);
}

/* A log over several files: returns how many. */
static uint32_t rotated_log(const node_wal_options *o)
{
	node_wal *w;
	uint32_t n;

	cr_assert_eq(node_wal_open(&w, dir, o), FL_OK);
	append_n(w, 0, 30);
	n = node_wal_head_index(w) + 1;
	cr_assert_eq(node_wal_close(w), FL_OK);
	cr_assert_geq(n, 3);
	return n;
}

Test(wal_crash, a_cut_in_the_rotated_head_keeps_the_closed_files)
{
	node_wal_options o = {.max_file_bytes = 700};
	uint32_t files = rotated_log(&o);
	node_wal *w;
	char f[256];

	/* Half of the head's first record gone: the head empties, the closed
	 * files stay whole. */
	wh_wal_file(f, dir, files - 1);
	cr_assert_gt(wh_file_size(f), 4);
	wh_truncate(f, 4);
	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	memset(seen, 0, sizeof(*seen));
	cr_assert_eq(node_wal_replay(w, 1, wh_collect, seen), FL_OK);
	cr_assert_lt(seen->n, 30);
	cr_assert_gt(seen->n, 0);
	cr_assert_eq(node_wal_head_index(w), files - 1);
	cr_assert_eq(node_wal_close(w), FL_OK);
	cr_assert_eq(wh_file_size(f), 0);
}

Test(wal_crash, a_flipped_bit_in_a_closed_file_is_refused_by_name)
{
	node_wal_options o = {.max_file_bytes = 700};
	char f[256], line[512], want[64];
	uint32_t files;
	node_wal *w;
	long size;
	int found = 0;

	cr_redirect_stderr();
	files = rotated_log(&o);
	wh_wal_file(f, dir, 1);
	size = wh_file_size(f);
	/* The last byte of the closed file: its last record's payload. */
	wh_flip_bit(f, size - 1, 3);
	cr_assert_eq(node_wal_open(&w, dir, &o), FL_ECORRUPT);
	cr_assert_null(w);
	/* Refused, not repaired: nothing cut anywhere. */
	cr_assert_eq(wh_file_size(f), size);
	wh_wal_file(f, dir, files - 1);
	cr_assert_gt(wh_file_size(f), 0);
	fflush(stderr);
	snprintf(want, sizeof(want), "0000000001.wal: corrupt record at offset ");
	FILE *err = cr_get_redirected_stderr();
	while (fgets(line, sizeof(line), err) != NULL)
		if (strstr(line, want) != NULL)
			found = 1;
	cr_assert(found, "the error names the file and the offset");
}

Test(wal_crash, a_truncated_closed_file_is_refused)
{
	node_wal_options o = {.max_file_bytes = 700};
	node_wal *w;
	char f[256];

	(void)rotated_log(&o);
	wh_wal_file(f, dir, 0);
	wh_truncate(f, wh_file_size(f) - 1);
	cr_assert_eq(node_wal_open(&w, dir, &o), FL_ECORRUPT);
}

Test(wal_crash, a_missing_file_in_the_middle_is_refused)
{
	node_wal_options o = {.max_file_bytes = 700};
	node_wal *w;
	char f[256];

	(void)rotated_log(&o);
	wh_wal_file(f, dir, 1);
	cr_assert_eq(unlink(f), 0);
	cr_assert_eq(node_wal_open(&w, dir, &o), FL_ECORRUPT);
}

Test(wal_crash, a_marker_that_goes_back_is_damage)
{
	node_wal_options o = {.max_file_bytes = 700};
	uint8_t *a;
	size_t na;
	node_wal *w;
	char f0[256];

	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	cr_assert_eq(node_wal_end_height(w, 5), FL_OK);
	cr_assert_eq(node_wal_close(w), FL_OK);
	/* The file holds markers 0 and 5; appending marker 0's bytes again
	 * (a record with a valid CRC) makes the head's tail go back. */
	wh_wal_file(f0, dir, 0);
	a = wh_read_all(f0, &na);
	cr_assert_eq(na, 2 * (NODE_WAL_HEADER_LEN + 8));
	uint8_t *b = malloc(na + NODE_WAL_HEADER_LEN + 8);
	cr_assert_not_null(b);
	memcpy(b, a, na);
	memcpy(b + na, a, NODE_WAL_HEADER_LEN + 8);
	wh_write_all(f0, b, na + NODE_WAL_HEADER_LEN + 8);
	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	cr_assert_eq(node_wal_last_height(w), 5);
	cr_assert_eq(node_wal_close(w), FL_OK);
	cr_assert_eq(wh_file_size(f0), (long)na, "the backward marker was cut");
	free(a);
	free(b);
}
