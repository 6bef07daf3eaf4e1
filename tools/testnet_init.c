/* tools/testnet_init.c — `fedledger-testnet init`: N validator and M member
 * homes made by `fedledgerd init`, one genesis for all of them built with the
 * genesis library, configs that dial every other node, and DIR/testnet.json. */
#include "genesis/genesis.h"
#include "node/config.h"
#include "node/node.h"
#include "tools/internal.h"
#include "tools/testnet.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TESTNET_LIQUID 1000000000000ull /* tokens each node can spend */
#define TESTNET_BONDED 1000000000ull    /* stake so every member is a coordinator candidate */

static const char *const init_usage =
    "usage: fedledger-testnet init --out DIR --validators N [--members M]\n"
    "         [--dataset fashion-mnist] [--partition iid|dirichlet:ALPHA|labels:K]\n"
    "         [--base-port P] [--chain-id ID] [--byzantine K=MODE]...\n"
    "         [--accounts A] [--param NAME=VALUE]...\n"
    "         [--profile FILE]... [--data DIR] [--seed S] [--max-samples N]\n"
    "         [--data-labels K=L,L...]...\n"
    "Makes DIR/node0..node{N+M-1} (fedledgerd homes), one genesis for all and\n"
    "DIR/testnet.json. Node i listens on 127.0.0.1:P+10i (p2p) and P+10i+1 (rpc);\n"
    "P defaults to 26600. MODE: equivocate, silent or bad-proposal (validators),\n"
    "bad-aggregate or withhold-updates (any node) — fedledgerd start --byzantine.\n"
    "--accounts A funds A more accounts, their keys in DIR/accounts.keys (0600).\n"
    "--param sets a genesis consensus parameter (genesis.json params), e.g.\n"
    "block_interval_ms=0 or max_block_txs=10000.\n"
    "--dataset fashion-mnist puts profiles in the genesis (each --profile FILE, a\n"
    "genesis profile object; by default clothing.json and footwear.json of\n"
    "genesis/examples/profiles) and gives each member (each validator when M is 0)\n"
    "its share of Fashion-MNIST for each of them in config.json rounds.data: client\n"
    "k of the data nodes, partitioned by --partition with seed S (default 1), at\n"
    "most N samples each (default all), from DIR (default\n"
    "/usr/share/datasets/fashion-mnist). --data-labels K=L,... says node K's data\n"
    "holds only those labels (config.json rounds.data[].labels).\n"
    "Exit: 0 done, 1 a step failed, 2 bad arguments.\n";

enum {
	O_OUT,
	O_VALS,
	O_MEMBERS,
	O_DATASET,
	O_PARTITION,
	O_PORT,
	O_CHAIN,
	O_BYZ,
	O_ACCOUNTS,
	O_PARAM,
	O_PROFILE,
	O_DATA,
	O_SEED,
	O_MAX_SAMPLES,
	O_DATA_LABELS,
	O_HELP
};
static const tool_option init_opts[] = {
    {"out", 1, O_OUT},         {"validators", 1, O_VALS},     {"members", 1, O_MEMBERS},
    {"dataset", 1, O_DATASET}, {"partition", 1, O_PARTITION}, {"base-port", 1, O_PORT},
    {"chain-id", 1, O_CHAIN},  {"byzantine", 1, O_BYZ},       {"accounts", 1, O_ACCOUNTS},
    {"param", 1, O_PARAM},     {"profile", 1, O_PROFILE},     {"data", 1, O_DATA},
    {"seed", 1, O_SEED},       {"max-samples", 1, O_MAX_SAMPLES}, {"data-labels", 1, O_DATA_LABELS},
    {"help", 0, O_HELP},
};

#define PROFILE_FILES_MAX 8

/* What --dataset gives the nodes' config.json (configure_data). */
typedef struct {
	const char *files[PROFILE_FILES_MAX];
	uint32_t n_files;
	const char *dir;
	const char *partition;
	uint64_t seed;
	uint32_t max_samples;
	uint32_t n_labels[TESTNET_MAX_NODES]; /* --data-labels K=...: node K's labels */
	uint16_t labels[TESTNET_MAX_NODES][CHAIN_MAX_LABELS];
} data_opts;

/* "K=L,L,..." with K < TESTNET_MAX_NODES, labels strictly increasing,
 * each < 65536, at most CHAIN_MAX_LABELS: into data. -1 when malformed. */
static int data_labels_parse(data_opts *data, const char *v)
{
	char *end;
	unsigned long k;
	uint32_t n = 0;

	errno = 0;
	k = strtoul(v, &end, 10);
	if (end == v || *end != '=' || errno || k >= TESTNET_MAX_NODES || v[0] < '0' || v[0] > '9')
		return -1;
	for (const char *p = end + 1;;) {
		unsigned long l;
		if (*p < '0' || *p > '9')
			return -1;
		l = strtoul(p, &end, 10);
		if (errno || l > 65535 || n == CHAIN_MAX_LABELS ||
		    (n > 0 && l <= data->labels[k][n - 1]))
			return -1;
		data->labels[k][n++] = (uint16_t)l;
		if (*end == '\0')
			break;
		if (*end != ',')
			return -1;
		p = end + 1;
	}
	data->n_labels[k] = n;
	return 0;
}

/* iid | dirichlet:ALPHA (finite, > 0) | labels:K (1..10). */
static int partition_check(const char *p)
{
	if (strcmp(p, "iid") == 0)
		return 0;
	char *end;
	if (strncmp(p, "dirichlet:", 10) == 0 && p[10]) {
		errno = 0;
		double a = strtod(p + 10, &end);
		return (*end || errno || !(a > 0) || a > 1e6) ? -1 : 0;
	}
	if (strncmp(p, "labels:", 7) == 0 && p[7] >= '0' && p[7] <= '9') {
		errno = 0;
		unsigned long k = strtoul(p + 7, &end, 10);
		return (*end || errno || k < 1 || k > 10) ? -1 : 0;
	}
	return -1;
}

/* NAME=VALUE into params (an object): NAME of [a-z_], VALUE a decimal
 * integer; the genesis library checks the name and the range. */
static int param_add(json_t *params, const char *v)
{
	const char *eq = strchr(v, '=');
	char name[64], *end;

	if (!eq || eq == v || (size_t)(eq - v) >= sizeof name ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz_") != (size_t)(eq - v) || eq[1] < '0' ||
	    eq[1] > '9')
		return -1;
	memcpy(name, v, (size_t)(eq - v));
	name[eq - v] = '\0';
	errno = 0;
	unsigned long long x = strtoull(eq + 1, &end, 10);
	if (*end || errno || x > (unsigned long long)INT64_MAX)
		return -1;
	return json_object_set_new(params, name, json_integer((json_int_t)x));
}

/* The --param values checked before anything is written: a one-validator
 * genesis with them goes through the genesis library, which names the bad
 * field and its range. */
static int params_check(const json_t *params, char *err, size_t errlen)
{
	fl_seckey sk;
	fl_pubkey pk;
	char hex[2 * FL_PUBKEY_LEN + 1];
	chain_genesis g;
	int rc = -1;

	memset(&g, 0, sizeof g);
	if (json_object_size(params) == 0)
		return 0;
	if (fl_key_generate(&sk, &pk) != FL_OK) {
		snprintf(err, errlen, "key generation failed");
		return -1;
	}
	fl_wipe(&sk, sizeof sk);
	fl_pubkey_to_hex(hex, &pk);
	json_t *root =
	    json_pack("{s:s,s:I,s:O,s:[{s:s,s:i}]}", "chain_id", "check", "genesis_time_ms",
		      (json_int_t)1, "params", params, "validators", "pubkey", hex, "power", 1);
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	if (!text)
		snprintf(err, errlen, "out of memory");
	else
		rc = genesis_load_string("--param", text, strlen(text), &g, err, errlen);
	free(text);
	json_decref(root);
	chain_genesis_free(&g);
	return rc;
}

static int dir_is_empty_or_absent(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 1 : -1;
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

/* Runs `fedledgerd init --home HOME --moniker NAME` and reads the node id it prints. */
static int run_daemon_init(const char *home, const char *moniker, char id[65])
{
	char daemon[TESTNET_PATH_MAX];
	if (testnet_daemon_path(daemon, sizeof daemon) != 0)
		return -1;
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(daemon, "fedledgerd", "init", "--home", home, "--moniker", moniker,
		      (char *)NULL);
		fprintf(stderr, "%s: %s: %s\n", TESTNET_PROG, daemon, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	char out[512];
	size_t len = 0;
	ssize_t k;
	while ((k = read(fds[0], out + len, sizeof out - 1 - len)) > 0 && len < sizeof out - 1)
		len += (size_t)k;
	out[len] = '\0';
	close(fds[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	/* The id is the 64-hex token of the output. */
	for (char *p = out; *p; p++) {
		size_t n = strspn(p, "0123456789abcdef");
		if (n == 64) {
			memcpy(id, p, 64);
			id[64] = '\0';
			return 0;
		}
		p += n ? n - 1 : 0;
	}
	return -1;
}

static int find_profile(char *out, size_t outlen, const char *name)
{
	const char *dir = getenv("FEDLEDGER_PROFILES");
	char self[TESTNET_PATH_MAX];
	if (dir) {
		int n = snprintf(out, outlen, "%s/%s", dir, name);
		return (n < 0 || (size_t)n >= outlen) ? -1 : access(out, R_OK);
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	/* build/bin -> source tree, and the current directory as a fallback. */
	int n2 = snprintf(out, outlen, "%s/../../genesis/examples/profiles/%s", self, name);
	if (n2 > 0 && (size_t)n2 < outlen && access(out, R_OK) == 0)
		return 0;
	snprintf(out, outlen, "genesis/examples/profiles/%s", name);
	return access(out, R_OK);
}

/* The genesis as JSON, checked and normalised by the genesis library. */
static int build_genesis(const testnet *t, const char *chain_id, const data_opts *data,
			 json_t *params, uint32_t n_accounts, chain_genesis *g, char *err,
			 size_t errlen)
{
	int rc = -1;
	json_t *root = json_object(), *vals = json_array(), *mems = json_array(),
	       *bals = json_array(), *profs = json_array();
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	json_object_set_new(root, "chain_id", json_string(chain_id));
	json_object_set_new(root, "genesis_time_ms",
			    json_integer((json_int_t)now.tv_sec * 1000 - 1000));
	for (uint32_t i = 0; i < t->n; i++) {
		const testnet_node *nd = &t->node[i];
		if (nd->validator)
			json_array_append_new(vals, json_pack("{s:s,s:i,s:s}", "pubkey", nd->id,
							      "power", 10, "name", nd->name));
		else
			json_array_append_new(
			    mems, json_pack("{s:s,s:s}", "pubkey", nd->id, "name", nd->name));
		json_array_append_new(bals, json_pack("{s:s,s:I,s:I}", "account", nd->id, "amount",
						      (json_int_t)TESTNET_LIQUID, "bonded",
						      (json_int_t)TESTNET_BONDED));
	}
	if (n_accounts && testnet_accounts_make(t->dir, n_accounts, bals, err, errlen) != 0)
		goto cleanup;
	if (json_object_size(params))
		json_object_set(root, "params", params);
	json_object_set_new(root, "validators", vals);
	json_object_set_new(root, "members", mems);
	json_object_set_new(root, "balances", bals);
	static const char *const defaults[] = {"clothing.json", "footwear.json"};
	uint32_t n_files = data == NULL ? 0 : data->n_files ? data->n_files : 2;
	for (uint32_t k = 0; k < n_files; k++) {
		char path[TESTNET_PATH_MAX];
		if (data->n_files)
			snprintf(path, sizeof path, "%s", data->files[k]);
		else if (find_profile(path, sizeof path, defaults[k]) != 0) {
			snprintf(err, errlen,
				 "--dataset: the Fashion-MNIST profile (%s) not found; "
				 "set FEDLEDGER_PROFILES",
				 defaults[k]);
			goto cleanup;
		}
		json_error_t je;
		json_t *p = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
		if (!p) {
			if (snprintf(err, errlen, "--profile: %s: %s", path, je.text) < 0)
				err[0] = '\0';
			goto cleanup;
		}
		json_array_append_new(profs, p);
	}
	json_object_set_new(root, "profiles", profs);
	profs = NULL;
	char *text = json_dumps(root, JSON_COMPACT);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	rc = genesis_load_string("genesis.json", text, strlen(text), g, err, errlen);
	free(text);
cleanup:
	json_decref(profs);
	json_decref(root);
	return rc;
}

static int write_testnet_json(const testnet *t, const char *chain_id, const char *dataset,
			      const char *partition, unsigned base_port)
{
	json_t *nodes = json_array();
	for (uint32_t i = 0; i < t->n; i++) {
		const testnet_node *nd = &t->node[i];
		json_array_append_new(
		    nodes, json_pack("{s:s,s:s,s:s,s:i,s:i,s:s*}", "name", nd->name, "id", nd->id,
				     "role", nd->validator ? "validator" : "member", "p2p_port",
				     nd->p2p_port, "rpc_port", nd->rpc_port, "byzantine",
				     nd->byzantine[0] ? nd->byzantine : NULL));
	}
	json_t *root =
	    json_pack("{s:s,s:i,s:i,s:i,s:s*,s:s,s:o}", "chain_id", chain_id, "validators",
		      (int)t->n_validators, "members", (int)t->n_members, "base_port",
		      (int)base_port, "dataset", dataset, "partition", partition, "nodes", nodes);
	char path[TESTNET_PATH_MAX];
	int n = snprintf(path, sizeof path, "%s/testnet.json", t->dir);
	int rc = root && n > 0 && (size_t)n < sizeof path
		     ? json_dump_file(root, path, JSON_INDENT(2))
		     : -1;
	json_decref(root);
	return rc;
}

/*
 * Node i's share of the data for every genesis profile: the data nodes are
 * the members (the validators when there are none), node i client k of
 * them, partitioned as fedledger-sim would with the same flags.
 */
static int configure_data(node_config *cfg, const testnet *t, uint32_t i, const data_opts *data,
			  const chain_genesis *g, char *err, size_t errlen)
{
	uint32_t first = t->n_members > 0 ? t->n_validators : 0;
	uint32_t clients = t->n_members > 0 ? t->n_members : t->n_validators;

	cfg->rounds.n_data = 0;
	if (data == NULL || i < first)
		return 0;
	if (g->n_profiles > NODE_CONFIG_DATA_MAX) {
		snprintf(err, errlen, "%zu profiles, at most %d with data", (size_t)g->n_profiles,
			 NODE_CONFIG_DATA_MAX);
		return -1;
	}
	for (size_t k = 0; k < g->n_profiles; k++) {
		node_config_data *d = &cfg->rounds.data[cfg->rounds.n_data++];
		const char *part = data->partition;

		memset(d, 0, sizeof(*d));
		snprintf(d->profile, sizeof d->profile, "%s", g->profiles[k].id);
		d->source = NODE_DATA_FASHION_MNIST;
		snprintf(d->dir, sizeof d->dir, "%s", data->dir);
		if (strncmp(part, "dirichlet:", 10) == 0) {
			d->partition = NODE_PARTITION_DIRICHLET;
			d->alpha_milli = (uint32_t)(strtod(part + 10, NULL) * 1000 + 0.5);
		} else if (strncmp(part, "labels:", 7) == 0) {
			d->partition = NODE_PARTITION_LABELS;
			d->labels_k = (uint32_t)strtoul(part + 7, NULL, 10);
		} else {
			d->partition = NODE_PARTITION_IID;
		}
		d->clients = clients;
		d->client = i - first;
		d->seed = data->seed;
		d->max_samples = data->max_samples;
		d->n_labels = data->n_labels[i];
		memcpy(d->labels, data->labels[i], sizeof(d->labels));
	}
	return 0;
}

static int configure_node(const testnet *t, uint32_t i, const data_opts *data,
			  const chain_genesis *g, char *err, size_t errlen)
{
	char path[TESTNET_PATH_MAX];
	node_config cfg;
	if (testnet_node_path(path, sizeof path, t, i, "config.json") != 0)
		return -1;
	int rc = node_config_load(&cfg, path, err, errlen);
	if (rc)
		return rc;
	snprintf(cfg.moniker, sizeof cfg.moniker, "%s", t->node[i].name);
	snprintf(cfg.p2p.listen, sizeof cfg.p2p.listen, "127.0.0.1:%u", t->node[i].p2p_port);
	snprintf(cfg.rpc.listen, sizeof cfg.rpc.listen, "127.0.0.1:%u", t->node[i].rpc_port);
	cfg.p2p.n_persistent_peers = 0;
	for (uint32_t j = 0; j < t->n; j++) {
		if (j == i)
			continue;
		node_config_peer *p = &cfg.p2p.persistent_peers[cfg.p2p.n_persistent_peers++];
		if (fl_pubkey_from_hex(&p->id, t->node[j].id) != 0) {
			snprintf(err, errlen, "%s: bad node id", t->node[j].name);
			return -1;
		}
		snprintf(p->addr, sizeof p->addr, "127.0.0.1:%u", t->node[j].p2p_port);
	}
	if (configure_data(&cfg, t, i, data, g, err, errlen) != 0)
		return -1;
	return node_config_write(path, &cfg, err, errlen);
}

int testnet_cmd_init(int argc, char **argv)
{
	tool_args a;
	const tool_option *opt;
	const char *v, *out = NULL, *dataset = NULL, *partition = "iid", *chain_id = "testnet";
	uint32_t n_val = 0, n_mem = 0, base = 26600, n_accounts = 0;
	int have_val = 0, r;
	const char *byz[TESTNET_MAX_NODES] = {0};
	data_opts data = {.dir = "/usr/share/datasets/fashion-mnist", .seed = 1};
	static testnet t;
	chain_genesis g;
	json_t *params = json_object();
	int rc = TOOL_EXIT_USAGE;
	char err[GENESIS_ERR_MAX];
	memset(&g, 0, sizeof g);
	memset(&t, 0, sizeof t);
	if (!params)
		return TOOL_EXIT_RUNTIME;

	tool_args_init(&a, TESTNET_PROG " init", argc, argv);
	while ((r = tool_args_next(&a, init_opts, sizeof init_opts / sizeof *init_opts, &opt,
				   &v)) != TOOL_ARGS_END) {
		if (r < 0) {
			rc = -r;
			goto cleanup;
		}
		if (r == TOOL_ARGS_OPERAND) {
			tool_error(a.prog, "unexpected argument '%s'", v);
			goto cleanup;
		}
		switch (opt->id) {
		case O_HELP:
			fputs(init_usage, stdout);
			rc = TOOL_EXIT_OK;
			goto cleanup;
		case O_OUT:
			out = v;
			break;
		case O_VALS:
			if (tool_parse_u32(&a, "validators", v, 1, TESTNET_MAX_NODES, &n_val))
				goto cleanup;
			have_val = 1;
			break;
		case O_MEMBERS:
			if (tool_parse_u32(&a, "members", v, 0, TESTNET_MAX_NODES, &n_mem))
				goto cleanup;
			break;
		case O_DATASET:
			if (strcmp(v, "fashion-mnist") != 0) {
				tool_error(a.prog, "--dataset: '%s' is not fashion-mnist", v);
				goto cleanup;
			}
			dataset = v;
			break;
		case O_PARTITION:
			if (partition_check(v) != 0) {
				tool_error(a.prog,
					   "--partition: '%s' is not iid, dirichlet:ALPHA (> 0) "
					   "or labels:K (1-10)",
					   v);
				goto cleanup;
			}
			partition = v;
			break;
		case O_PORT:
			if (tool_parse_u32(&a, "base-port", v, 1024, 65535, &base))
				goto cleanup;
			break;
		case O_CHAIN:
			chain_id = v;
			break;
		case O_ACCOUNTS:
			if (tool_parse_u32(&a, "accounts", v, 0, TESTNET_MAX_ACCOUNTS, &n_accounts))
				goto cleanup;
			break;
		case O_PROFILE:
			if (data.n_files == PROFILE_FILES_MAX) {
				tool_error(a.prog, "--profile: at most %d", PROFILE_FILES_MAX);
				goto cleanup;
			}
			/* Before anything is written: a typo must not leave half a testnet. */
			if (access(v, R_OK) != 0) {
				tool_error(a.prog, "--profile: %s: cannot read it", v);
				goto cleanup;
			}
			data.files[data.n_files++] = v;
			break;
		case O_DATA:
			data.dir = v;
			break;
		case O_SEED:
			if (tool_parse_u64(&a, "seed", v, &data.seed))
				goto cleanup;
			break;
		case O_MAX_SAMPLES:
			if (tool_parse_u32(&a, "max-samples", v, 0, UINT32_MAX, &data.max_samples))
				goto cleanup;
			break;
		case O_DATA_LABELS:
			if (data_labels_parse(&data, v) != 0) {
				tool_error(a.prog,
					   "--data-labels: '%s' is not K=L,L,... (node K, labels "
					   "strictly increasing, each < 65536)",
					   v);
				goto cleanup;
			}
			break;
		case O_PARAM:
			if (param_add(params, v) != 0) {
				tool_error(a.prog,
					   "--param: '%s' is not NAME=VALUE (VALUE an integer)", v);
				goto cleanup;
			}
			break;
		case O_BYZ: {
			const char *eq = strchr(v, '=');
			char *end;
			errno = 0;
			unsigned long k = eq ? strtoul(v, &end, 10) : 0;
			const char *mode = eq ? eq + 1 : "";
			node_byzantine parsed;
			if (!eq || end != eq || eq == v || errno || k >= TESTNET_MAX_NODES ||
			    node_byzantine_parse(mode, &parsed) != 0) {
				tool_error(a.prog,
					   "--byzantine: '%s' is not K=equivocate|silent|bad-proposal|"
					   "bad-aggregate|withhold-updates",
					   v);
				goto cleanup;
			}
			byz[k] = mode;
			break;
		}
		}
	}
	if (!out) {
		tool_error(a.prog, "--out: required");
		goto cleanup;
	}
	if (!have_val) {
		tool_error(a.prog, "--validators: required");
		goto cleanup;
	}
	if (n_val + n_mem > TESTNET_MAX_NODES) {
		tool_error(a.prog, "--members: %u nodes in all, at most %d", n_val + n_mem,
			   TESTNET_MAX_NODES);
		goto cleanup;
	}
	if (base + 10u * (n_val + n_mem - 1) + 1 > 65535) {
		tool_error(a.prog, "--base-port: %u leaves ports above 65535 for %u nodes", base,
			   n_val + n_mem);
		goto cleanup;
	}
	for (uint32_t k = 0; k < TESTNET_MAX_NODES; k++)
		if (byz[k] && k >= n_val + n_mem) {
			tool_error(a.prog, "--byzantine: no node %u (%u nodes)", k, n_val + n_mem);
			goto cleanup;
		} else if (byz[k] && k >= n_val && strcmp(byz[k], "bad-aggregate") != 0 &&
		    strcmp(byz[k], "withhold-updates") != 0) {
			tool_error(a.prog, "--byzantine: node %u is not a validator", k);
			goto cleanup;
		}
	size_t cl = strlen(chain_id);
	if (cl < 1 || cl > 48 ||
	    strspn(chain_id, "abcdefghijklmnopqrstuvwxyz0123456789._-") != cl) {
		tool_error(a.prog, "--chain-id: '%s' is not 1-48 of [a-z0-9._-]", chain_id);
		goto cleanup;
	}
	if (strlen(out) >= sizeof t.dir - 64) {
		tool_error(a.prog, "--out: path too long");
		goto cleanup;
	}
	if (params_check(params, err, sizeof err) != 0) {
		tool_error(a.prog, "%s", err);
		goto cleanup;
	}
	int empty = dir_is_empty_or_absent(out);
	if (empty != 1) {
		tool_error(a.prog, "--out: %s %s", out,
			   empty == 0 ? "exists and is not empty" : "cannot be read");
		goto cleanup;
	}
	if (mkdir(out, 0755) != 0 && errno != EEXIST) {
		tool_error(a.prog, "--out: %s: %s", out, strerror(errno));
		rc = TOOL_EXIT_RUNTIME;
		goto cleanup;
	}

	snprintf(t.dir, sizeof t.dir, "%s", out);
	t.n_validators = n_val;
	t.n_members = n_mem;
	t.n = n_val + n_mem;
	rc = TOOL_EXIT_RUNTIME;
	char home[TESTNET_PATH_MAX];
	for (uint32_t i = 0; i < t.n; i++) {
		testnet_node *nd = &t.node[i];
		snprintf(nd->name, sizeof nd->name, "node%u", i);
		nd->p2p_port = (uint16_t)(base + 10 * i);
		nd->rpc_port = (uint16_t)(base + 10 * i + 1);
		nd->validator = i < n_val;
		if (byz[i])
			snprintf(nd->byzantine, sizeof nd->byzantine, "%s", byz[i]);
		if (testnet_node_path(home, sizeof home, &t, i, NULL) != 0 ||
		    run_daemon_init(home, nd->name, nd->id) != 0) {
			tool_error(a.prog, "%s: fedledgerd init failed", home);
			goto cleanup;
		}
	}
	data.partition = partition;
	if (data.n_files > 0 && dataset == NULL) {
		tool_error(a.prog, "--profile: needs --dataset fashion-mnist");
		goto cleanup;
	}
	if (strlen(data.dir) >= NODE_CONFIG_DATA_PATH_MAX) {
		tool_error(a.prog, "--data: longer than %d bytes", NODE_CONFIG_DATA_PATH_MAX - 1);
		goto cleanup;
	}
	if (build_genesis(&t, chain_id, dataset != NULL ? &data : NULL, params, n_accounts, &g, err,
			  sizeof err) != 0) {
		tool_error(a.prog, "%s", err);
		goto cleanup;
	}
	for (uint32_t i = 0; i < t.n; i++) {
		if (testnet_node_path(home, sizeof home, &t, i, "genesis.json") != 0 ||
		    genesis_write_file(home, &g, err, sizeof err) != 0) {
			tool_error(a.prog, "%s: %s", home, err);
			goto cleanup;
		}
		if (configure_node(&t, i, dataset != NULL ? &data : NULL, &g, err, sizeof err) != 0) {
			tool_error(a.prog, "%s: config.json: %s", t.node[i].name, err);
			goto cleanup;
		}
	}
	if (write_testnet_json(&t, chain_id, dataset, partition, base) != 0) {
		tool_error(a.prog, "%s/testnet.json: cannot write", t.dir);
		goto cleanup;
	}
	printf("%s: %u validators, %u members, ports %u-%u\n", t.dir, n_val, n_mem, base,
	       base + 10 * (t.n - 1) + 1);
	rc = TOOL_EXIT_OK;
cleanup:
	json_decref(params);
	chain_genesis_free(&g);
	return rc;
}
