/*
 * node/blobstore.c — the content-addressed blob store (node/blobstore.h):
 * dir/XX/HEX64 files written through a temp file, fsync, rename and a
 * directory fsync, read by range or whole and hashed again.
 */
#include "node/blobstore.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_PREFIX ".tmp-"

struct node_blobstore {
	uint64_t max;
	atomic_ulong tmp_seq; /* temp names unique within this process */
	/* What is stored: counted at open, then by each put that added a
	 * blob and each prune that removed one (/metrics). */
	atomic_ullong bytes, count;
	size_t dir_len;
	char dir[]; /* NUL-terminated */
};

/* The longest name under dir: "/XX/.tmp-" HEX64 "-" pid "-" seq. */
#define NAME_MAX_LEN (4 + sizeof(TMP_PREFIX) + FL_HASH_HEX_LEN + 2 * 21 + 2)

static int errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return FL_ENOTFOUND;
	case ENOMEM:
		return FL_ENOMEM;
	default:
		return FL_EIO;
	}
}

/* dir/XX and dir/XX/HEX64 for h (the hex is ours: lowercase, 64 digits). */
static void blob_paths(const node_blobstore *bs, const fl_hash *h, char *sub, size_t sub_cap,
		       char *file, size_t file_cap)
{
	char hex[FL_HASH_HEX_LEN + 1];

	fl_hash_to_hex(hex, h);
	if (sub != NULL)
		snprintf(sub, sub_cap, "%s/%.2s", bs->dir, hex);
	if (file != NULL)
		snprintf(file, file_cap, "%s/%.2s/%s", bs->dir, hex, hex);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return FL_EIO;
	rc = fsync(fd) == 0 ? FL_OK : FL_EIO;
	close(fd);
	return rc;
}

/* Two lowercase hex digits: the only subdirectory names the store makes. */
static int is_fanout(const char *name)
{
	static const char digits[] = "0123456789abcdef";

	return strlen(name) == 2 && strchr(digits, name[0]) != NULL &&
	       strchr(digits, name[1]) != NULL;
}

/* 64 lowercase hex digits: a blob's name (fl_hash_to_hex). */
static int is_blob_name(const char *name, fl_hash *h)
{
	if (strlen(name) != FL_HASH_HEX_LEN)
		return 0;
	for (const char *c = name; *c != '\0'; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return 0;
	return fl_hash_from_hex(h, name) == FL_OK;
}

/*
 * Visits every file of the fanout directories: fn(ctx, subdir, name, st)
 * returns 0 to go on. Temp files left by a crash between create and rename
 * are never a blob, so open removes them through this walk (nothing else
 * would ever do it).
 */
typedef int (*walk_fn)(void *ctx, DIR *sub, const char *name, const struct stat *st);

static int walk(const char *dir, walk_fn fn, void *ctx)
{
	char path[4096];
	struct dirent *e;
	DIR *top, *sub;
	int rc = FL_OK;

	if ((top = opendir(dir)) == NULL)
		return FL_EIO;
	while (rc == FL_OK && (e = readdir(top)) != NULL) {
		struct dirent *f;

		if (!is_fanout(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((sub = opendir(path)) == NULL)
			continue;
		while (rc == FL_OK && (f = readdir(sub)) != NULL) {
			struct stat st;

			if (f->d_name[0] == '.' && strncmp(f->d_name, TMP_PREFIX,
							   strlen(TMP_PREFIX)) != 0)
				continue;
			if (fstatat(dirfd(sub), f->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			rc = fn(ctx, sub, f->d_name, &st);
		}
		closedir(sub);
	}
	closedir(top);
	return rc;
}

static int open_visit(void *ctx, DIR *sub, const char *name, const struct stat *st)
{
	node_blobstore *bs = ctx;
	fl_hash h;

	if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
		(void)unlinkat(dirfd(sub), name, 0);
	else if (is_blob_name(name, &h)) {
		atomic_fetch_add(&bs->bytes, (unsigned long long)st->st_size);
		atomic_fetch_add(&bs->count, 1);
	}
	return FL_OK;
}

int node_blobstore_open(node_blobstore **out, const char *dir, uint64_t max_blob_bytes)
{
	node_blobstore *bs;
	struct stat st;
	size_t len;
	int rc;

	assert(out != NULL && dir != NULL);
	*out = NULL;
	len = strlen(dir);
	/* Room for the longest name under it in a PATH_MAX buffer. */
	if (len == 0 || len > 4096 - NAME_MAX_LEN)
		return FL_EIO;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return FL_EIO;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return FL_EIO;
	if ((bs = fl_calloc(1, sizeof(*bs) + len + 1)) == NULL)
		return FL_ENOMEM;
	bs->max = max_blob_bytes != 0 ? max_blob_bytes : NODE_BLOBSTORE_DEFAULT_MAX;
	atomic_init(&bs->tmp_seq, 0);
	atomic_init(&bs->bytes, 0);
	atomic_init(&bs->count, 0);
	bs->dir_len = len;
	memcpy(bs->dir, dir, len + 1);
	if ((rc = walk(dir, open_visit, bs)) != FL_OK) {
		fl_free(bs);
		return rc;
	}
	*out = bs;
	return FL_OK;
}

void node_blobstore_close(node_blobstore *bs)
{
	fl_free(bs);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t put = write(fd, p, n);

		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0)
			return FL_EIO;
		p += put;
		n -= (size_t)put;
	}
	return FL_OK;
}

/* The new subdirectory's own entry must be durable too before a blob in it
 * counts as stored. */
static int make_fanout(const node_blobstore *bs, const char *sub)
{
	if (mkdir(sub, 0700) == 0)
		return fsync_dir(bs->dir);
	return errno == EEXIST ? FL_OK : FL_EIO;
}

int node_blobstore_put(node_blobstore *bs, const void *p, size_t n, fl_hash *hash)
{
	char sub[4096], file[4096], tmp[4096], hex[FL_HASH_HEX_LEN + 1];
	struct stat st;
	int fd = -1, rc;
	fl_hash h;

	assert(bs != NULL && (p != NULL || n == 0));
	if (hash != NULL)
		memset(hash, 0, sizeof(*hash));
	if ((uint64_t)n > bs->max)
		return FL_ETOOBIG;
	fl_sha256(&h, p, n);
	if (hash != NULL)
		*hash = h;
	blob_paths(bs, &h, sub, sizeof(sub), file, sizeof(file));
	/* Same name, same size: the same bytes, short of damage on disk,
	 * which node_blobstore_get finds. */
	int damaged = stat(file, &st) == 0 && S_ISREG(st.st_mode);
	if (damaged && (uint64_t)st.st_size == n)
		return FL_OK;
	if ((rc = make_fanout(bs, sub)) != FL_OK)
		return rc;
	fl_hash_to_hex(hex, &h);
	/* open checked dir's length, so this always fits. */
	if (snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "%s-%ld-%lu", sub, hex, (long)getpid(),
		     atomic_fetch_add(&bs->tmp_seq, 1)) >= (int)sizeof(tmp))
		return FL_EIO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return FL_EIO;
	if ((rc = write_all(fd, p, n)) != FL_OK)
		goto cleanup;
	if (fsync(fd) != 0) {
		rc = FL_EIO;
		goto cleanup;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = FL_EIO;
		goto cleanup;
	}
	fd = -1;
	if (damaged) {
		/* A file of the wrong size under the name: these bytes repair it,
		 * and the blob was counted already. */
		if (rename(tmp, file) != 0) {
			rc = FL_EIO;
			goto cleanup;
		}
		atomic_fetch_add(&bs->bytes, (unsigned long long)n);
		atomic_fetch_sub(&bs->bytes, (unsigned long long)st.st_size);
		return fsync_dir(sub);
	}
	/* No replace: when another put of the same blob got there first its
	 * file stands (the same bytes) and is counted once. */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, file, RENAME_NOREPLACE) != 0) {
		rc = errno == EEXIST ? FL_OK : FL_EIO;
		goto cleanup;
	}
	atomic_fetch_add(&bs->bytes, (unsigned long long)n);
	atomic_fetch_add(&bs->count, 1);
	return fsync_dir(sub);

cleanup:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* The blob's file, open for reading, and its size. */
static int open_blob(const node_blobstore *bs, const fl_hash *h, int *fd, uint64_t *size)
{
	char file[4096];
	struct stat st;

	blob_paths(bs, h, NULL, 0, file, sizeof(file));
	*fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0)
		return errno_code(errno);
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return FL_EIO;
	}
	*size = (uint64_t)st.st_size;
	return FL_OK;
}

int node_blobstore_size(node_blobstore *bs, const fl_hash *h, uint64_t *size)
{
	int fd, rc;

	assert(bs != NULL && h != NULL && size != NULL);
	*size = 0;
	if ((rc = open_blob(bs, h, &fd, size)) != FL_OK)
		return rc;
	close(fd);
	return FL_OK;
}

static int pread_all(int fd, uint8_t *out, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t got = pread(fd, out, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return FL_EIO;
		out += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return FL_OK;
}

int node_blobstore_read(node_blobstore *bs, const fl_hash *h, uint64_t off, uint8_t *out, size_t n)
{
	uint64_t size;
	int fd, rc;

	assert(bs != NULL && h != NULL && (out != NULL || n == 0));
	if ((rc = open_blob(bs, h, &fd, &size)) != FL_OK)
		return rc;
	if (off > size || (uint64_t)n > size - off)
		rc = FL_EINVAL;
	else
		rc = pread_all(fd, out, n, off);
	close(fd);
	return rc;
}

int node_blobstore_get(node_blobstore *bs, const fl_hash *h, uint8_t **p, size_t *n)
{
	uint8_t *buf = NULL;
	uint64_t size;
	fl_hash got;
	int fd, rc;

	assert(bs != NULL && h != NULL && p != NULL && n != NULL);
	*p = NULL;
	*n = 0;
	if ((rc = open_blob(bs, h, &fd, &size)) != FL_OK)
		return rc;
	/* put never stores one over the cap: a larger file is not ours. */
	if (size > bs->max || size > SIZE_MAX - 1) {
		rc = FL_ECORRUPT;
		goto cleanup;
	}
	if ((buf = fl_malloc(size != 0 ? (size_t)size : 1)) == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	if ((rc = pread_all(fd, buf, (size_t)size, 0)) != FL_OK)
		goto cleanup;
	fl_sha256(&got, buf, (size_t)size);
	if (fl_hash_cmp(&got, h) != 0) {
		rc = FL_ECORRUPT;
		goto cleanup;
	}
	*p = buf;
	*n = (size_t)size;
	buf = NULL;

cleanup:
	fl_free(buf);
	close(fd);
	return rc;
}

void node_blobstore_usage(node_blobstore *bs, uint64_t *bytes, uint64_t *count)
{
	assert(bs != NULL);
	if (bytes != NULL)
		*bytes = atomic_load(&bs->bytes);
	if (count != NULL)
		*count = atomic_load(&bs->count);
}

typedef struct {
	node_blobstore *bs;
	node_blobstore_keep_fn keep;
	void *ctx;
	int64_t older_than; /* mtime, seconds: newer files stay */
	uint64_t removed, removed_bytes;
} prune_ctx;

static int prune_visit(void *ctx, DIR *sub, const char *name, const struct stat *st)
{
	prune_ctx *pc = ctx;
	fl_hash h;

	if (!is_blob_name(name, &h) || (int64_t)st->st_mtime >= pc->older_than ||
	    pc->keep(pc->ctx, &h))
		return FL_OK;
	if (unlinkat(dirfd(sub), name, 0) != 0)
		return FL_OK; /* gone already, or not ours to remove: the next prune sees it */
	atomic_fetch_sub(&pc->bs->bytes, (unsigned long long)st->st_size);
	atomic_fetch_sub(&pc->bs->count, 1);
	pc->removed++;
	pc->removed_bytes += (uint64_t)st->st_size;
	return FL_OK;
}

int node_blobstore_prune(node_blobstore *bs, node_blobstore_keep_fn keep, void *ctx,
			 int64_t older_than, uint64_t *removed, uint64_t *removed_bytes)
{
	prune_ctx pc = {bs, keep, ctx, older_than, 0, 0};
	int rc;

	assert(bs != NULL && keep != NULL);
	rc = walk(bs->dir, prune_visit, &pc);
	if (removed != NULL)
		*removed = pc.removed;
	if (removed_bytes != NULL)
		*removed_bytes = pc.removed_bytes;
	return rc;
}
