/*
 * node/wal.c — writing the WAL: append, group-commit sync, rotation into
 * numbered files, end-of-height markers, pruning and close. Opening and
 * the repair of a torn tail are in wal_open.c, reading back in
 * wal_replay.c; the durability argument is in docs/wal.md.
 */
#include "node/wal_impl.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

void node__wal_file_name(char out[WAL_NAME_LEN + 1], uint32_t index)
{
	snprintf(out, WAL_NAME_LEN + 1, "%010u.wal", index);
}

int node__wal_sync_dir(node_wal *w)
{
	return fsync(w->dir_fd) == 0 ? FL_OK : FL_EIO;
}

static wal_file *head(node_wal *w)
{
	return &w->files[w->n_files - 1];
}

/* After a failed write, fsync or directory sync the kernel's view of the
 * file is not what we think it is (a failed fsync may have dropped dirty
 * pages for good): only a reopen, which reads what is really there, may
 * write again. */
static int fail(node_wal *w, int rc)
{
	if (!w->failed)
		fl_log(FL_LOG_ERROR, WAL_LOG, "%s: %s; the log refuses writes until reopened",
		       w->dir, fl_strerror(rc));
	w->failed = 1;
	return rc;
}

int node_wal_sync(node_wal *w)
{
	struct timespec t0, t1;

	assert(w != NULL);
	if (w->failed)
		return FL_EIO;
	if (!w->dirty)
		return FL_OK;
	/* fdatasync is enough for an append: it writes the size change too,
	 * which reading the data back needs; only timestamps stay behind. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fdatasync(w->head_fd) != 0)
		return fail(w, FL_EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	w->dirty = 0;
	w->stats.syncs++;
	w->stats.sync_ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec -
			    (uint64_t)t0.tv_nsec;
	return FL_OK;
}

void node_wal_get_stats(const node_wal *w, node_wal_stats *out)
{
	assert(w != NULL && out != NULL);
	*out = w->stats;
}

/* Closes the head (synced whole, so an older file never has a torn tail)
 * and starts the next file, made durable by a directory sync before
 * anything is written to it. */
static int rotate(node_wal *w)
{
	char name[WAL_NAME_LEN + 1];
	wal_file *f;
	int fd, rc;

	if (head(w)->index == UINT32_MAX || w->n_files == WAL_MAX_FILES)
		return FL_ETOOBIG;
	if ((rc = node_wal_sync(w)) != FL_OK)
		return rc;
	if (w->n_files == w->cap_files) {
		uint32_t cap = w->cap_files * 2;
		wal_file *grown = fl_realloc(w->files, (size_t)cap * sizeof(*grown));
		if (grown == NULL)
			return FL_ENOMEM;
		w->files = grown;
		w->cap_files = cap;
	}
	node__wal_file_name(name, head(w)->index + 1);
	fd = openat(w->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(w, FL_EIO);
	if ((rc = node__wal_sync_dir(w)) != FL_OK) {
		close(fd);
		return fail(w, rc);
	}
	f = &w->files[w->n_files];
	memset(f, 0, sizeof(*f));
	f->index = head(w)->index + 1;
	w->n_files++;
	close(w->head_fd);
	w->head_fd = fd;
	w->stats.rotations++;
	return FL_OK;
}

static int write_record(node_wal *w, uint8_t type, const void *payload, uint32_t len)
{
	uint8_t hdr[NODE_WAL_HEADER_LEN];
	struct iovec iov[2];
	uint64_t start, total = NODE_WAL_HEADER_LEN + (uint64_t)len, done = 0;
	wal_file *f;
	int rc;

	if (w->failed)
		return FL_EIO;
	if (head(w)->size > 0 && head(w)->size + total > w->max_file)
		if ((rc = rotate(w)) != FL_OK)
			return rc;
	f = head(w);
	start = f->size;
	node__wal_header_encode(hdr, type, payload, len);
	while (done < total) {
		ssize_t n;
		int i = 0;
		if (done < NODE_WAL_HEADER_LEN) {
			iov[i].iov_base = hdr + done;
			iov[i++].iov_len = NODE_WAL_HEADER_LEN - (size_t)done;
			iov[i].iov_base = (void *)(uintptr_t)payload;
			iov[i++].iov_len = len;
		} else {
			iov[i].iov_base =
			    (uint8_t *)(uintptr_t)payload + (done - NODE_WAL_HEADER_LEN);
			iov[i++].iov_len = (size_t)(total - done);
		}
		n = pwritev(w->head_fd, iov, i, (off_t)(start + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Half a record must not stay in front of the next one: a
			 * reopen would cut there and lose every later record. */
			if (ftruncate(w->head_fd, (off_t)start) != 0)
				return fail(w, FL_EIO);
			return FL_EIO;
		}
		done += (uint64_t)n;
	}
	f->size += total;
	w->dirty = 1;
	w->stats.appends++;
	w->stats.bytes += total;
	return FL_OK;
}

int node_wal_append(node_wal *w, uint8_t type, const void *payload, size_t n)
{
	assert(w != NULL && (payload != NULL || n == 0));
	if (type == NODE_WAL_END_HEIGHT)
		return FL_EINVAL;
	if (n > w->max_record)
		return FL_ETOOBIG;
	return write_record(w, type, payload, (uint32_t)n);
}

int node_wal_end_height(node_wal *w, uint64_t height)
{
	uint8_t p[8];
	wal_file *f;
	int rc;

	assert(w != NULL);
	if (w->has_marker && height <= w->last_height)
		return FL_EINVAL;
	node__wal_put_u64(p, height);
	if ((rc = write_record(w, NODE_WAL_END_HEIGHT, p, sizeof(p))) != FL_OK)
		return rc;
	f = head(w);
	if (!f->has_marker)
		f->first_marker = height;
	f->has_marker = 1;
	f->last_marker = height;
	w->has_marker = 1;
	w->last_height = height;
	return node_wal_sync(w);
}

uint64_t node_wal_last_height(const node_wal *w)
{
	assert(w != NULL);
	return w->has_marker ? w->last_height : 0;
}

uint32_t node_wal_head_index(const node_wal *w)
{
	assert(w != NULL);
	return w->files[w->n_files - 1].index;
}

uint32_t node_wal_first_index(const node_wal *w)
{
	assert(w != NULL);
	return w->files[0].index;
}

int node_wal_prune(node_wal *w, uint64_t keep_height, unsigned *removed)
{
	uint32_t keep, i;
	int rc = FL_OK;

	assert(w != NULL);
	if (removed != NULL)
		*removed = 0;
	if (keep_height == 0)
		return FL_OK;
	/* The last file holding a marker of a height <= keep_height-1: the
	 * replay of keep_height (or of the first height after it that has a
	 * marker) starts in it, so it and everything after stays. */
	for (keep = w->n_files; keep-- > 0;)
		if (w->files[keep].has_marker && w->files[keep].first_marker <= keep_height - 1)
			break;
	if (keep == UINT32_MAX || keep == 0)
		return FL_OK;
	/* Oldest first, each removal synced before the next, so whatever a
	 * crash leaves is a numbering without a gap, which open requires
	 * (pruning is a few files a day: the syncs cost nothing that matters). */
	for (i = 0; i < keep; i++) {
		char name[WAL_NAME_LEN + 1];
		node__wal_file_name(name, w->files[i].index);
		if (unlinkat(w->dir_fd, name, 0) != 0 && errno != ENOENT) {
			rc = FL_EIO;
			break;
		}
		if ((rc = node__wal_sync_dir(w)) != FL_OK) {
			i++; /* gone from the directory, if not durably */
			break;
		}
	}
	memmove(w->files, w->files + i, (size_t)(w->n_files - i) * sizeof(*w->files));
	w->n_files -= i;
	if (removed != NULL)
		*removed = i;
	return rc;
}

int node_wal_close(node_wal *w)
{
	int rc;

	if (w == NULL)
		return FL_OK;
	rc = w->failed ? FL_EIO : node_wal_sync(w);
	if (w->head_fd >= 0)
		close(w->head_fd);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	if (w->lock_fd >= 0)
		close(w->lock_fd); /* releases the flock */
	fl_free(w->files);
	fl_free(w->dir);
	fl_free(w);
	return rc;
}
