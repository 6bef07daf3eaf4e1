/*
 * tests/node/test_blobstore.c — the node's blob store (node/blobstore.h):
 * round trip and layout, an idempotent put, range reads and their bounds,
 * a damaged file found by get, the cap, temp files of a crash removed at
 * open, a directory that is not one, the usage counters and the retention
 * sweep.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/blobstore.h"

static char root[64];
static char dir[128];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/fl-blobs-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/blobs", root);
}

static void teardown(void)
{
	nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(blobstore, .init = setup, .fini = teardown);

static void file_of(const fl_hash *h, char *out, size_t cap)
{
	char hex[FL_HASH_HEX_LEN + 1];

	fl_hash_to_hex(hex, h);
	snprintf(out, cap, "%s/%.2s/%s", dir, hex, hex);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 31);
}

Test(blobstore, round_trip_and_layout)
{
	node_blobstore *bs;
	uint8_t data[5000], *got;
	char path[512];
	struct stat st;
	fl_hash h, want;
	uint64_t size;
	size_t n;

	fill(data, sizeof(data), 7);
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	cr_assert_eq(node_blobstore_put(bs, data, sizeof(data), &h), FL_OK);
	fl_sha256(&want, data, sizeof(data));
	cr_assert_eq(fl_hash_cmp(&h, &want), 0);
	file_of(&h, path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	cr_assert_eq((size_t)st.st_size, sizeof(data));
	cr_assert_eq(node_blobstore_size(bs, &h, &size), FL_OK);
	cr_assert_eq(size, sizeof(data));
	cr_assert_eq(node_blobstore_get(bs, &h, &got, &n), FL_OK);
	cr_assert_eq(n, sizeof(data));
	cr_assert_arr_eq(got, data, n);
	fl_free(got);

	/* An empty blob is a blob too (the hash of nothing). */
	cr_assert_eq(node_blobstore_put(bs, NULL, 0, &h), FL_OK);
	cr_assert_eq(node_blobstore_get(bs, &h, &got, &n), FL_OK);
	cr_assert_eq(n, 0);
	fl_free(got);

	/* Reopened, everything is still there. */
	node_blobstore_close(bs);
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	cr_assert_eq(node_blobstore_size(bs, &want, &size), FL_OK);
	cr_assert_eq(size, sizeof(data));
	node_blobstore_close(bs);
}

Test(blobstore, absent)
{
	node_blobstore *bs;
	uint8_t *got = (uint8_t *)1, buf[4];
	uint64_t size = 9;
	size_t n = 9;
	fl_hash h;

	memset(&h, 0xab, sizeof(h));
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	cr_assert_eq(node_blobstore_size(bs, &h, &size), FL_ENOTFOUND);
	cr_assert_eq(size, 0);
	cr_assert_eq(node_blobstore_read(bs, &h, 0, buf, sizeof(buf)), FL_ENOTFOUND);
	cr_assert_eq(node_blobstore_get(bs, &h, &got, &n), FL_ENOTFOUND);
	cr_assert_null(got);
	cr_assert_eq(n, 0);
	node_blobstore_close(bs);
}

Test(blobstore, idempotent_put)
{
	node_blobstore *bs;
	uint8_t data[300];
	char path[512];
	struct stat a, b;
	fl_hash h1, h2;

	fill(data, sizeof(data), 1);
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	cr_assert_eq(node_blobstore_put(bs, data, sizeof(data), &h1), FL_OK);
	file_of(&h1, path, sizeof(path));
	cr_assert_eq(stat(path, &a), 0);
	cr_assert_eq(node_blobstore_put(bs, data, sizeof(data), &h2), FL_OK);
	cr_assert_eq(fl_hash_cmp(&h1, &h2), 0);
	cr_assert_eq(stat(path, &b), 0);
	/* Not written again: the same file. */
	cr_assert_eq(a.st_ino, b.st_ino);
	node_blobstore_close(bs);
}

Test(blobstore, range_reads)
{
	node_blobstore *bs;
	uint8_t data[1000], buf[1000];
	fl_hash h;

	fill(data, sizeof(data), 3);
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	cr_assert_eq(node_blobstore_put(bs, data, sizeof(data), &h), FL_OK);
	cr_assert_eq(node_blobstore_read(bs, &h, 0, buf, 10), FL_OK);
	cr_assert_arr_eq(buf, data, 10);
	cr_assert_eq(node_blobstore_read(bs, &h, 990, buf, 10), FL_OK);
	cr_assert_arr_eq(buf, data + 990, 10);
	cr_assert_eq(node_blobstore_read(bs, &h, 123, buf, 456), FL_OK);
	cr_assert_arr_eq(buf, data + 123, 456);
	cr_assert_eq(node_blobstore_read(bs, &h, 1000, buf, 0), FL_OK);
	cr_assert_eq(node_blobstore_read(bs, &h, 991, buf, 10), FL_EINVAL);
	cr_assert_eq(node_blobstore_read(bs, &h, 1001, buf, 0), FL_EINVAL);
	cr_assert_eq(node_blobstore_read(bs, &h, UINT64_MAX, buf, 2), FL_EINVAL);
	node_blobstore_close(bs);
}

Test(blobstore, corruption_detected)
{
	node_blobstore *bs;
	uint8_t data[256], *got = NULL, byte;
	char path[512];
	uint64_t size;
	size_t n = 0;
	fl_hash h;
	int fd;

	fill(data, sizeof(data), 9);
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	cr_assert_eq(node_blobstore_put(bs, data, sizeof(data), &h), FL_OK);
	file_of(&h, path, sizeof(path));
	chmod(path, 0600);
	fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	byte = data[100] ^ 1;
	cr_assert_eq(pwrite(fd, &byte, 1, 100), 1);
	close(fd);
	cr_assert_eq(node_blobstore_get(bs, &h, &got, &n), FL_ECORRUPT);
	cr_assert_null(got);
	cr_assert_eq(n, 0);
	/* The size still answers: only get promises the hash. */
	cr_assert_eq(node_blobstore_size(bs, &h, &size), FL_OK);
	cr_assert_eq(size, sizeof(data));

	/* A truncated file is damage too; a put of the right bytes repairs it
	 * (the sizes differ, so it is written again). */
	cr_assert_eq(truncate(path, 10), 0);
	cr_assert_eq(node_blobstore_get(bs, &h, &got, &n), FL_ECORRUPT);
	cr_assert_eq(node_blobstore_put(bs, data, sizeof(data), NULL), FL_OK);
	cr_assert_eq(node_blobstore_get(bs, &h, &got, &n), FL_OK);
	cr_assert_arr_eq(got, data, sizeof(data));
	fl_free(got);
	node_blobstore_close(bs);
}

Test(blobstore, cap)
{
	node_blobstore *bs;
	uint8_t data[101], *got = NULL;
	char path[512];
	fl_hash h;
	size_t n;
	FILE *f;

	fill(data, sizeof(data), 5);
	cr_assert_eq(node_blobstore_open(&bs, dir, 100), FL_OK);
	cr_assert_eq(node_blobstore_put(bs, data, 101, &h), FL_ETOOBIG);
	fl_sha256(&h, data, 101);
	cr_assert_eq(node_blobstore_get(bs, &h, &got, &n), FL_ENOTFOUND);
	cr_assert_eq(node_blobstore_put(bs, data, 100, &h), FL_OK);
	/* A file grown past the cap behind the store's back is not a blob
	 * it stored. */
	file_of(&h, path, sizeof(path));
	f = fopen(path, "ab");
	cr_assert_not_null(f);
	fputc('x', f);
	fclose(f);
	cr_assert_eq(node_blobstore_get(bs, &h, &got, &n), FL_ECORRUPT);
	cr_assert_null(got);
	node_blobstore_close(bs);
}

Test(blobstore, crash_leftovers_removed)
{
	node_blobstore *bs;
	char sub[256], tmp[512], keep[512];
	struct stat st;
	uint8_t data[10] = {1}, *got;
	fl_hash h;
	size_t n;
	FILE *f;

	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	cr_assert_eq(node_blobstore_put(bs, data, sizeof(data), &h), FL_OK);
	node_blobstore_close(bs);
	/* What a crash between create and rename leaves, in a directory of
	 * its own and beside a stored blob. */
	snprintf(sub, sizeof(sub), "%s/7f", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-7f00-1-0", sub);
	f = fopen(tmp, "wb");
	cr_assert_not_null(f);
	fputs("half a blob", f);
	fclose(f);
	/* A file that is not a temp file stays: the store removes only its own. */
	snprintf(keep, sizeof(keep), "%s/notes", sub);
	f = fopen(keep, "wb");
	cr_assert_not_null(f);
	fclose(f);

	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	cr_assert_neq(stat(tmp, &st), 0);
	cr_assert_eq(stat(keep, &st), 0);
	/* The blob beside them is untouched. */
	cr_assert_eq(node_blobstore_get(bs, &h, &got, &n), FL_OK);
	cr_assert_arr_eq(got, data, sizeof(data));
	fl_free(got);
	node_blobstore_close(bs);
}

Test(blobstore, not_a_directory)
{
	node_blobstore *bs = (node_blobstore *)1;
	FILE *f = fopen(dir, "wb");

	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_EIO);
	cr_assert_null(bs);
	cr_assert_eq(node_blobstore_open(&bs, "/nonexistent-parent/blobs", 0), FL_EIO);
	cr_assert_eq(node_blobstore_open(&bs, "", 0), FL_EIO);
}

Test(blobstore, usage_counted_by_put_and_at_open)
{
	node_blobstore *bs;
	uint8_t a[100], b[250];
	uint64_t bytes, count;
	char tmp[512];
	fl_hash ha;

	fill(a, sizeof(a), 3);
	fill(b, sizeof(b), 4);
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	node_blobstore_usage(bs, &bytes, &count);
	cr_assert_eq(bytes, 0);
	cr_assert_eq(count, 0);
	cr_assert_eq(node_blobstore_put(bs, a, sizeof(a), &ha), FL_OK);
	cr_assert_eq(node_blobstore_put(bs, a, sizeof(a), NULL), FL_OK); /* once */
	cr_assert_eq(node_blobstore_put(bs, b, sizeof(b), NULL), FL_OK);
	node_blobstore_usage(bs, &bytes, &count);
	cr_assert_eq(bytes, 350);
	cr_assert_eq(count, 2);
	node_blobstore_close(bs);

	/* A crash's temp file and a stranger's file are not blobs. */
	file_of(&ha, tmp, sizeof(tmp));
	strcpy(strrchr(tmp, '/') + 1, ".tmp-leftover");
	{
		FILE *f = fopen(tmp, "w");
		cr_assert_not_null(f);
		fputs("half", f);
		fclose(f);
	}
	strcpy(strrchr(tmp, '/') + 1, "README");
	{
		FILE *f = fopen(tmp, "w");
		cr_assert_not_null(f);
		fputs("not a blob", f);
		fclose(f);
	}
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	node_blobstore_usage(bs, &bytes, &count);
	cr_assert_eq(bytes, 350);
	cr_assert_eq(count, 2);
	node_blobstore_close(bs);
}

static int keep_first(void *ctx, const fl_hash *h)
{
	return fl_hash_cmp(h, ctx) == 0;
}

Test(blobstore, prune_keeps_what_the_policy_keeps_and_what_is_new)
{
	node_blobstore *bs;
	uint8_t a[100], b[250], c[70];
	uint64_t bytes, count, removed, removed_bytes;
	fl_hash ha, hb, hc;
	uint8_t *p;
	size_t n;

	fill(a, sizeof(a), 5);
	fill(b, sizeof(b), 6);
	fill(c, sizeof(c), 7);
	cr_assert_eq(node_blobstore_open(&bs, dir, 0), FL_OK);
	cr_assert_eq(node_blobstore_put(bs, a, sizeof(a), &ha), FL_OK);
	cr_assert_eq(node_blobstore_put(bs, b, sizeof(b), &hb), FL_OK);
	cr_assert_eq(node_blobstore_put(bs, c, sizeof(c), &hc), FL_OK);
	/* Everything is newer than the epoch's second 1: nothing goes. */
	cr_assert_eq(node_blobstore_prune(bs, keep_first, &ha, 1, &removed, &removed_bytes), FL_OK);
	cr_assert_eq(removed, 0);
	/* Older than a minute from now: all but the kept one go. */
	cr_assert_eq(node_blobstore_prune(bs, keep_first, &ha, (int64_t)time(NULL) + 60, &removed,
					  &removed_bytes),
		     FL_OK);
	cr_assert_eq(removed, 2);
	cr_assert_eq(removed_bytes, 320);
	node_blobstore_usage(bs, &bytes, &count);
	cr_assert_eq(bytes, 100);
	cr_assert_eq(count, 1);
	cr_assert_eq(node_blobstore_get(bs, &ha, &p, &n), FL_OK);
	fl_free(p);
	cr_assert_eq(node_blobstore_get(bs, &hb, &p, &n), FL_ENOTFOUND);
	cr_assert_eq(node_blobstore_size(bs, &hc, &bytes), FL_ENOTFOUND);
	/* A pruned blob can be stored again. */
	cr_assert_eq(node_blobstore_put(bs, b, sizeof(b), NULL), FL_OK);
	node_blobstore_usage(bs, &bytes, &count);
	cr_assert_eq(count, 2);
	node_blobstore_close(bs);
}
