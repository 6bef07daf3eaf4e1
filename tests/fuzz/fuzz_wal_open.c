/*
 * fuzz_wal_open — node_wal_open on a directory of 1 to 3 log files made of
 * arbitrary bytes, then replay, append and reopen (docs/wal.md).
 *
 * Input: b0 picks the files (bits 0-1: count-1 mod 3; bit 2: a gap in the
 * numbering after the first; bit 3: the first index is UINT32_MAX-(count-1)
 * so the head cannot rotate; bit 4: no file at all when the only one is
 * empty, so open creates the log), b1 the rotation size (17 + 64*b1 bytes,
 * 0 = the default), then a u16 length per older file, and the rest is the
 * head. At most 64 KiB are used, so an input costs a few ms and a handful
 * of fsyncs.
 *
 * A model computed here from node_wal_record_decode (itself checked by
 * fuzz_wal_record) predicts the outcome exactly:
 *  - a gap, or a bad record or a non-growing marker in an older file, is
 *    FL_ECORRUPT with every file left as written;
 *  - otherwise FL_OK, the older files untouched and the head cut at its
 *    first bad record (or non-growing marker). The one thing open adds: a
 *    log of one file with no marker and nothing left in it gets the
 *    17-byte end-of-height marker 0, as a new log does (wal_open.c), so the
 *    head then holds exactly that record and nothing of what was written.
 * Then: last_height is the model's; replay of h+1 for each marker h sees
 * the model's records after it and ends FL_OK after the last marker,
 * FL_ESTATE before a later one; a missing marker is FL_ENOTFOUND; an
 * appended record is replayed last; and a reopen changes no file.
 * The temp directory is per process and emptied on every run.
 */
#include "node/wal.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_INPUT     (64u * 1024)
#define MAX_FILES     3
#define MAX_REPLAYS   8 /* markers replayed from each end of the log */
#define APPENDED_TYPE 7

static const uint8_t appended[] = "appended by fuzz_wal_open";

static char base[] = "/tmp/fedledger-fuzz-wal-open-XXXXXX";
static char logdir[sizeof(base) + 8];

static void check(int cond)
{
	if (!cond)
		abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_log(void)
{
	nftw(logdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void remove_base(void)
{
	nftw(base, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fl_log_set_level(FL_LOG_OFF);
	check(mkdtemp(base) != NULL);
	snprintf(logdir, sizeof(logdir), "%s/log", base);
	atexit(remove_base);
	return 0;
}

typedef struct {
	uint32_t index;
	const uint8_t *p;
	size_t n;
} log_file;

/* One record of the model: its type and payload, and for a marker its
 * height. */
typedef struct {
	uint8_t type;
	uint64_t height;
	const uint8_t *payload;
	uint32_t len;
} model_rec;

typedef struct {
	model_rec *recs;
	size_t n_recs;
	int has_marker;
	uint64_t last_height;
	size_t head_keep; /* bytes of the head open keeps */
	int corrupt;      /* open must refuse */
} model;

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* What open should make of the files: see the comment at the top. */
static void model_build(model *m, const log_file *files, unsigned nf)
{
	memset(m, 0, sizeof(*m));
	m->recs = malloc((MAX_INPUT / NODE_WAL_HEADER_LEN + 2) * sizeof(*m->recs));
	check(m->recs != NULL);
	for (unsigned i = 0; i < nf; i++) {
		size_t off = 0;
		if (i > 0 && files[i].index != files[i - 1].index + 1) {
			m->corrupt = 1;
			return;
		}
		while (off < files[i].n) {
			node_wal_record rec;
			size_t used;
			model_rec *r = &m->recs[m->n_recs];
			if (node_wal_record_decode(files[i].p + off, files[i].n - off, &rec,
						   &used) != FL_OK)
				break;
			r->type = rec.type;
			r->payload = rec.payload;
			r->len = rec.len;
			if (rec.type == NODE_WAL_END_HEIGHT) {
				r->height = get_u64(rec.payload);
				if (m->has_marker && r->height <= m->last_height)
					break;
				m->has_marker = 1;
				m->last_height = r->height;
			}
			m->n_recs++;
			off += used;
		}
		if (off < files[i].n && i + 1 < nf) {
			m->corrupt = 1;
			return;
		}
		if (i + 1 == nf)
			m->head_keep = off;
	}
}

static uint8_t *read_file(const char *dir, uint32_t index, size_t *n)
{
	char path[sizeof(logdir) + 16];
	struct stat st;
	uint8_t *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%010u.wal", dir, index);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	check(fd >= 0 && fstat(fd, &st) == 0);
	*n = (size_t)st.st_size;
	buf = malloc(*n ? *n : 1);
	check(buf != NULL);
	check(pread(fd, buf, *n, 0) == (ssize_t)*n);
	close(fd);
	return buf;
}

static void write_file(uint32_t index, const uint8_t *p, size_t n)
{
	char path[sizeof(logdir) + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/%010u.wal", logdir, index);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	check(fd >= 0);
	check(n == 0 || write(fd, p, n) == (ssize_t)n);
	close(fd);
}

static int file_is(uint32_t index, const uint8_t *p, size_t n)
{
	size_t got_n;
	uint8_t *got = read_file(logdir, index, &got_n);
	int same = got_n == n && (n == 0 || memcmp(got, p, n) == 0);

	free(got);
	return same;
}

/* What a replay callback saw: the count, and a check against the model. */
typedef struct {
	const model_rec *want;
	size_t n_want, seen;
	int then_appended; /* the record appended by this run comes last */
} replay_seen;

static int on_record(void *arg, const node_wal_record *rec)
{
	replay_seen *s = arg;

	check(rec->type != NODE_WAL_END_HEIGHT);
	if (s->want != NULL && s->seen < s->n_want) {
		const model_rec *w = &s->want[s->seen];
		check(w->type == rec->type && w->len == rec->len);
		check(rec->len == 0 || memcmp(w->payload, rec->payload, rec->len) == 0);
	} else {
		check(s->want != NULL && s->then_appended && s->seen == s->n_want);
		check(rec->type == APPENDED_TYPE && rec->len == sizeof(appended) &&
		      memcmp(rec->payload, appended, sizeof(appended)) == 0);
	}
	s->seen++;
	return FL_OK;
}

/* Replays h+1 for the marker at recs[i] and checks it against the model
 * (and the appended record after it when there is one). */
static void replay_marker(node_wal *w, const model *m, size_t i, int then_appended)
{
	replay_seen s = {0};
	size_t j = i + 1;
	int rc;

	while (j < m->n_recs && m->recs[j].type != NODE_WAL_END_HEIGHT)
		j++;
	s.want = &m->recs[i + 1];
	s.n_want = j - i - 1;
	s.then_appended = then_appended;
	rc = node_wal_replay(w, m->recs[i].height + 1, on_record, &s);
	check(rc == (j < m->n_recs ? FL_ESTATE : FL_OK));
	check(s.seen == s.n_want + (then_appended != 0));
}

/* Splits the input into the files described at the top. */
static unsigned split_input(const uint8_t *data, size_t size, log_file *files, uint8_t *b1,
			    int *no_files)
{
	uint8_t b0 = size > 0 ? data[0] : 0;
	unsigned nf = 1 + (b0 & 3u) % MAX_FILES;
	size_t pos = size > 1 ? 2 : size;
	uint32_t first;

	*b1 = size > 1 ? data[1] : 0;
	first = (b0 & 8u) ? UINT32_MAX - (nf - 1) - ((b0 & 4u) && nf > 1) : 0;
	for (unsigned i = 0; i < nf; i++) {
		files[i].index = first + i + (i > 0 && (b0 & 4u));
		if (i + 1 < nf) {
			size_t len = 0;
			if (size - pos >= 2) {
				len = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
				pos += 2;
			} else {
				pos = size;
			}
			if (len > size - pos)
				len = size - pos;
			files[i].p = data + pos;
			files[i].n = len;
			pos += len;
		} else {
			files[i].p = data + pos;
			files[i].n = size - pos;
		}
	}
	*no_files = nf == 1 && files[0].n == 0 && (b0 & 16u);
	if (*no_files)
		files[0].index = 0; /* what open creates */
	return nf;
}

static void check_open_log(node_wal *w, const model *m, const log_file *files, unsigned nf,
			   const uint8_t *head, size_t head_n)
{
	size_t n_markers = 0, k = 0;
	replay_seen s = {0};

	check(node_wal_last_height(w) == (m->has_marker ? m->last_height : 0));
	check(node_wal_head_index(w) == files[nf - 1].index);
	check(node_wal_first_index(w) == files[0].index);
	for (unsigned i = 0; i + 1 < nf; i++)
		check(file_is(files[i].index, files[i].p, files[i].n));
	check(file_is(files[nf - 1].index, head, head_n));
	for (size_t i = 0; i < m->n_recs; i++)
		n_markers += m->recs[i].type == NODE_WAL_END_HEIGHT;
	for (size_t i = 0; i < m->n_recs; i++) {
		if (m->recs[i].type != NODE_WAL_END_HEIGHT)
			continue;
		if (k < MAX_REPLAYS || k + MAX_REPLAYS >= n_markers)
			replay_marker(w, m, i, 0);
		k++;
	}
	check(node_wal_replay(w, 0, on_record, &s) == FL_EINVAL);
	/* The marker after the last one was never written. */
	if (!m->has_marker || m->last_height < UINT64_MAX - 1)
		check(node_wal_replay(w, m->has_marker ? m->last_height + 2 : 1, on_record, &s) ==
		      FL_ENOTFOUND);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_file files[MAX_FILES];
	node_wal_options opt = {0};
	node_wal *w = NULL;
	uint8_t *head = NULL, b1;
	size_t head_n;
	int no_files, added_marker, rc;
	unsigned nf;
	model m;

	if (size > MAX_INPUT)
		size = MAX_INPUT;
	nf = split_input(data, size, files, &b1, &no_files);
	if (b1 != 0)
		opt.max_file_bytes = NODE_WAL_HEADER_LEN + 8 + 64u * b1;
	remove_log();
	if (!no_files) {
		check(mkdir(logdir, 0700) == 0);
		for (unsigned i = 0; i < nf; i++)
			write_file(files[i].index, files[i].p, files[i].n);
	}
	model_build(&m, files, nf);

	rc = node_wal_open(&w, logdir, &opt);
	if (m.corrupt) {
		check(rc == FL_ECORRUPT && w == NULL);
		for (unsigned i = 0; i < nf; i++)
			check(file_is(files[i].index, files[i].p, files[i].n));
		goto done;
	}
	check(rc == FL_OK && w != NULL);
	/* The one growth open makes: a lone, empty head gets marker 0. */
	added_marker = !m.has_marker && nf == 1 && m.head_keep == 0;
	if (added_marker) {
		model_rec *r = &m.recs[m.n_recs++];
		r->type = NODE_WAL_END_HEIGHT;
		r->height = 0;
		r->len = 8;
		r->payload = (const uint8_t *)"\0\0\0\0\0\0\0\0";
		m.has_marker = 1;
		check(node_wal_last_height(w) == 0);
	}
	head = read_file(logdir, files[nf - 1].index, &head_n);
	if (added_marker) {
		node_wal_record rec;
		size_t used;
		check(head_n == NODE_WAL_HEADER_LEN + 8);
		check(node_wal_record_decode(head, head_n, &rec, &used) == FL_OK);
		check(rec.type == NODE_WAL_END_HEIGHT && get_u64(rec.payload) == 0);
	} else {
		check(head_n == m.head_keep);
		check(head_n == 0 || memcmp(head, files[nf - 1].p, head_n) == 0);
	}
	check_open_log(w, &m, files, nf, head, head_n);

	/* Reopened, the repaired log is taken as it is. */
	check(node_wal_close(w) == FL_OK);
	w = NULL;
	check(node_wal_open(&w, logdir, &opt) == FL_OK);
	check_open_log(w, &m, files, nf, head, head_n);

	/* An append is replayed after everything since the last marker. */
	rc = node_wal_append(w, APPENDED_TYPE, appended, sizeof(appended));
	if (rc == FL_ETOOBIG) {
		/* Only a head that must rotate and has no index after it. */
		uint64_t max_file = opt.max_file_bytes ? opt.max_file_bytes : NODE_WAL_FILE_DEFAULT;
		check(files[nf - 1].index == UINT32_MAX && head_n > 0 &&
		      head_n + NODE_WAL_HEADER_LEN + sizeof(appended) > max_file);
		goto done;
	}
	check(rc == FL_OK);
	check(node_wal_sync(w) == FL_OK);
	if (m.has_marker) {
		size_t last = m.n_recs;
		while (m.recs[--last].type != NODE_WAL_END_HEIGHT)
			;
		replay_marker(w, &m, last, 1);
	}

done:
	if (w != NULL)
		check(node_wal_close(w) == FL_OK);
	free(head);
	free(m.recs);
	return 0;
}
