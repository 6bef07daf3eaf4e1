/*
 * node/metrics_http.c — GET /metrics: the registry rendered into an
 * answer. Apart from metrics.c so that the registry itself needs no HTTP.
 */
#include "node/http.h"
#include "node/metrics.h"

#include <assert.h>

int node_metrics_respond(const node_metrics *m, node_http_exchange *ex)
{
	char *text;
	size_t n;
	int rc;

	assert(m != NULL && ex != NULL);
	if ((rc = node_metrics_render(m, &text, &n)) != FL_OK)
		return node_http_respond_error(ex, 500, "internal", fl_strerror(rc));
	rc = node_http_respond(ex, 200, NODE_METRICS_CONTENT_TYPE, text, n);
	fl_free(text);
	return rc;
}
