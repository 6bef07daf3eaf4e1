/*
 * tests/node/test_wal.c — the WAL through node/wal.h: records round trip
 * across a reopen, group commit (several appends, one fdatasync), rotation
 * into numbered files, pruning, replay from an end-of-height marker, the
 * limits on what may be appended, the directory lock, and every failed
 * allocation in open freeing what it took.
 */
#include "node/wal.h"
#include "tests/node/wal_helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

TestSuite(wal, .init = setup, .fini = teardown);

/* Appends records first..first+n-1 (types 1 + i % 200, wh_payload). */
static void append_n(node_wal *w, unsigned first, unsigned n)
{
	uint8_t p[WH_MAX_PAYLOAD];

	for (unsigned i = first; i < first + n; i++) {
		size_t len = wh_payload(p, i);
		cr_assert_eq(node_wal_append(w, (uint8_t)(1 + i % 200), p, len), FL_OK);
	}
}

/* seen holds exactly records first..first+n-1. */
static void assert_seen(unsigned first, unsigned n)
{
	uint8_t p[WH_MAX_PAYLOAD];

	cr_assert_eq(seen->n, n, "saw %u records, want %u", seen->n, n);
	for (unsigned k = 0; k < n; k++) {
		size_t len = wh_payload(p, first + k);
		cr_assert_eq(seen->type[k], (uint8_t)(1 + (first + k) % 200));
		cr_assert_eq(seen->len[k], len);
		cr_assert_eq(memcmp(seen->payload[k], p, len), 0, "record %u differs", first + k);
	}
}

static void replay(node_wal *w, uint64_t height, int want_rc)
{
	memset(seen, 0, sizeof(*seen));
	cr_assert_eq(node_wal_replay(w, height, wh_collect, seen), want_rc);
}

Test(wal, round_trip_across_reopen)
{
	node_wal *w;

	cr_assert_eq(node_wal_open(&w, dir, NULL), FL_OK);
	cr_assert_eq(node_wal_last_height(w), 0);
	replay(w, 1, FL_OK);
	cr_assert_eq(seen->n, 0);
	append_n(w, 0, 40);
	cr_assert_eq(node_wal_append(w, 7, NULL, 0), FL_OK); /* an empty payload */
	cr_assert_eq(node_wal_sync(w), FL_OK);
	cr_assert_eq(node_wal_close(w), FL_OK);

	cr_assert_eq(node_wal_open(&w, dir, NULL), FL_OK);
	cr_assert_eq(node_wal_last_height(w), 0);
	replay(w, 1, FL_OK);
	cr_assert_eq(seen->n, 41);
	cr_assert_eq(seen->type[40], 7);
	cr_assert_eq(seen->len[40], 0);
	seen->n = 40;
	assert_seen(0, 40);
	cr_assert_eq(node_wal_close(w), FL_OK);
}

Test(wal, group_commit_is_one_sync_for_many_appends)
{
	node_wal_stats a, b;
	node_wal *w;

	cr_assert_eq(node_wal_open(&w, dir, NULL), FL_OK);
	node_wal_get_stats(w, &a);
	append_n(w, 0, 25);
	node_wal_get_stats(w, &b);
	cr_assert_eq(b.syncs, a.syncs, "an append alone must not sync");
	cr_assert_eq(b.appends, a.appends + 25);
	cr_assert_eq(node_wal_sync(w), FL_OK);
	node_wal_get_stats(w, &b);
	cr_assert_eq(b.syncs, a.syncs + 1);
	/* Nothing new: no second fdatasync. */
	cr_assert_eq(node_wal_sync(w), FL_OK);
	node_wal_get_stats(w, &a);
	cr_assert_eq(a.syncs, b.syncs);
	/* The marker syncs itself and what came before it, in one. */
	append_n(w, 25, 3);
	cr_assert_eq(node_wal_end_height(w, 1), FL_OK);
	node_wal_get_stats(w, &a);
	cr_assert_eq(a.syncs, b.syncs + 1);
	/* Appended records are readable before they are synced. */
	append_n(w, 28, 2);
	replay(w, 2, FL_OK);
	assert_seen(28, 2);
	cr_assert_eq(node_wal_close(w), FL_OK);
}

Test(wal, replay_starts_after_the_marker_of_the_height_before)
{
	node_wal *w;

	cr_assert_eq(node_wal_open(&w, dir, NULL), FL_OK);
	for (unsigned h = 1; h <= 4; h++) {
		append_n(w, h * 10, 5);
		cr_assert_eq(node_wal_end_height(w, h), FL_OK);
	}
	append_n(w, 50, 3); /* height 5, in progress */
	cr_assert_eq(node_wal_close(w), FL_OK);

	cr_assert_eq(node_wal_open(&w, dir, NULL), FL_OK);
	cr_assert_eq(node_wal_last_height(w), 4);
	replay(w, 5, FL_OK);
	assert_seen(50, 3);
	/* Height 3 is over: its records, then the marker that ended it. */
	replay(w, 3, FL_ESTATE);
	assert_seen(30, 5);
	replay(w, 6, FL_ENOTFOUND);
	cr_assert_eq(node_wal_replay(w, 0, wh_collect, seen), FL_EINVAL);
	/* The callback's own code stops the replay. */
	memset(seen, 0, sizeof(*seen));
	seen->stop_at = 2;
	cr_assert_eq(node_wal_replay(w, 5, wh_collect, seen), FL_EPROTO);
	cr_assert_eq(seen->n, 1);
	/* Markers only grow. */
	cr_assert_eq(node_wal_end_height(w, 4), FL_EINVAL);
	cr_assert_eq(node_wal_end_height(w, 2), FL_EINVAL);
	cr_assert_eq(node_wal_end_height(w, 5), FL_OK);
	replay(w, 6, FL_OK);
	cr_assert_eq(seen->n, 0);
	cr_assert_eq(node_wal_close(w), FL_OK);
}

Test(wal, refuses_type_zero_and_oversized_payloads)
{
	node_wal_options o = {.max_record_bytes = 100};
	uint8_t p[101] = {0};
	node_wal *w;
	long before;
	char f[256];

	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	wh_wal_file(f, dir, 0);
	before = wh_file_size(f);
	cr_assert_eq(node_wal_append(w, NODE_WAL_END_HEIGHT, p, 8), FL_EINVAL);
	cr_assert_eq(node_wal_append(w, 1, p, 101), FL_ETOOBIG);
	cr_assert_eq(wh_file_size(f), before, "nothing written for a refused record");
	cr_assert_eq(node_wal_append(w, 1, p, 100), FL_OK);
	cr_assert_eq(node_wal_close(w), FL_OK);
	cr_assert_eq(wh_file_size(f), before + (long)NODE_WAL_HEADER_LEN + 100);
}

Test(wal, rotates_into_numbered_files)
{
	node_wal_options o = {.max_file_bytes = 512};
	node_wal_stats st;
	node_wal *w;
	char f[256];

	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	append_n(w, 0, 60);
	node_wal_get_stats(w, &st);
	cr_assert_gt(st.rotations, 5);
	cr_assert_eq(node_wal_head_index(w), st.rotations);
	cr_assert_eq(node_wal_first_index(w), 0);
	cr_assert_eq(node_wal_close(w), FL_OK);
	for (uint32_t i = 0; i <= (uint32_t)st.rotations; i++) {
		wh_wal_file(f, dir, i);
		long size = wh_file_size(f);
		/* Records of at most 300 bytes: each file is full but below the cap. */
		cr_assert(size > 0 && size <= 512, "file %u has %ld bytes", i, size);
	}
	wh_wal_file(f, dir, (uint32_t)st.rotations + 1);
	cr_assert_eq(wh_file_size(f), -1);

	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	cr_assert_eq(node_wal_head_index(w), st.rotations);
	replay(w, 1, FL_OK);
	assert_seen(0, 60);
	/* Appends go on in the head after a reopen. */
	append_n(w, 60, 20);
	replay(w, 1, FL_OK);
	assert_seen(0, 80);
	cr_assert_eq(node_wal_close(w), FL_OK);
}

Test(wal, a_record_larger_than_a_file_gets_a_file_of_its_own)
{
	node_wal_options o = {.max_file_bytes = 64};
	uint8_t p[1000];
	node_wal *w;
	char f[256];

	memset(p, 0xab, sizeof(p));
	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	cr_assert_eq(node_wal_append(w, 3, p, sizeof(p)), FL_OK);
	cr_assert_eq(node_wal_append(w, 4, p, 10), FL_OK);
	cr_assert_eq(node_wal_head_index(w), 2);
	cr_assert_eq(node_wal_close(w), FL_OK);
	wh_wal_file(f, dir, 1);
	cr_assert_eq(wh_file_size(f), (long)NODE_WAL_HEADER_LEN + 1000);
	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	replay(w, 1, FL_OK);
	cr_assert_eq(seen->n, 2);
	cr_assert_eq(seen->len[0], 1000);
	cr_assert_eq(seen->len[1], 10);
	cr_assert_eq(node_wal_close(w), FL_OK);
}

Test(wal, prune_keeps_what_replaying_the_kept_heights_needs)
{
	node_wal_options o = {.max_file_bytes = 300};
	uint32_t first_before;
	unsigned removed;
	node_wal *w;
	char f[256];

	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	for (unsigned h = 1; h <= 10; h++) {
		append_n(w, h * 10, 3);
		cr_assert_eq(node_wal_end_height(w, h), FL_OK);
	}
	append_n(w, 110, 2);
	cr_assert_eq(node_wal_prune(w, 0, &removed), FL_OK);
	cr_assert_eq(removed, 0);
	first_before = node_wal_first_index(w);
	cr_assert_eq(node_wal_prune(w, 7, &removed), FL_OK);
	cr_assert_gt(removed, 0);
	cr_assert_eq(node_wal_first_index(w), first_before + removed);
	for (uint32_t i = 0; i < node_wal_first_index(w); i++) {
		wh_wal_file(f, dir, i);
		cr_assert_eq(wh_file_size(f), -1, "file %u should be gone", i);
	}
	/* Height 7 still replays from the marker of 6; older ones are gone. */
	replay(w, 7, FL_ESTATE);
	assert_seen(70, 3);
	replay(w, 11, FL_OK);
	assert_seen(110, 2);
	replay(w, 3, FL_ENOTFOUND);
	/* Pruning again to the same height removes nothing more. */
	cr_assert_eq(node_wal_prune(w, 7, &removed), FL_OK);
	cr_assert_eq(removed, 0);
	cr_assert_eq(node_wal_close(w), FL_OK);

	/* A log whose numbering no longer starts at 0 opens as it was. */
	cr_assert_eq(node_wal_open(&w, dir, &o), FL_OK);
	cr_assert_eq(node_wal_last_height(w), 10);
	replay(w, 11, FL_OK);
	assert_seen(110, 2);
	/* Everything but the head: pruning past the last marker. */
	cr_assert_eq(node_wal_prune(w, 100, &removed), FL_OK);
	cr_assert_gt(removed, 0);
	cr_assert_leq(node_wal_first_index(w), node_wal_head_index(w));
	replay(w, 11, FL_OK);
	assert_seen(110, 2);
	cr_assert_eq(node_wal_close(w), FL_OK);
}

Test(wal, one_process_at_a_time)
{
	node_wal *w, *w2 = (node_wal *)1;

	cr_assert_eq(node_wal_open(&w, dir, NULL), FL_OK);
	cr_assert_eq(node_wal_open(&w2, dir, NULL), FL_EEXIST);
	cr_assert_null(w2);
	cr_assert_eq(node_wal_close(w), FL_OK);
	cr_assert_eq(node_wal_open(&w2, dir, NULL), FL_OK);
	cr_assert_eq(node_wal_close(w2), FL_OK);
}

Test(wal, opens_a_missing_directory_and_refuses_a_missing_parent)
{
	char sub[256], deep[256];
	node_wal *w;

	wh_path(sub, dir, "cs.wal");
	cr_assert_eq(node_wal_open(&w, sub, NULL), FL_OK);
	cr_assert_eq(node_wal_close(w), FL_OK);
	wh_path(deep, dir, "no/such/cs.wal");
	cr_assert_eq(node_wal_open(&w, deep, NULL), FL_ENOTFOUND);
	cr_assert_null(w);
}

Test(wal, every_failed_allocation_in_open_is_clean)
{
	char sub[256];
	node_wal *w;
	int rc = FL_ENOMEM;

	wh_path(sub, dir, "cs.wal");
	/* A log with two files, so open lists, reads and grows its tables. */
	node_wal_options o = {.max_file_bytes = 256};
	cr_assert_eq(node_wal_open(&w, sub, &o), FL_OK);
	append_n(w, 0, 10);
	cr_assert_eq(node_wal_close(w), FL_OK);
	for (unsigned long n = 1; n < 200 && rc == FL_ENOMEM; n++) {
		fl_alloc_fail_after(n);
		rc = node_wal_open(&w, sub, &o);
		fl_alloc_fail_after(0);
		if (rc == FL_ENOMEM)
			cr_assert_null(w);
	}
	cr_assert_eq(rc, FL_OK);
	replay(w, 1, FL_OK);
	assert_seen(0, 10);
	cr_assert_eq(node_wal_close(w), FL_OK);
}

Test(wal, crc32c_check_value)
{
	/* The standard check value of CRC-32C (RFC 3720, B.4). */
	cr_assert_eq(node_wal_crc32c(0, "123456789", 9), 0xe3069283u);
	cr_assert_eq(node_wal_crc32c(node_wal_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}
