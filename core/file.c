/* core/file.c — whole-file reads with a size cap, and crash-safe writes. */
#include "core/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return FL_ENOTFOUND;
	case EEXIST:
		return FL_EEXIST;
	case ENOMEM:
		return FL_ENOMEM;
	default:
		return FL_EIO;
	}
}

/* read() that retries on EINTR. */
static ssize_t read_some(int fd, void *p, size_t n)
{
	ssize_t got;

	do
		got = read(fd, p, n);
	while (got < 0 && errno == EINTR);
	return got;
}

int fl_file_read(const char *path, uint8_t **out, size_t *n, size_t max)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap;
	struct stat st;
	ssize_t got;
	int fd, rc;

	assert(path != NULL && out != NULL && n != NULL);
	*out = NULL;
	*n = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno_code(errno);
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		rc = FL_EIO;
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		rc = FL_ETOOBIG;
		goto cleanup;
	}
	/* st_size is only a hint (0 for pipes and /proc; the file may grow as we
	 * read), so the buffer grows as needed, but never past max: what we
	 * allocate is bounded by the cap, not by what the file claims. */
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 4096;
	if (cap > max)
		cap = max;
	/* One spare byte for a NUL, so text files can be parsed in place. */
	buf = fl_malloc(cap + 1);
	if (buf == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *grown;
			if (cap == max) {
				/* Full at the cap: one more byte means too big. */
				uint8_t probe;
				got = read_some(fd, &probe, 1);
				if (got != 0) {
					rc = got < 0 ? FL_EIO : FL_ETOOBIG;
					goto cleanup;
				}
				break;
			}
			cap = cap > max / 2 ? max : cap * 2;
			grown = fl_realloc(buf, cap + 1);
			if (grown == NULL) {
				rc = FL_ENOMEM;
				goto cleanup;
			}
			buf = grown;
		}
		got = read_some(fd, buf + len, cap - len);
		if (got < 0) {
			rc = FL_EIO;
			goto cleanup;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	buf[len] = 0;
	*out = buf;
	*n = len;
	buf = NULL;
	rc = FL_OK;

cleanup:
	fl_free(buf);
	close(fd);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t put = write(fd, p, n);
		if (put < 0 && errno == EINTR)
			continue;
		if (put < 0)
			return FL_EIO;
		p += put;
		n -= (size_t)put;
	}
	return FL_OK;
}

/* A rename or link is durable only once the directory itself is synced. */
static int fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = FL_OK;

	if (slash == NULL) {
		dir = fl_strdup(".");
	} else {
		/* "/x" lives in "/", so keep the slash when it is the first char. */
		size_t len = slash == path ? 1 : (size_t)(slash - path);
		dir = fl_malloc(len + 1);
		if (dir != NULL) {
			memcpy(dir, path, len);
			dir[len] = 0;
		}
	}
	if (dir == NULL)
		return FL_ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = FL_EIO;
	if (fd >= 0)
		close(fd);
	fl_free(dir);
	return rc;
}

int fl_file_write_atomic_ex(const char *path, const void *p, size_t n, unsigned mode, int overwrite)
{
	static const char suffix[] = ".tmp-XXXXXX";
	size_t plen;
	char *tmp = NULL;
	int fd = -1, rc, placed = 0;

	assert(path != NULL && (p != NULL || n == 0));
	plen = strlen(path);
	tmp = fl_malloc(plen + sizeof(suffix));
	if (tmp == NULL)
		return FL_ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, suffix, sizeof(suffix));

	/* mkostemp creates the file 0600, so a secret is never visible to others
	 * even before the fchmod below sets the exact mode asked for. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = errno_code(errno);
		fl_free(tmp);
		return rc;
	}
	if (fchmod(fd, (mode_t)mode) != 0) {
		rc = FL_EIO;
		goto cleanup;
	}
	if ((rc = write_all(fd, p, n)) != 0)
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
	if (overwrite ? rename(tmp, path) : link(tmp, path)) {
		rc = errno_code(errno);
		goto cleanup;
	}
	placed = 1;
	rc = fsync_parent(path);

cleanup:
	if (fd >= 0)
		close(fd);
	/* After link() the temp name is a second name for the file and goes;
	 * after rename() it no longer exists. */
	if (!placed || !overwrite)
		unlink(tmp);
	fl_free(tmp);
	return rc;
}

int fl_file_write_atomic(const char *path, const void *p, size_t n, unsigned mode)
{
	return fl_file_write_atomic_ex(path, p, n, mode, 1);
}
