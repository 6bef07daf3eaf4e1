/*
 * node/wal_replay.c — reading the WAL back: the buffered reader every scan
 * uses (open's check and repair, replay) and the replay of one height from
 * the marker that ended the height before.
 */
#include "node/wal_impl.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void node__wal_reader_init(wal_reader *r, int fd, uint64_t size)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->size = size;
}

void node__wal_reader_free(wal_reader *r)
{
	fl_free(r->buf);
	r->buf = NULL;
	r->cap = r->len = 0;
}

/* Makes file bytes [off, off+need) readable at *p. The caller has checked
 * off + need <= r->size, so the allocation is bounded by what the file
 * holds, never by a length field alone. */
static int reader_window(wal_reader *r, uint64_t off, size_t need, const uint8_t **p)
{
	size_t want, got = 0;

	if (off >= r->buf_off && off - r->buf_off <= r->len &&
	    r->len - (off - r->buf_off) >= need) {
		*p = r->buf + (off - r->buf_off);
		return FL_OK;
	}
	want = need > WAL_READ_CHUNK ? need : WAL_READ_CHUNK;
	if (r->size - off < want)
		want = (size_t)(r->size - off);
	if (want > r->cap) {
		uint8_t *grown = fl_realloc(r->buf, want);
		if (grown == NULL)
			return FL_ENOMEM;
		r->buf = grown;
		r->cap = want;
	}
	r->len = 0;
	while (got < want) {
		ssize_t n = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FL_EIO;
		if (n == 0)
			return FL_ETRUNC; /* the file shrank under us */
		got += (size_t)n;
	}
	r->buf_off = off;
	r->len = got;
	*p = r->buf;
	return FL_OK;
}

int node__wal_reader_next(wal_reader *r, node_wal_record *rec)
{
	const uint8_t *p;
	uint32_t len;
	int rc;

	if (r->off == r->size)
		return WAL_END;
	if (r->size - r->off < NODE_WAL_HEADER_LEN)
		return FL_ETRUNC;
	if ((rc = reader_window(r, r->off, NODE_WAL_HEADER_LEN, &p)) != FL_OK)
		return rc;
	if ((rc = node__wal_header_decode(p, &len)) != FL_OK)
		return rc;
	if (r->size - r->off - NODE_WAL_HEADER_LEN < len)
		return FL_ETRUNC;
	if ((rc = reader_window(r, r->off, NODE_WAL_HEADER_LEN + (size_t)len, &p)) != FL_OK)
		return rc;
	if ((rc = node__wal_record_check(p, p + NODE_WAL_HEADER_LEN, rec)) != FL_OK)
		return rc;
	r->off += NODE_WAL_HEADER_LEN + (uint64_t)len;
	return FL_OK;
}

/*
 * Feeds the records of one file to cb. skip_to_marker: first pass over the
 * records up to and including the marker of that height. A marker met while
 * feeding ends the height asked for (FL_ESTATE).
 */
static int replay_file(node_wal *w, const wal_file *f, int skip, uint64_t marker,
		       node_wal_replay_cb cb, void *arg)
{
	char name[WAL_NAME_LEN + 1];
	node_wal_record rec;
	wal_reader r;
	int fd, rc;

	node__wal_file_name(name, f->index);
	fd = openat(w->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? FL_ECORRUPT : FL_EIO;
	node__wal_reader_init(&r, fd, f->size);
	while ((rc = node__wal_reader_next(&r, &rec)) == FL_OK) {
		if (skip) {
			if (rec.type == NODE_WAL_END_HEIGHT &&
			    node__wal_get_u64(rec.payload) == marker)
				skip = 0;
			continue;
		}
		if (rec.type == NODE_WAL_END_HEIGHT) {
			fl_log(FL_LOG_WARN, WAL_LOG,
			       "%s/%s: replay of height %llu met the end of height %llu", w->dir,
			       name, (unsigned long long)(marker + 1),
			       (unsigned long long)node__wal_get_u64(rec.payload));
			rc = FL_ESTATE;
			break;
		}
		if ((rc = cb(arg, &rec)) != FL_OK)
			break;
	}
	if (rc == WAL_END)
		rc = skip ? FL_ENOTFOUND : FL_OK;
	else if (rc == FL_ETRUNC)
		rc = FL_ECORRUPT; /* open checked these bytes: they changed */
	node__wal_reader_free(&r);
	close(fd);
	return rc;
}

int node_wal_replay(node_wal *w, uint64_t height, node_wal_replay_cb cb, void *arg)
{
	uint64_t marker;
	uint32_t i;
	int rc;

	assert(w != NULL && cb != NULL);
	if (height == 0)
		return FL_EINVAL;
	marker = height - 1;
	/* Markers grow strictly, so at most one file holds the one we need,
	 * and its cached range names it without reading anything. */
	for (i = w->n_files; i-- > 0;) {
		const wal_file *f = &w->files[i];
		if (f->has_marker && f->first_marker <= marker && marker <= f->last_marker)
			break;
	}
	if (i == UINT32_MAX)
		return FL_ENOTFOUND;
	if ((rc = replay_file(w, &w->files[i], 1, marker, cb, arg)) != FL_OK)
		return rc;
	for (i++; i < w->n_files; i++)
		if ((rc = replay_file(w, &w->files[i], 0, marker, cb, arg)) != FL_OK)
			return rc;
	return FL_OK;
}
