/*
 * node/wal_open.c — opening the WAL: the directory, its lock, the list of
 * numbered files, and the check of every record, which cuts a torn tail
 * off the head and refuses damage anywhere else (docs/wal.md).
 */
#include "node/wal_impl.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory just made is durable only once its parent is synced. */
static int sync_parent(const char *dir)
{
	const char *slash = strrchr(dir, '/');
	char *parent;
	int fd, rc = FL_OK;

	if (slash == NULL)
		parent = fl_strdup(".");
	else if (slash == dir)
		parent = fl_strdup("/");
	else if ((parent = fl_malloc((size_t)(slash - dir) + 1)) != NULL) {
		memcpy(parent, dir, (size_t)(slash - dir));
		parent[slash - dir] = 0;
	}
	if (parent == NULL)
		return FL_ENOMEM;
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = FL_EIO;
	if (fd >= 0)
		close(fd);
	fl_free(parent);
	return rc;
}

/* 1 and the index if name is exactly "NNNNNNNNNN.wal" with a u32 index. */
static int parse_name(const char *name, uint32_t *index)
{
	uint64_t v = 0;

	if (strlen(name) != WAL_NAME_LEN || strcmp(name + 10, ".wal") != 0)
		return 0;
	for (int i = 0; i < 10; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (v > UINT32_MAX)
		return 0;
	*index = (uint32_t)v;
	return 1;
}

static int cmp_index(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The log's file indices, sorted; other names (LOCK) are not ours. */
static int list_files(node_wal *w, uint32_t **out, uint32_t *n)
{
	uint32_t *idx = NULL, count = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd, rc = FL_OK;

	*out = NULL;
	*n = 0;
	if ((fd = dup(w->dir_fd)) < 0)
		return FL_EIO;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return FL_EIO;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		uint32_t index;
		if (!parse_name(de->d_name, &index))
			continue;
		if (count == WAL_MAX_FILES) {
			fl_log(FL_LOG_ERROR, WAL_LOG, "%s: more than %u log files", w->dir,
			       WAL_MAX_FILES);
			rc = FL_ECORRUPT;
			goto cleanup;
		}
		if (count == cap) {
			uint32_t *grown;
			cap = cap ? cap * 2 : 16;
			if ((grown = fl_realloc(idx, (size_t)cap * sizeof(*idx))) == NULL) {
				rc = FL_ENOMEM;
				goto cleanup;
			}
			idx = grown;
		}
		idx[count++] = index;
	}
	if (errno != 0) {
		rc = FL_EIO;
		goto cleanup;
	}
	if (count > 1)
		qsort(idx, count, sizeof(*idx), cmp_index);
	*out = idx;
	*n = count;
	idx = NULL;

cleanup:
	fl_free(idx);
	closedir(d);
	return rc;
}

/*
 * Reads every record of one file, keeping its markers. At the first bad
 * record the head is cut there (a crash in the middle of an unsynced
 * append); any other file was synced whole before its successor was made,
 * so a bad record in it is damage, and refused.
 */
static int scan_file(node_wal *w, wal_file *f, int fd, int is_head)
{
	char name[WAL_NAME_LEN + 1];
	node_wal_record rec;
	struct stat st;
	wal_reader r;
	uint64_t at = 0;
	int rc;

	node__wal_file_name(name, f->index);
	if (fstat(fd, &st) != 0)
		return FL_EIO;
	node__wal_reader_init(&r, fd, (uint64_t)st.st_size);
	for (;;) {
		at = r.off;
		if ((rc = node__wal_reader_next(&r, &rec)) != FL_OK)
			break;
		if (rec.type != NODE_WAL_END_HEIGHT)
			continue;
		uint64_t h = node__wal_get_u64(rec.payload);
		if (w->has_marker && h <= w->last_height) {
			rc = FL_ECORRUPT; /* markers only grow */
			break;
		}
		if (!f->has_marker)
			f->first_marker = h;
		f->has_marker = 1;
		f->last_marker = h;
		w->has_marker = 1;
		w->last_height = h;
	}
	node__wal_reader_free(&r);
	f->size = at;
	if (rc == WAL_END)
		return FL_OK;
	if (rc != FL_ETRUNC && rc != FL_ECORRUPT)
		return rc;
	if (!is_head) {
		fl_log(FL_LOG_ERROR, WAL_LOG, "%s/%s: %s record at offset %llu of a closed file",
		       w->dir, name, rc == FL_ETRUNC ? "truncated" : "corrupt",
		       (unsigned long long)at);
		return FL_ECORRUPT;
	}
	fl_log(FL_LOG_WARN, WAL_LOG, "%s/%s: %s record at offset %llu: cutting %llu bytes", w->dir,
	       name, rc == FL_ETRUNC ? "truncated" : "corrupt", (unsigned long long)at,
	       (unsigned long long)((uint64_t)st.st_size - at));
	if (ftruncate(fd, (off_t)at) != 0 || fdatasync(fd) != 0)
		return FL_EIO;
	return FL_OK;
}

static int open_dir(node_wal *w)
{
	int created = 0, rc;

	if (mkdir(w->dir, 0700) == 0)
		created = 1;
	else if (errno != EEXIST)
		return errno == ENOENT || errno == ENOTDIR ? FL_ENOTFOUND : FL_EIO;
	if (created && (rc = sync_parent(w->dir)) != FL_OK)
		return rc;
	w->dir_fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dir_fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? FL_ENOTFOUND : FL_EIO;
	/* Two processes appending to one log would interleave records; the
	 * lock goes with the descriptor, so a crash releases it. */
	w->lock_fd = openat(w->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (w->lock_fd < 0)
		return FL_EIO;
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			fl_log(FL_LOG_ERROR, WAL_LOG, "%s: in use by another process", w->dir);
			return FL_EEXIST;
		}
		return FL_EIO;
	}
	return FL_OK;
}

/* Opens and checks the files idx[0..n) (n >= 1), leaving the head open. */
static int load_files(node_wal *w, const uint32_t *idx, uint32_t n)
{
	int rc;

	w->cap_files = n < 4 ? 4 : n;
	if ((w->files = fl_calloc(w->cap_files, sizeof(*w->files))) == NULL)
		return FL_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		char name[WAL_NAME_LEN + 1];
		int is_head = i == n - 1, fd;

		/* A gap is a lost file: pruning removes the oldest first. */
		if (idx[i] != idx[0] + i) {
			node__wal_file_name(name, idx[0] + i);
			fl_log(FL_LOG_ERROR, WAL_LOG, "%s/%s: missing", w->dir, name);
			return FL_ECORRUPT;
		}
		node__wal_file_name(name, idx[i]);
		fd = openat(w->dir_fd, name, (is_head ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0)
			return FL_EIO;
		w->files[i].index = idx[i];
		w->n_files = i + 1;
		rc = scan_file(w, &w->files[i], fd, is_head);
		if (is_head && rc == FL_OK)
			w->head_fd = fd;
		else
			close(fd);
		if (rc != FL_OK)
			return rc;
	}
	return FL_OK;
}

/* The first file of a new log, made durable in the directory. */
static int create_first(node_wal *w)
{
	char name[WAL_NAME_LEN + 1];
	int fd;

	node__wal_file_name(name, 0);
	fd = openat(w->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return FL_EIO;
	close(fd);
	return node__wal_sync_dir(w);
}

int node_wal_open(node_wal **out, const char *dir, const node_wal_options *opt)
{
	static const uint32_t first = 0;
	uint32_t *idx = NULL, n = 0;
	node_wal *w;
	int rc;

	assert(out != NULL && dir != NULL);
	*out = NULL;
	if ((w = fl_calloc(1, sizeof(*w))) == NULL)
		return FL_ENOMEM;
	w->dir_fd = w->lock_fd = w->head_fd = -1;
	w->max_file = NODE_WAL_FILE_DEFAULT;
	w->max_record = NODE_WAL_RECORD_MAX;
	if (opt != NULL && opt->max_file_bytes != 0)
		w->max_file = opt->max_file_bytes;
	if (opt != NULL && opt->max_record_bytes != 0 && opt->max_record_bytes < w->max_record)
		w->max_record = opt->max_record_bytes;
	if (w->max_file < NODE_WAL_HEADER_LEN + 8) {
		rc = FL_EINVAL;
		goto cleanup;
	}
	if ((w->dir = fl_strdup(dir)) == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	if ((rc = open_dir(w)) != FL_OK)
		goto cleanup;
	if ((rc = list_files(w, &idx, &n)) != FL_OK)
		goto cleanup;
	if (n == 0 && (rc = create_first(w)) != FL_OK)
		goto cleanup;
	if ((rc = load_files(w, n == 0 ? &first : idx, n == 0 ? 1 : n)) != FL_OK)
		goto cleanup;
	/* Nothing survived (a new log, or a crash before its first marker was
	 * synced): start from the end of height 0 like any new log. */
	if (!w->has_marker && w->n_files == 1 && w->files[0].size == 0 &&
	    (rc = node_wal_end_height(w, 0)) != FL_OK)
		goto cleanup;
	*out = w;
	w = NULL;

cleanup:
	fl_free(idx);
	if (w != NULL) {
		w->failed = 1; /* nothing to sync: close only releases */
		(void)node_wal_close(w);
	}
	return rc;
}
