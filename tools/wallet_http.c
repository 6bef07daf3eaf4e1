/*
 * tools/wallet_http.c — the wallet's client of the node's HTTP API
 * (docs/http.md) over libcurl: one blocking request at a time, the answer
 * bounded by WALLET_HTTP_MAX and parsed as JSON, the node's error object
 * turned into one line that names its reason.
 */
#include "tools/wallet.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

/* One request never waits longer than this for the node, whatever
 * --timeout says: a node that does not answer a GET in 10 s is down. */
#define HTTP_REQUEST_TIMEOUT_MS 10000L

typedef struct {
	char *p;
	size_t len;
	int toobig;
} http_body;

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
	http_body *b = ctx;
	size_t n = size * nmemb;
	char *grown;

	if (n > WALLET_HTTP_MAX - b->len) {
		b->toobig = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	if ((grown = fl_realloc(b->p, b->len + n + 1)) == NULL)
		return 0;
	b->p = grown;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

int wallet_http(const wallet *w, const char *method, const char *path, const char *body,
		long *status, json_t **out, char *err, size_t errlen)
{
	char url[WALLET_URL_MAX + 256], curl_err[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	http_body b = {NULL, 0, 0};
	CURL *c;
	CURLcode cc;
	int rc = FL_OK;

	*status = 0;
	*out = NULL;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", w->node, path) >= sizeof(url)) {
		snprintf(err, errlen, "%s: URL too long", path);
		return FL_EINVAL;
	}
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl: cannot start a request");
		return FL_ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_USERAGENT, WALLET_PROG);
	if (strcmp(method, "POST") == 0) {
		headers = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (b.toobig) {
			snprintf(err, errlen, "node %s: answer larger than %u bytes", w->node,
				 WALLET_HTTP_MAX);
			rc = FL_ETOOBIG;
		} else {
			snprintf(err, errlen, "node %s: %s", w->node,
				 curl_err[0] != '\0' ? curl_err : curl_easy_strerror(cc));
			rc = cc == CURLE_OPERATION_TIMEDOUT ? FL_ETIMEOUT : FL_EIO;
		}
		goto cleanup;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (b.len > 0) {
		*out = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, NULL);
		if (*out != NULL && !json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
		}
	}

cleanup:
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	fl_free(b.p);
	return rc;
}

void wallet_node_error(char *err, size_t errlen, long status, const json_t *answer)
{
	const json_t *e = answer != NULL ? json_object_get(answer, "error") : NULL;
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	if (code != NULL && msg != NULL)
		snprintf(err, errlen, "node: %ld %s: %s", status, code, msg);
	else
		snprintf(err, errlen, "node: HTTP %ld with %s", status,
			 answer != NULL ? "no error object" : "no JSON answer");
}

json_t *wallet_get(const wallet *w, const char *path, long *status, char *err, size_t errlen)
{
	json_t *o = NULL;
	long st = 0;

	if (wallet_http(w, "GET", path, NULL, &st, &o, err, errlen) != FL_OK)
		return NULL;
	if (status != NULL)
		*status = st;
	if (st == 200 && o != NULL)
		return o;
	if (st == 200)
		snprintf(err, errlen, "node: GET %s: the answer is not a JSON object", path);
	else
		wallet_node_error(err, errlen, st, o);
	json_decref(o);
	return NULL;
}
