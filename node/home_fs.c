/*
 * node/home_fs.c — the file-system steps a home is made of: paths under it,
 * directories made 0700 and synced into their parents, one-line messages.
 */
#include "node/home_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int node__home_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	assert(code < 0);
	if (err == NULL || errlen == 0)
		return code;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* A path may hold a newline; the message must stay one line. */
	for (char *p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return code;
}

int node__home_dir_set(char out[NODE_HOME_DIR_MAX + 1], const char *dir)
{
	size_t n;

	assert(dir != NULL);
	n = strnlen(dir, NODE_HOME_DIR_MAX + 1);
	if (n == 0)
		return FL_EINVAL;
	if (n > NODE_HOME_DIR_MAX)
		return FL_ETOOBIG;
	while (n > 1 && dir[n - 1] == '/')
		n--;
	memcpy(out, dir, n);
	out[n] = '\0';
	return FL_OK;
}

int node__home_path(char *out, const char *dir, const char *rel)
{
	int n;

	assert(out != NULL && dir != NULL && rel != NULL);
	if (rel[0] == '/')
		n = snprintf(out, NODE_HOME_PATH_MAX + 1, "%s", rel);
	else
		n = snprintf(out, NODE_HOME_PATH_MAX + 1, "%s%s%s", dir,
			     strcmp(dir, "/") == 0 ? "" : "/", rel);
	return n < 0 || n > NODE_HOME_PATH_MAX ? FL_ETOOBIG : FL_OK;
}

int node__home_sync_parent(const char *path)
{
	char parent[NODE_HOME_PATH_MAX + 1];
	const char *slash = strrchr(path, '/');
	int fd, rc = FL_OK;

	if (slash == NULL) {
		snprintf(parent, sizeof(parent), ".");
	} else {
		/* "/x" lives in "/". */
		size_t len = slash == path ? 1 : (size_t)(slash - path);
		if (len > NODE_HOME_PATH_MAX)
			return FL_ETOOBIG;
		memcpy(parent, path, len);
		parent[len] = '\0';
	}
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return FL_EIO;
	if (fsync(fd) != 0)
		rc = FL_EIO;
	close(fd);
	return rc;
}

int node__home_mkdir(const char *path, int *created)
{
	struct stat st;

	if (created != NULL)
		*created = 0;
	if (mkdir(path, 0700) == 0) {
		if (created != NULL)
			*created = 1;
		return node__home_sync_parent(path);
	}
	if (errno == ENOENT)
		return FL_ENOTFOUND;
	if (errno != EEXIST)
		return FL_EIO;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return FL_EEXIST;
	return FL_OK;
}

int node__home_mkdirs(const char *path)
{
	char prefix[NODE_HOME_PATH_MAX + 1];
	size_t n = strlen(path), i;
	int rc;

	if (n > NODE_HOME_PATH_MAX)
		return FL_ETOOBIG;
	memcpy(prefix, path, n + 1);
	/* Each '/' past the first character ends a parent: bounded by n. */
	for (i = 1; i < n; i++) {
		if (prefix[i] != '/' || prefix[i - 1] == '/')
			continue;
		prefix[i] = '\0';
		rc = node__home_mkdir(prefix, NULL);
		prefix[i] = '/';
		if (rc != FL_OK)
			return rc;
	}
	return node__home_mkdir(prefix, NULL);
}
