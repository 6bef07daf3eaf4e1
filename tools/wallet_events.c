/*
 * tools/wallet_events.c — a subscriber of the node's GET /v1/events
 * (docs/http.md §5) for one wallet tx: opened before the tx is POSTed (the
 * stream has no replay, so a subscription made after the POST could miss
 * the very block that holds it), then read without blocking through a curl
 * multi handle while wallet_tx.c waits. Each "block" event moves the tip
 * the progress line shows; the "tx" event whose hash is ours ends the wait.
 */
#include "tools/wallet.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* An SSE line longer than this is no event of ours (a block event is
 * about 400 bytes): it is skipped, never buffered further. */
#define EVENTS_LINE_MAX 4096
/* How long the node may take to answer the subscription itself. */
#define EVENTS_OPEN_MS 5000

struct wallet_events {
	CURLM *multi;
	CURL *easy;
	int headers_done;
	int running;
	char line[EVENTS_LINE_MAX];
	size_t len;
	int skipping; /* inside a line over EVENTS_LINE_MAX */
	char event[32];
	char data[EVENTS_LINE_MAX];
	char want[FL_HASH_HEX_LEN + 1];
	int found;
	uint64_t height, tip;
};

/* One complete event: event name and data seen, dispatched on the blank
 * line that ends it. */
static void dispatch(wallet_events *e)
{
	uint64_t h;
	json_t *o;

	if (e->data[0] == '\0')
		return;
	o = json_loads(e->data, JSON_REJECT_DUPLICATES, NULL);
	if (o != NULL && wallet_json_u64(o, "height", &h) == FL_OK) {
		if (strcmp(e->event, "block") == 0 && h > e->tip)
			e->tip = h;
		else if (strcmp(e->event, "tx") == 0 && e->want[0] != '\0') {
			const char *hash = json_string_value(json_object_get(o, "hash"));

			if (hash != NULL && strcasecmp(hash, e->want) == 0) {
				e->found = 1;
				e->height = h;
			}
		}
	}
	json_decref(o);
}

static void on_line(wallet_events *e, const char *line)
{
	if (line[0] == '\0') {
		dispatch(e);
		e->event[0] = '\0';
		e->data[0] = '\0';
	} else if (strncmp(line, "event: ", 7) == 0) {
		snprintf(e->event, sizeof(e->event), "%s", line + 7);
	} else if (strncmp(line, "data: ", 6) == 0) {
		/* The node writes each event's JSON on one data line. */
		snprintf(e->data, sizeof(e->data), "%s", line + 6);
	}
	/* "id:" and ": keep-alive" comments need nothing. */
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	wallet_events *e = ctx;
	size_t n = size * nmemb;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '\n') {
			if (!e->skipping) {
				if (e->len > 0 && e->line[e->len - 1] == '\r')
					e->len--;
				e->line[e->len] = '\0';
				on_line(e, e->line);
			}
			e->len = 0;
			e->skipping = 0;
		} else if (e->skipping) {
			continue;
		} else if (e->len + 1 >= sizeof(e->line)) {
			e->skipping = 1;
		} else {
			e->line[e->len++] = c;
		}
	}
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	wallet_events *e = ctx;
	size_t n = size * nmemb;

	if (n <= 2 && (p[0] == '\r' || p[0] == '\n'))
		e->headers_done = 1;
	return n;
}

static int pump(wallet_events *e, int wait_ms)
{
	if (curl_multi_poll(e->multi, NULL, 0, wait_ms, NULL) != CURLM_OK ||
	    curl_multi_perform(e->multi, &e->running) != CURLM_OK)
		return FL_EIO;
	return FL_OK;
}

void wallet_events_close(wallet_events *e)
{
	if (e == NULL)
		return;
	if (e->multi != NULL && e->easy != NULL)
		curl_multi_remove_handle(e->multi, e->easy);
	if (e->easy != NULL)
		curl_easy_cleanup(e->easy);
	if (e->multi != NULL)
		curl_multi_cleanup(e->multi);
	fl_free(e);
}

int wallet_events_open(wallet_events **out, const wallet *w, char *err, size_t errlen)
{
	char url[WALLET_URL_MAX + 16];
	wallet_events *e;
	long status = 0;
	int waited = 0;

	*out = NULL;
	if ((e = fl_calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return FL_ENOMEM;
	}
	snprintf(url, sizeof(url), "%s/v1/events", w->node);
	if ((e->multi = curl_multi_init()) == NULL || (e->easy = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl: cannot start a request");
		goto fail;
	}
	curl_easy_setopt(e->easy, CURLOPT_URL, url);
	curl_easy_setopt(e->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)EVENTS_OPEN_MS);
	curl_easy_setopt(e->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e->easy, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e->easy, CURLOPT_HEADERDATA, e);
	curl_easy_setopt(e->easy, CURLOPT_USERAGENT, WALLET_PROG);
	if (curl_multi_add_handle(e->multi, e->easy) != CURLM_OK) {
		snprintf(err, errlen, "libcurl: cannot start a request");
		goto fail;
	}
	e->running = 1;
	while (!e->headers_done && e->running && waited < EVENTS_OPEN_MS) {
		if (pump(e, 50) != FL_OK)
			break;
		waited += 50;
	}
	curl_easy_getinfo(e->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!e->headers_done || !e->running || status != 200) {
		snprintf(err, errlen, "node %s: /v1/events: %s", w->node,
			 status != 0 ? "refused the subscription" : "no answer");
		goto fail;
	}
	*out = e;
	return FL_OK;

fail:
	wallet_events_close(e);
	return FL_EIO;
}

void wallet_events_want(wallet_events *e, const fl_hash *tx)
{
	fl_hash_to_hex(e->want, tx);
}

int wallet_events_wait(wallet_events *e, int wait_ms, uint64_t *height, uint64_t *tip)
{
	int rc = e->running ? pump(e, wait_ms) : FL_EIO;

	*tip = e->tip;
	if (e->found) {
		*height = e->height;
		return 1;
	}
	if (rc != FL_OK || !e->running)
		return FL_EIO; /* the stream ended: the caller polls instead */
	return 0;
}
