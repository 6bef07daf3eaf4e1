/* tests/node/wal_helpers.c — see wal_helpers.h. */
#include "tests/node/wal_helpers.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
	fprintf(stderr, "wal_helpers: %s %s\n", what, path);
	abort();
}

void wh_tmpdir(char *out, size_t size)
{
	if (snprintf(out, size, "/tmp/fl-node-wal-XXXXXX") >= (int)size || mkdtemp(out) == NULL)
		die("mkdtemp", out);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void wh_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void wh_path(char *out, const char *dir, const char *name)
{
	snprintf(out, 256, "%s/%s", dir, name);
}

void wh_wal_file(char *out, const char *dir, uint32_t index)
{
	snprintf(out, 256, "%s/%010u.wal", dir, index);
}

long wh_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

void wh_truncate(const char *path, long len)
{
	if (truncate(path, len) != 0)
		die("truncate", path);
}

void wh_flip_bit(const char *path, long off, int bit)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		die("read", path);
	b ^= (uint8_t)(1u << bit);
	if (pwrite(fd, &b, 1, off) != 1)
		die("write", path);
	close(fd);
}

uint8_t *wh_read_all(const char *path, size_t *n)
{
	long size = wh_file_size(path);
	uint8_t *p;
	int fd;

	if (size < 0 || (p = malloc((size_t)size + 1)) == NULL)
		die("size", path);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, p, (size_t)size) != size)
		die("read", path);
	close(fd);
	*n = (size_t)size;
	return p;
}

void wh_write_all(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		die("write", path);
	close(fd);
}

int wh_collect(void *arg, const node_wal_record *rec)
{
	wh_seen *s = arg;

	if (s->n == WH_MAX_RECORDS || rec->len > WH_MAX_PAYLOAD)
		return FL_ETOOBIG;
	if (s->stop_at != 0 && s->n + 1 == s->stop_at)
		return FL_EPROTO;
	s->type[s->n] = rec->type;
	s->len[s->n] = rec->len;
	memcpy(s->payload[s->n], rec->payload, rec->len);
	s->n++;
	return FL_OK;
}

size_t wh_payload(uint8_t *out, unsigned i)
{
	size_t n = 1 + (i * 7u) % 300;

	for (size_t k = 0; k < n; k++)
		out[k] = (uint8_t)(i * 31u + k * 7u);
	return n;
}
