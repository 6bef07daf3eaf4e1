/*
 * node/config_write.c — config.json from a node_config, through the same
 * field table the reader uses, so whatever is written reads back equal.
 */
#include "node/config_internal.h"

#include <jansson.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* json_object_set_new that remembers a failure in *ok (it frees v either way). */
static void set(json_t *obj, const char *key, json_t *v, int *ok)
{
	if (v == NULL || json_object_set_new(obj, key, v) != 0)
		*ok = 0;
}

static void append(json_t *arr, json_t *v, int *ok)
{
	if (v == NULL || json_array_append_new(arr, v) != 0)
		*ok = 0;
}

static json_t *peers_json(const node_config *cfg)
{
	char text[FL_PUBKEY_HEX_LEN + 1 + P2P_ADDR_MAX];
	json_t *arr = json_array();
	int ok = arr != NULL;

	for (uint32_t i = 0; ok && i < cfg->p2p.n_persistent_peers; i++) {
		const node_config_peer *p = &cfg->p2p.persistent_peers[i];
		fl_pubkey_to_hex(text, &p->id);
		text[FL_PUBKEY_HEX_LEN] = '@';
		snprintf(text + FL_PUBKEY_HEX_LEN + 1, P2P_ADDR_MAX, "%s", p->addr);
		append(arr, json_string(text), &ok);
	}
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *origins_json(const node_config *cfg)
{
	json_t *arr = json_array();
	int ok = arr != NULL;

	for (uint32_t i = 0; ok && i < cfg->rpc.n_cors_allowed_origins; i++)
		append(arr, json_string(cfg->rpc.cors_allowed_origins[i]), &ok);
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* Only the modules given their own level: the others follow log.level. */
static json_t *modules_json(const node_config *cfg)
{
	json_t *obj = json_object();
	int ok = obj != NULL;

	for (size_t m = 0; ok && m < NODE_LOG_MODULES; m++)
		if (cfg->log.modules[m] >= 0)
			set(obj, node_log_module_name((node_log_module)m),
			    json_string(node__log_level_names[cfg->log.modules[m]]), &ok);
	if (!ok) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *field_json(const node__config_field *f, const node_config *cfg)
{
	const char *at = (const char *)cfg + f->offset;

	switch (f->kind) {
	case CF_U32:
		return json_integer((json_int_t) * (const uint32_t *)(const void *)at);
	case CF_U64:
		/* At most 1 GiB (the table's max): exact in any JSON reader. */
		return json_integer((json_int_t) * (const uint64_t *)(const void *)at);
	case CF_NAME:
	case CF_PATH:
	case CF_LISTEN:
	case CF_EXTERNAL:
		return json_string(at);
	case CF_LOG_FORMAT:
		return json_string(
		    node__log_format_names[*(const fl_log_format *)(const void *)at]);
	case CF_LOG_LEVEL:
		return json_string(node__log_level_names[*(const fl_log_level *)(const void *)at]);
	case CF_LOG_MODULES:
		return modules_json(cfg);
	case CF_PEERS:
		return peers_json(cfg);
	case CF_ORIGINS:
		return origins_json(cfg);
	case CF_DATA:
		return node__config_data_json(cfg);
	}
	assert(0 && "a kind missing from field_json");
	return NULL;
}

/* The fields of one section into obj, in the table's order. */
static void section_json(json_t *obj, const char *section, const node_config *cfg, int *ok)
{
	for (size_t i = 0; *ok && i < node__config_n_fields; i++)
		if (strcmp(node__config_fields[i].section, section) == 0)
			set(obj, node__config_fields[i].key,
			    field_json(&node__config_fields[i], cfg), ok);
}

char *node_config_to_string(const node_config *cfg)
{
	json_t *root = json_object();
	char *text = NULL, *out = NULL;
	int ok = root != NULL;
	size_t n;

	assert(cfg != NULL);
	section_json(root, "", cfg, &ok);
	for (size_t s = 0; ok && node__config_sections[s] != NULL; s++) {
		json_t *obj = json_object();
		if (obj != NULL)
			section_json(obj, node__config_sections[s], cfg, &ok);
		set(root, node__config_sections[s], obj, &ok);
	}
	/* jansson keeps insertion order: the table's. */
	if (ok)
		text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	out = fl_malloc(n + 2);
	if (out != NULL) {
		memcpy(out, text, n);
		out[n] = '\n';
		out[n + 1] = '\0';
	}
	free(text); /* jansson's allocation */
	return out;
}

int node_config_write(const char *path, const node_config *cfg, char *err, size_t errlen)
{
	char *text;
	int rc;

	assert(path != NULL && cfg != NULL);
	text = node_config_to_string(cfg);
	rc = text == NULL ? FL_ENOMEM : fl_file_write_atomic(path, text, strlen(text), 0644);
	if (rc < 0 && err != NULL && errlen > 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, fl_strerror(rc));
		node__config_one_line(err);
	}
	fl_free(text);
	return rc;
}
