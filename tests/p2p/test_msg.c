/*
 * Message header and body codecs: each body round-trips to identical bytes,
 * every strict prefix and one trailing byte are refused, each field's range
 * is enforced by the encoder and the decoder alike, the encoders survive
 * allocation failure at every point, and the address syntax is strict.
 */
#include "p2p/internal.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

typedef int (*decode_fn)(const uint8_t *p, size_t n);

static int dec_gossip(const uint8_t *p, size_t n)
{
	p2p_gossip_msg m;
	return p2p_gossip_decode(&m, p, n);
}
static int dec_request(const uint8_t *p, size_t n)
{
	p2p_request_msg m;
	return p2p_request_decode(&m, p, n);
}
static int dec_response(const uint8_t *p, size_t n)
{
	p2p_response_msg m;
	return p2p_response_decode(&m, p, n);
}
static int dec_want(const uint8_t *p, size_t n)
{
	p2p_blob_want_msg m;
	return p2p_blob_want_decode(&m, p, n);
}
static int dec_chunk(const uint8_t *p, size_t n)
{
	p2p_blob_chunk_msg m;
	return p2p_blob_chunk_decode(&m, p, n);
}
static int dec_addrs(const uint8_t *p, size_t n)
{
	static p2p_addrs_msg m;
	return p2p_addrs_decode(&m, p, n);
}

/* Every strict prefix fails, and so does the whole plus one byte. The
 * copy into an exact-size heap buffer lets ASan see any over-read. */
static void refuses_cuts(decode_fn dec, const uint8_t *enc, size_t n)
{
	uint8_t *buf = malloc(n + 1);

	cr_assert_not_null(buf);
	for (size_t k = 0; k < n; k++) {
		uint8_t *cut = malloc(k ? k : 1);
		cr_assert_not_null(cut);
		memcpy(cut, enc, k);
		cr_assert_lt(dec(cut, k), 0, "prefix %zu of %zu accepted", k, n);
		free(cut);
	}
	memcpy(buf, enc, n);
	buf[n] = 0;
	cr_assert_eq(dec(buf, n + 1), FL_ETRAILING);
	cr_assert_eq(dec(buf, n), FL_OK);
	free(buf);
}

static void hash_fill(fl_hash *h, uint8_t seed)
{
	for (size_t i = 0; i < FL_HASH_LEN; i++)
		h->b[i] = (uint8_t)(seed + i);
}

/* ---------------------------------------------------------------- header */

Test(msg, header)
{
	uint8_t buf[8];
	uint16_t type = 0;
	const uint8_t *body = NULL;
	size_t body_len = 99;

	p2p_msg_header(buf, 0x1234);
	cr_assert_eq(buf[0], P2P_MSG_VERSION);
	cr_assert_eq(buf[1], 0x34);
	cr_assert_eq(buf[2], 0x12);
	memcpy(buf + 3, "hello", 5);
	cr_assert_eq(p2p_msg_parse(buf, 8, &type, &body, &body_len), FL_OK);
	cr_assert_eq(type, 0x1234);
	cr_assert_eq(body, buf + 3);
	cr_assert_eq(body_len, 5);
	cr_assert_eq(p2p_msg_parse(buf, 3, &type, &body, &body_len), FL_OK);
	cr_assert_eq(body_len, 0);
	for (size_t n = 0; n < P2P_MSG_HEADER; n++)
		cr_assert_eq(p2p_msg_parse(buf, n, &type, &body, &body_len), FL_EPROTO);
	buf[0] = 0;
	cr_assert_eq(p2p_msg_parse(buf, 8, &type, &body, &body_len), FL_EVERSION);
	buf[0] = 2;
	cr_assert_eq(p2p_msg_parse(buf, 8, &type, &body, &body_len), FL_EVERSION);
}

/* ---------------------------------------------------------------- gossip */

Test(msg, gossip_round_trip)
{
	static const size_t sizes[] = {0, 1, 300};
	uint8_t data[300];
	fl_writer w, w2;
	p2p_gossip_msg in, out;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	for (size_t k = 0; k < FL_ARRAY_LEN(sizes); k++) {
		in = (p2p_gossip_msg){.topic = (uint16_t)(0xbeef + k), .data = data, .n = sizes[k]};
		fl_writer_init(&w, 0);
		cr_assert_eq(p2p_gossip_encode(&w, &in), FL_OK);
		cr_assert_eq(p2p_gossip_decode(&out, w.buf, w.len), FL_OK);
		cr_assert_eq(out.topic, in.topic);
		cr_assert_eq(out.n, in.n);
		cr_assert_eq(memcmp(out.data, data, in.n), 0);
		cr_assert(out.data >= w.buf && out.data + out.n <= w.buf + w.len);
		fl_writer_init(&w2, 0);
		cr_assert_eq(p2p_gossip_encode(&w2, &out), FL_OK);
		cr_assert_eq(w2.len, w.len);
		cr_assert_eq(memcmp(w2.buf, w.buf, w.len), 0);
		refuses_cuts(dec_gossip, w.buf, w.len);
		fl_writer_free(&w);
		fl_writer_free(&w2);
	}
}

Test(msg, gossip_too_big)
{
	fl_writer w;
	p2p_gossip_msg m = {.topic = 1, .data = (const uint8_t *)"", .n = P2P_MAX_FRAME + 1};

	fl_writer_init(&w, 0);
	cr_assert_eq(p2p_gossip_encode(&w, &m), FL_ETOOBIG);
	cr_assert_eq(w.len, 0);
	/* A length over the maximum, declared but not present. */
	fl_write_u16(&w, 1);
	fl_write_varint(&w, P2P_MAX_FRAME + 1);
	cr_assert_eq(fl_writer_finish(&w), FL_OK);
	cr_assert_eq(p2p_gossip_decode(&m, w.buf, w.len), FL_ETOOBIG);
	fl_writer_free(&w);
}

/* ------------------------------------------------------ request/response */

Test(msg, request_round_trip)
{
	fl_writer w, w2;
	p2p_request_msg in = {.id = 0x0102030405060708ull,
			      .kind = 7,
			      .data = (const uint8_t *)"question",
			      .n = 8},
			out;

	fl_writer_init(&w, 0);
	cr_assert_eq(p2p_request_encode(&w, &in), FL_OK);
	cr_assert_eq(w.len, 8 + 2 + 1 + 8);
	cr_assert_eq(w.buf[0], 0x08); /* little-endian id */
	cr_assert_eq(p2p_request_decode(&out, w.buf, w.len), FL_OK);
	cr_assert_eq(out.id, in.id);
	cr_assert_eq(out.kind, 7);
	cr_assert_eq(out.n, 8);
	cr_assert_eq(memcmp(out.data, "question", 8), 0);
	fl_writer_init(&w2, 0);
	cr_assert_eq(p2p_request_encode(&w2, &out), FL_OK);
	cr_assert_eq(memcmp(w2.buf, w.buf, w.len), 0);
	refuses_cuts(dec_request, w.buf, w.len);
	fl_writer_free(&w);
	fl_writer_free(&w2);

	in.n = P2P_MAX_FRAME + 1;
	fl_writer_init(&w, 0);
	cr_assert_eq(p2p_request_encode(&w, &in), FL_ETOOBIG);
	fl_writer_free(&w);
}

Test(msg, response_round_trip_and_status)
{
	static const int32_t statuses[] = {FL_OK, FL_ENOTFOUND, FL_E_LAST, INT32_MIN};
	fl_writer w, w2;
	p2p_response_msg in, out;

	for (size_t k = 0; k < FL_ARRAY_LEN(statuses); k++) {
		in = (p2p_response_msg){.id = k + 1,
					.status = statuses[k],
					.data = (const uint8_t *)"answer",
					.n = k ? 0 : 6};
		fl_writer_init(&w, 0);
		cr_assert_eq(p2p_response_encode(&w, &in), FL_OK);
		cr_assert_eq(p2p_response_decode(&out, w.buf, w.len), FL_OK);
		cr_assert_eq(out.id, in.id);
		cr_assert_eq(out.status, statuses[k]);
		cr_assert_eq(out.n, in.n);
		fl_writer_init(&w2, 0);
		cr_assert_eq(p2p_response_encode(&w2, &out), FL_OK);
		cr_assert_eq(w2.len, w.len);
		cr_assert_eq(memcmp(w2.buf, w.buf, w.len), 0);
		refuses_cuts(dec_response, w.buf, w.len);
		fl_writer_free(&w);
		fl_writer_free(&w2);
	}

	/* A positive status is refused both ways. */
	in = (p2p_response_msg){.id = 1, .status = 1};
	fl_writer_init(&w, 0);
	cr_assert_eq(p2p_response_encode(&w, &in), FL_EINVAL);
	cr_assert_eq(w.len, 0);
	fl_write_u64(&w, 1);
	fl_write_u32(&w, 1);
	fl_write_varint(&w, 0);
	cr_assert_eq(p2p_response_decode(&out, w.buf, w.len), FL_EINVAL);
	cr_assert_eq(out.id, 0);
	fl_writer_free(&w);
	fl_writer_init(&w, 0);
	fl_write_u64(&w, 1);
	fl_write_u32(&w, INT32_MAX);
	fl_write_varint(&w, 0);
	cr_assert_eq(p2p_response_decode(&out, w.buf, w.len), FL_EINVAL);
	fl_writer_free(&w);
}

/* ----------------------------------------------------------------- blobs */

Test(msg, blob_want)
{
	fl_writer w, w2;
	p2p_blob_want_msg in = {.offset = 5 * P2P_BLOB_CHUNK, .credit = 1}, out;

	hash_fill(&in.hash, 9);
	for (uint32_t credit = 1; credit <= P2P_BLOB_MAX_CREDIT;
	     credit += P2P_BLOB_MAX_CREDIT - 1) {
		in.credit = credit;
		fl_writer_init(&w, 0);
		cr_assert_eq(p2p_blob_want_encode(&w, &in), FL_OK);
		cr_assert_eq(w.len, 32 + 8 + 4);
		cr_assert_eq(p2p_blob_want_decode(&out, w.buf, w.len), FL_OK);
		cr_assert_eq(fl_hash_cmp(&out.hash, &in.hash), 0);
		cr_assert_eq(out.offset, in.offset);
		cr_assert_eq(out.credit, credit);
		fl_writer_init(&w2, 0);
		cr_assert_eq(p2p_blob_want_encode(&w2, &out), FL_OK);
		cr_assert_eq(memcmp(w2.buf, w.buf, w.len), 0);
		refuses_cuts(dec_want, w.buf, w.len);
		fl_writer_free(&w2);
		fl_writer_free(&w);
	}
	{
		static const uint32_t bad[] = {0, P2P_BLOB_MAX_CREDIT + 1, UINT32_MAX};
		for (size_t k = 0; k < FL_ARRAY_LEN(bad); k++) {
			in.credit = bad[k];
			fl_writer_init(&w, 0);
			cr_assert_eq(p2p_blob_want_encode(&w, &in), FL_EINVAL);
			fl_write_fixed(&w, in.hash.b, 32);
			fl_write_u64(&w, 0);
			fl_write_u32(&w, bad[k]);
			cr_assert_eq(p2p_blob_want_decode(&out, w.buf, w.len), FL_EINVAL);
			cr_assert_eq(out.credit, 0);
			fl_writer_free(&w);
		}
	}
}

Test(msg, blob_chunk_round_trip)
{
	uint8_t *data = malloc(P2P_BLOB_CHUNK);
	fl_writer w, w2;
	p2p_blob_chunk_msg in, out;
	/* (total, offset, n): first chunk, a middle one, the last byte, a
	 * full chunk at the very end of the 64-bit range. */
	static const uint64_t cases[][3] = {
	    {1, 0, 1},
	    {10 * P2P_BLOB_CHUNK, 3 * P2P_BLOB_CHUNK, P2P_BLOB_CHUNK},
	    {1000, 999, 1},
	    {UINT64_MAX, UINT64_MAX - P2P_BLOB_CHUNK, P2P_BLOB_CHUNK},
	};

	cr_assert_not_null(data);
	for (size_t i = 0; i < P2P_BLOB_CHUNK; i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	for (size_t k = 0; k < FL_ARRAY_LEN(cases); k++) {
		in = (p2p_blob_chunk_msg){.total = cases[k][0],
					  .offset = cases[k][1],
					  .data = data,
					  .n = (size_t)cases[k][2]};
		hash_fill(&in.hash, (uint8_t)k);
		fl_writer_init(&w, 0);
		cr_assert_eq(p2p_blob_chunk_encode(&w, &in), FL_OK);
		cr_assert_eq(p2p_blob_chunk_decode(&out, w.buf, w.len), FL_OK);
		cr_assert_eq(fl_hash_cmp(&out.hash, &in.hash), 0);
		cr_assert_eq(out.total, in.total);
		cr_assert_eq(out.offset, in.offset);
		cr_assert_eq(out.n, in.n);
		cr_assert_eq(memcmp(out.data, data, in.n), 0);
		fl_writer_init(&w2, 0);
		cr_assert_eq(p2p_blob_chunk_encode(&w2, &out), FL_OK);
		cr_assert_eq(w2.len, w.len);
		cr_assert_eq(memcmp(w2.buf, w.buf, w.len), 0);
		/* Truncations only on the small cases: each prefix is a
		 * fresh copy and a full chunk has 64 Ki of them. */
		if (in.n < 16)
			refuses_cuts(dec_chunk, w.buf, w.len);
		fl_writer_free(&w);
		fl_writer_free(&w2);
	}
	free(data);
}

Test(msg, blob_chunk_ranges)
{
	static const uint8_t data[4] = {1, 2, 3, 4};
	/* (total, offset, n, expected) */
	static const struct {
		uint64_t total, offset;
		size_t n;
		int rc;
	} cases[] = {
	    {10, 0, 0, FL_EINVAL},                  /* empty */
	    {10, 8, 3, FL_EINVAL},                  /* past the end */
	    {10, 11, 1, FL_EINVAL},                 /* offset past total */
	    {UINT64_MAX, UINT64_MAX, 1, FL_EINVAL}, /* offset + n wraps */
	    {0, 0, 1, FL_EINVAL},                   /* empty blob */
	    {2 * P2P_BLOB_CHUNK, 0, P2P_BLOB_CHUNK + 1, FL_ETOOBIG},
	};
	p2p_blob_chunk_msg in, out;
	fl_writer w;

	for (size_t k = 0; k < FL_ARRAY_LEN(cases); k++) {
		in = (p2p_blob_chunk_msg){.total = cases[k].total,
					  .offset = cases[k].offset,
					  .data = data,
					  .n = cases[k].n};
		fl_writer_init(&w, 0);
		cr_assert_eq(p2p_blob_chunk_encode(&w, &in), cases[k].rc, "case %zu", k);
		cr_assert_eq(w.len, 0);
		/* The same fields written by hand reach the decoder. */
		fl_write_fixed(&w, in.hash.b, 32);
		fl_write_u64(&w, in.total);
		fl_write_u64(&w, in.offset);
		fl_write_varint(&w, in.n);
		if (in.n <= sizeof(data))
			fl_write_fixed(&w, data, in.n);
		cr_assert_eq(fl_writer_finish(&w), FL_OK);
		cr_assert_eq(p2p_blob_chunk_decode(&out, w.buf, w.len), cases[k].rc, "case %zu", k);
		cr_assert_eq(out.n, 0);
		cr_assert_null(out.data);
		fl_writer_free(&w);
	}
}

/* ----------------------------------------------------------------- addrs */

Test(msg, addrs_round_trip)
{
	static p2p_addrs_msg in, out;
	fl_writer w, w2;

	for (uint32_t count = 0; count <= P2P_ADDRS_MAX; count += P2P_ADDRS_MAX / 2) {
		memset(&in, 0, sizeof(in));
		in.n = count;
		for (uint32_t i = 0; i < count; i++)
			snprintf(in.addr[i], P2P_ADDR_MAX, "10.%u.%u.255:%u", i, 255 - i,
				 1 + i * 1000);
		fl_writer_init(&w, 0);
		cr_assert_eq(p2p_addrs_encode(&w, &in), FL_OK);
		cr_assert_eq(p2p_addrs_decode(&out, w.buf, w.len), FL_OK);
		cr_assert_eq(out.n, count);
		for (uint32_t i = 0; i < count; i++)
			cr_assert_str_eq(out.addr[i], in.addr[i]);
		fl_writer_init(&w2, 0);
		cr_assert_eq(p2p_addrs_encode(&w2, &out), FL_OK);
		cr_assert_eq(w2.len, w.len);
		cr_assert_eq(memcmp(w2.buf, w.buf, w.len), 0);
		if (count <= P2P_ADDRS_MAX / 2)
			refuses_cuts(dec_addrs, w.buf, w.len);
		fl_writer_free(&w);
		fl_writer_free(&w2);
	}
}

Test(msg, addrs_limits)
{
	static p2p_addrs_msg in, out;
	fl_writer w;

	memset(&in, 0, sizeof(in));
	in.n = P2P_ADDRS_MAX + 1;
	fl_writer_init(&w, 0);
	cr_assert_eq(p2p_addrs_encode(&w, &in), FL_ETOOBIG);
	/* A count over the maximum, refused before any element is read. */
	fl_write_varint(&w, P2P_ADDRS_MAX + 1);
	cr_assert_eq(p2p_addrs_decode(&out, w.buf, w.len), FL_ETOOBIG);
	fl_writer_free(&w);

	/* One malformed address among good ones, both ways. */
	in.n = 2;
	strcpy(in.addr[0], "127.0.0.1:1");
	strcpy(in.addr[1], "127.0.0.01:1");
	fl_writer_init(&w, 0);
	cr_assert_eq(p2p_addrs_encode(&w, &in), FL_EPARSE);
	cr_assert_eq(w.len, 0);
	fl_write_varint(&w, 2);
	fl_write_str(&w, in.addr[0], 63);
	fl_write_str(&w, in.addr[1], 63);
	cr_assert_eq(p2p_addrs_decode(&out, w.buf, w.len), FL_EPARSE);
	cr_assert_eq(out.n, 0);
	fl_writer_free(&w);

	/* Port 0 is for listening only, never an address to share. */
	fl_writer_init(&w, 0);
	fl_write_varint(&w, 1);
	fl_write_str(&w, "127.0.0.1:0", 63);
	cr_assert_eq(p2p_addrs_decode(&out, w.buf, w.len), FL_EINVAL);
	fl_writer_free(&w);

	/* A string over P2P_ADDR_MAX - 1 bytes. */
	{
		char longaddr[P2P_ADDR_MAX + 1];
		memset(longaddr, '1', P2P_ADDR_MAX);
		longaddr[P2P_ADDR_MAX] = '\0';
		fl_writer_init(&w, 0);
		fl_write_varint(&w, 1);
		fl_write_str(&w, longaddr, P2P_ADDR_MAX);
		cr_assert_eq(p2p_addrs_decode(&out, w.buf, w.len), FL_ETOOBIG);
		fl_writer_free(&w);
	}
}

/* -------------------------------------------------------------- torture */

/* Every encoder grows its writer through fl_realloc: fail the Nth
 * allocation for every N until the encode succeeds; each failure must be
 * FL_ENOMEM (ASan checks that nothing leaks). */
static int encode_all(fl_writer *w)
{
	static uint8_t big[3000];
	static p2p_addrs_msg addrs;
	p2p_gossip_msg g = {.topic = 1, .data = big, .n = sizeof(big)};
	p2p_request_msg rq = {.id = 2, .kind = 3, .data = big, .n = 100};
	p2p_response_msg rs = {.id = 2, .status = FL_EIO, .data = big, .n = 2000};
	p2p_blob_want_msg bw = {.offset = 1, .credit = 8};
	p2p_blob_chunk_msg bc = {.total = 5000, .offset = 0, .data = big, .n = sizeof(big)};
	int rc;

	addrs.n = 20;
	for (uint32_t i = 0; i < addrs.n; i++)
		snprintf(addrs.addr[i], P2P_ADDR_MAX, "192.168.%u.%u:%u", i, i + 1, 26656 + i);
	if ((rc = p2p_gossip_encode(w, &g)) != FL_OK)
		return rc;
	if ((rc = p2p_request_encode(w, &rq)) != FL_OK)
		return rc;
	if ((rc = p2p_response_encode(w, &rs)) != FL_OK)
		return rc;
	if ((rc = p2p_blob_want_encode(w, &bw)) != FL_OK)
		return rc;
	if ((rc = p2p_blob_chunk_encode(w, &bc)) != FL_OK)
		return rc;
	return p2p_addrs_encode(w, &addrs);
}

Test(msg, alloc_torture_encoders)
{
	fl_writer w;
	int rc = FL_ENOMEM;
	unsigned long n;

	for (n = 1; n < 200 && rc != FL_OK; n++) {
		fl_writer_init(&w, 0);
		fl_alloc_fail_after(n);
		rc = encode_all(&w);
		fl_alloc_fail_after(0);
		cr_assert(rc == FL_OK || rc == FL_ENOMEM, "n=%lu rc=%d", n, rc);
		cr_assert(rc == FL_OK || fl_writer_finish(&w) == FL_ENOMEM);
		fl_writer_free(&w);
	}
	cr_assert_eq(rc, FL_OK);
	cr_assert_gt(n, 2, "no allocation was ever failed");
}

/* -------------------------------------------------------------- address */

Test(addr, good)
{
	static const struct {
		const char *s;
		uint32_t ip;
		uint16_t port;
	} cases[] = {
	    {"127.0.0.1:26656", 0x7f000001, 26656},
	    {"0.0.0.0:1", 0, 1},
	    {"255.255.255.255:65535", 0xffffffff, 65535},
	    {"10.20.30.40:80", 0x0a141e28, 80},
	};
	struct sockaddr_in sa;

	for (size_t k = 0; k < FL_ARRAY_LEN(cases); k++) {
		memset(&sa, 0xff, sizeof(sa));
		cr_assert_eq(p2p_addr_parse(cases[k].s, &sa), FL_OK, "%s", cases[k].s);
		cr_assert_eq(sa.sin_family, AF_INET);
		cr_assert_eq(ntohl(sa.sin_addr.s_addr), cases[k].ip, "%s", cases[k].s);
		cr_assert_eq(ntohs(sa.sin_port), cases[k].port, "%s", cases[k].s);
		cr_assert_eq(p2p_listen_addr_parse(cases[k].s, &sa), FL_OK);
	}
}

Test(addr, bad)
{
	static const char *bad[] = {
	    "",
	    "127.0.0.1",
	    "127.0.0.1:",
	    ":80",
	    "127.0.0.01:80",
	    "127.0.0.1:080",
	    "256.0.0.1:80",
	    "1.2.3:80",
	    "1.2.3.4.5:80",
	    "1.2.3.4:65536",
	    "1.2.3.4:99999",
	    "1.2.3.4:123456",
	    " 1.2.3.4:80",
	    "1.2.3.4:80 ",
	    "1.2.3.4:+80",
	    "1.2.3.4:-1",
	    "0x7f.0.0.1:80",
	    "localhost:80",
	    "[::1]:80",
	    "::1:80",
	    "1.2.3.4:80\n",
	    "1..3.4:80",
	    "1.2.3.4::80",
	    "0000.0.0.1:80",
	    "1.2.3.4:00",
	    "1.2.3.4:0",
	    "1000.2.3.4:80",
	    "1.2.3.4:8o",
	    "-1.2.3.4:80",
	    "1.2.3.4.:80",
	    "127.1:80",
	};
	char longaddr[P2P_ADDR_MAX + 8];
	struct sockaddr_in sa;

	for (size_t k = 0; k < FL_ARRAY_LEN(bad); k++) {
		int rc = p2p_addr_parse(bad[k], &sa);
		cr_assert(rc == FL_EPARSE || rc == FL_EINVAL, "accepted '%s' (%d)", bad[k], rc);
	}
	cr_assert_eq(p2p_addr_parse("256.0.0.1:80", &sa), FL_EINVAL);
	cr_assert_eq(p2p_addr_parse("1.2.3.4:65536", &sa), FL_EINVAL);
	cr_assert_eq(p2p_addr_parse("1.2.3.4:0", &sa), FL_EINVAL);
	cr_assert_eq(p2p_addr_parse("127.0.0.01:80", &sa), FL_EPARSE);
	/* Port 0 only where a listener picks any port. */
	cr_assert_eq(p2p_listen_addr_parse("127.0.0.1:0", &sa), FL_OK);
	cr_assert_eq(ntohs(sa.sin_port), 0);
	cr_assert_eq(p2p_listen_addr_parse("127.0.0.1:00", &sa), FL_EPARSE);
	/* A string that fills P2P_ADDR_MAX without a NUL in it. */
	memset(longaddr, '1', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	cr_assert_eq(p2p_addr_parse(longaddr, &sa), FL_EPARSE);
}
