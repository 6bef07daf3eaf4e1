/*
 * The allocator hook, and curl-style torture: rerun an encode/decode loop
 * failing allocation N for every N until it succeeds. Each run must fail
 * cleanly with FL_ENOMEM; ASan (make asan) proves nothing leaks.
 */
#include "core/core.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Test(alloc, hook_counts_and_fails)
{
	void *a, *b, *c;

	fl_alloc_fail_after(0);
	a = fl_malloc(8);
	b = fl_calloc(2, 8);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_eq(fl_alloc_fail_after(2), 2);
	c = fl_malloc(1);
	cr_assert_not_null(c);
	cr_assert_null(fl_malloc(1));
	cr_assert_null(fl_realloc(c, 100));
	cr_assert_null(fl_strdup("x"));
	cr_assert_eq(fl_alloc_fail_after(0), 4);
	char *s = fl_strdup("hello");
	cr_assert_str_eq(s, "hello");
	fl_free(s);
	fl_free(a);
	fl_free(b);
	fl_free(c);
	fl_free(NULL);
}

Test(alloc, zero_sizes_are_not_failures)
{
	void *a = fl_malloc(0), *b = fl_calloc(0, 4);

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	fl_free(a);
	fl_free(b);
}

Test(alloc, calloc_overflow)
{
	cr_assert_null(fl_calloc(SIZE_MAX / 2, 4));
}

Test(alloc, wipe)
{
	uint8_t secret[16];

	memset(secret, 0x5a, sizeof(secret));
	fl_wipe(secret, sizeof(secret));
	for (size_t i = 0; i < sizeof(secret); i++)
		cr_assert_eq(secret[i], 0);
	fl_wipe(NULL, 0);
}

/* A small record with owned parts, decoded into heap memory the way chain/
 * types are: names are fl_strdup'd, the list is fl_calloc'd. */
struct record {
	uint64_t id;
	size_t n_names;
	char **names;
	fl_hash root;
};

static void record_free(struct record *rec)
{
	if (rec->names != NULL) {
		for (size_t i = 0; i < rec->n_names; i++)
			fl_free(rec->names[i]);
	}
	fl_free(rec->names);
	memset(rec, 0, sizeof(*rec));
}

#define MAX_NAMES 16
#define MAX_NAME  32

static int record_decode(struct record *rec, const uint8_t *p, size_t len)
{
	fl_reader r;
	char name[MAX_NAME + 1];
	fl_hash *leaves = NULL;
	int rc;

	memset(rec, 0, sizeof(*rec));
	fl_reader_init(&r, p, len);
	fl_read_varint(&r, &rec->id);
	if ((rc = fl_read_count(&r, &rec->n_names, MAX_NAMES)) != FL_OK)
		goto cleanup;
	rec->names = fl_calloc(rec->n_names, sizeof(*rec->names));
	if (rec->names == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	leaves = fl_calloc(rec->n_names, sizeof(*leaves));
	if (leaves == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < rec->n_names; i++) {
		if ((rc = fl_read_str(&r, name, MAX_NAME)) != FL_OK)
			goto cleanup;
		rec->names[i] = fl_strdup(name);
		if (rec->names[i] == NULL) {
			rc = FL_ENOMEM;
			goto cleanup;
		}
		fl_sha256(&leaves[i], name, strlen(name));
	}
	if ((rc = fl_reader_finish(&r)) != FL_OK)
		goto cleanup;
	rc = fl_merkle_root(&rec->root, leaves, rec->n_names);

cleanup:
	fl_free(leaves);
	if (rc != FL_OK)
		record_free(rec);
	return rc;
}

static int record_encode(const struct record *rec, uint8_t **out, size_t *len)
{
	fl_writer w;
	int rc;

	fl_writer_init(&w, 1 << 16);
	fl_write_varint(&w, rec->id);
	fl_write_varint(&w, rec->n_names);
	for (size_t i = 0; i < rec->n_names; i++)
		fl_write_str(&w, rec->names[i], MAX_NAME);
	if ((rc = fl_writer_finish(&w)) != FL_OK) {
		fl_writer_free(&w);
		return rc;
	}
	*out = w.buf;
	*len = w.len;
	return FL_OK;
}

/* Build → encode → decode → re-encode → compare, plus an incremental hash. */
static int round_trip(void)
{
	static const char *const names[] = {"alice", "bob", "carol", "dave", "erin"};
	struct record rec = {0}, back = {0};
	uint8_t *enc = NULL, *enc2 = NULL;
	size_t len, len2;
	fl_sha256_ctx *ctx = NULL;
	fl_hash h;
	int rc;

	rec.id = 1234567;
	rec.n_names = FL_ARRAY_LEN(names);
	rec.names = fl_calloc(rec.n_names, sizeof(*rec.names));
	if (rec.names == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < rec.n_names; i++) {
		if ((rec.names[i] = fl_strdup(names[i])) == NULL) {
			rc = FL_ENOMEM;
			goto cleanup;
		}
	}
	if ((rc = record_encode(&rec, &enc, &len)) != FL_OK)
		goto cleanup;
	if ((rc = record_decode(&back, enc, len)) != FL_OK)
		goto cleanup;
	if ((rc = record_encode(&back, &enc2, &len2)) != FL_OK)
		goto cleanup;
	cr_assert_eq(len, len2);
	cr_assert_arr_eq(enc, enc2, len);
	cr_assert_eq(back.id, rec.id);
	if ((rc = fl_sha256_init(&ctx)) != FL_OK)
		goto cleanup;
	fl_sha256_update(ctx, enc, len);
	fl_sha256_final(ctx, &h);

cleanup:
	record_free(&rec);
	record_free(&back);
	fl_free(enc);
	fl_free(enc2);
	return rc;
}

Test(alloc, torture_encode_decode)
{
	unsigned long n, made = 0;
	int rc;

	/* Count the allocations of one clean run first. */
	fl_alloc_fail_after(0);
	cr_assert_eq(round_trip(), FL_OK);
	made = fl_alloc_fail_after(0);
	cr_assert_gt(made, 5);

	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = round_trip();
		unsigned long used = fl_alloc_fail_after(0);
		if (rc == FL_OK) {
			/* Success only once no allocation was made to fail. */
			cr_assert_lt(used, n);
			break;
		}
		cr_assert_eq(rc, FL_ENOMEM, "fail at %lu: %s", n, fl_strerror(rc));
		cr_assert_leq(n, made, "failure injected past the last allocation");
	}
	cr_assert_eq(n, made + 1);
}

Test(alloc, torture_file_read)
{
	char path[] = "/tmp/fl-alloc-XXXXXX";
	uint8_t data[10000];
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	memset(data, 'q', sizeof(data));
	cr_assert_eq(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	close(fd);
	for (unsigned long n = 1;; n++) {
		uint8_t *buf;
		size_t len;
		fl_alloc_fail_after(n);
		int rc = fl_file_read(path, &buf, &len, 1 << 20);
		fl_alloc_fail_after(0);
		if (rc == FL_OK) {
			cr_assert_eq(len, sizeof(data));
			fl_free(buf);
			break;
		}
		cr_assert_eq(rc, FL_ENOMEM);
		cr_assert_null(buf);
		cr_assert_lt(n, 10);
	}
	unlink(path);
}
