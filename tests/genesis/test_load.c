/*
 * tests/genesis/test_load.c — the examples load and check; load -> write ->
 * load keeps the genesis hash; numbers are exact; every allocation failure
 * is reported, never a crash or a leak (run under ASan by `make asan`).
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "genesis/genesis.h"

#define EXAMPLE "genesis/examples/fashion-4v.json"

static void hash_of(const chain_genesis *g, fl_hash *h)
{
	cr_assert_eq(chain_genesis_hash(h, g), FL_OK);
}

static char *read_text(const char *path, size_t *n)
{
	uint8_t *buf = NULL;

	cr_assert_eq(fl_file_read(path, &buf, n, GENESIS_MAX_BYTES), FL_OK, "%s", path);
	return (char *)buf;
}

Test(load, fashion_example)
{
	char err[GENESIS_ERR_MAX];
	chain_genesis g;
	const chain_profile *clothing, *footwear;
	static const uint16_t clothing_labels[] = {0, 1, 2, 3, 4, 6, 8};

	cr_assert_eq(genesis_load_file(EXAMPLE, &g, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_str_eq(g.chain_id, "fedledger-fashion-1");
	cr_assert_eq(g.genesis_time_ms, 1767225600000ull);
	cr_assert_eq(g.n_validators, 4);
	cr_assert_eq(g.n_members, 2);
	cr_assert_eq(g.n_balances, 6);
	cr_assert_eq(g.n_profiles, 2);
	for (uint32_t i = 0; i < 4; i++)
		cr_assert_eq(g.validators[i].power, 10);

	clothing = &g.profiles[0];
	footwear = &g.profiles[1];
	cr_assert_str_eq(clothing->id, "clothing");
	cr_assert_eq(clothing->n_labels, 7);
	cr_assert_arr_eq(clothing->labels, clothing_labels, sizeof(clothing_labels));
	cr_assert_eq(clothing->agg_rule, CHAIN_AGG_FEDAVG);
	cr_assert_eq(clothing->lr_ppm, 50000, "\"0.05\" is 50000 ppm");
	cr_assert_eq(clothing->momentum_ppm, 900000);
	cr_assert_eq(clothing->weight_decay_ppm, 100);
	cr_assert_eq(clothing->metric, CHAIN_METRIC_ACCURACY);
	cr_assert_eq(clothing->metric_target, 850000);
	cr_assert_eq(clothing->model.n_layers, 3);
	cr_assert_eq(clothing->model.sizes[0], 784);
	cr_assert_eq(clothing->model.sizes[3], 10);
	cr_assert_eq(clothing->model.activations[2], CHAIN_ACT_NONE);
	cr_assert_eq(clothing->n_summary, 10);
	cr_assert_eq(clothing->summary[0], 142857);
	cr_assert_eq(clothing->summary[5], 0);

	cr_assert_str_eq(footwear->id, "footwear");
	cr_assert_eq(footwear->n_labels, 3);
	cr_assert_eq(footwear->labels[0], 5);
	cr_assert_eq(footwear->labels[2], 9);
	cr_assert_eq(footwear->agg_rule, CHAIN_AGG_TRIMMED_MEAN);
	cr_assert_eq(footwear->agg_param, 100000);
	cr_assert_eq(footwear->dp_clip_ppm, 5000000);
	chain_genesis_free(&g);
}

Test(load, every_example_loads_and_round_trips)
{
	char err[GENESIS_ERR_MAX];
	glob_t gl;

	cr_assert_eq(glob("genesis/examples/*.json", 0, NULL, &gl), 0, "no examples found");
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		chain_genesis a, b;
		fl_hash ha, hb;
		char *text;

		cr_assert_eq(genesis_load_file(gl.gl_pathv[i], &a, err, sizeof(err)), FL_OK, "%s",
			     err);
		text = genesis_to_string(&a);
		cr_assert_not_null(text);
		cr_assert_eq(
		    genesis_load_string("written", text, strlen(text), &b, err, sizeof(err)), FL_OK,
		    "%s", err);
		hash_of(&a, &ha);
		hash_of(&b, &hb);
		cr_assert_eq(fl_hash_cmp(&ha, &hb), 0, "%s: hash changed on round trip",
			     gl.gl_pathv[i]);
		/* Writing is a fixed point: the second text is the first. */
		char *again = genesis_to_string(&b);
		cr_assert_str_eq(again, text);
		fl_free(again);
		fl_free(text);
		chain_genesis_free(&a);
		chain_genesis_free(&b);
	}
	globfree(&gl);
}

/* The PBTS bounds and the block interval: read, written back, defaulted
 * one by one when absent, and part of the genesis hash. */
Test(load, pbts_and_block_interval_round_trip)
{
	static const char head[] =
	    "{\"chain_id\": \"pbts-1\", \"genesis_time_ms\": 5, "
	    "\"validators\": [{\"pubkey\": "
	    "\"4c2493cce4f114607aa2b424079396269d591b61db6c3b353bc8098db8cee8f4\", "
	    "\"power\": 1}], \"params\": {";
	char err[GENESIS_ERR_MAX], text[1024];
	chain_genesis a, b, c;
	chain_params def;
	fl_hash ha, hb, hc;
	char *written;

	chain_params_default(&def);
	snprintf(text, sizeof(text), "%s%s}}", head,
		 "\"pbts_precision_ms\": 60000, \"pbts_msg_delay_ms\": 1, "
		 "\"block_interval_ms\": 0");
	cr_assert_eq(genesis_load_string("p.json", text, strlen(text), &a, err, sizeof(err)), FL_OK,
		     "%s", err);
	cr_assert_eq(a.params.pbts_precision_ms, 60000);
	cr_assert_eq(a.params.pbts_msg_delay_ms, 1);
	cr_assert_eq(a.params.block_interval_ms, 0);
	cr_assert_eq(a.params.timeout_propose_ms, def.timeout_propose_ms);

	written = genesis_to_string(&a);
	cr_assert_not_null(written);
	cr_assert_not_null(strstr(written, "\"pbts_precision_ms\": 60000"), "%s", written);
	cr_assert_not_null(strstr(written, "\"pbts_msg_delay_ms\": 1"), "%s", written);
	cr_assert_not_null(strstr(written, "\"block_interval_ms\": 0"), "%s", written);
	cr_assert_eq(genesis_load_string("w.json", written, strlen(written), &b, err, sizeof(err)),
		     FL_OK, "%s", err);
	cr_assert_eq(memcmp(&a.params, &b.params, sizeof(a.params)), 0);
	hash_of(&a, &ha);
	hash_of(&b, &hb);
	cr_assert_eq(fl_hash_cmp(&ha, &hb), 0);

	/* Only the interval given: the PBTS bounds take their defaults. */
	snprintf(text, sizeof(text), "%s%s}}", head, "\"block_interval_ms\": 0");
	cr_assert_eq(genesis_load_string("q.json", text, strlen(text), &c, err, sizeof(err)), FL_OK,
		     "%s", err);
	cr_assert_eq(c.params.pbts_precision_ms, 500);
	cr_assert_eq(c.params.pbts_msg_delay_ms, 2000);
	cr_assert_eq(c.params.block_interval_ms, 0);
	hash_of(&c, &hc);
	cr_assert_neq(fl_hash_cmp(&ha, &hc), 0, "the PBTS bounds are in the genesis hash");
	chain_genesis_free(&c);

	/* None of them given: all three defaults (500, 2000, 1000). */
	snprintf(text, sizeof(text), "%s}}", head);
	cr_assert_eq(genesis_load_string("r.json", text, strlen(text), &c, err, sizeof(err)), FL_OK,
		     "%s", err);
	cr_assert_eq(c.params.pbts_precision_ms, 500);
	cr_assert_eq(c.params.pbts_msg_delay_ms, 2000);
	cr_assert_eq(c.params.block_interval_ms, 1000);
	cr_assert_eq(memcmp(&c.params, &def, sizeof(def)), 0);

	fl_free(written);
	chain_genesis_free(&a);
	chain_genesis_free(&b);
	chain_genesis_free(&c);
}

Test(load, write_file_is_atomic_and_reloads)
{
	char dir[] = "/tmp/fedledger-genesis-XXXXXX", path[64], err[GENESIS_ERR_MAX];
	chain_genesis a, b;
	fl_hash ha, hb;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/genesis.json", dir);
	cr_assert_eq(genesis_load_file(EXAMPLE, &a, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(genesis_write_file(path, &a, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(genesis_load_file(path, &b, err, sizeof(err)), FL_OK, "%s", err);
	hash_of(&a, &ha);
	hash_of(&b, &hb);
	cr_assert_eq(fl_hash_cmp(&ha, &hb), 0);
	cr_assert_eq(memcmp(a.profiles, b.profiles, a.n_profiles * sizeof(chain_profile)), 0);
	chain_genesis_free(&a);
	chain_genesis_free(&b);
	unlink(path);
	rmdir(dir);
}

Test(load, profile_files_round_trip)
{
	char err[GENESIS_ERR_MAX];
	glob_t gl;

	cr_assert_eq(glob("genesis/examples/profiles/*.json", 0, NULL, &gl), 0);
	cr_assert_geq(gl.gl_pathc, 2);
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		chain_profile a, b;
		json_t *obj;
		char *text;

		cr_assert_eq(genesis_profile_load_file(gl.gl_pathv[i], &a, err, sizeof(err)), FL_OK,
			     "%s", err);
		obj = genesis_profile_to_json(&a);
		cr_assert_not_null(obj);
		text = json_dumps(obj, 0);
		json_decref(obj);
		obj = genesis_json_loads("again", text, strlen(text), err, sizeof(err));
		free(text);
		cr_assert_not_null(obj, "%s", err);
		cr_assert_eq(genesis_profile_from_json(&b, obj, "again", "", err, sizeof(err)),
			     FL_OK, "%s", err);
		json_decref(obj);
		cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "%s changed on round trip",
			     gl.gl_pathv[i]);
	}
	globfree(&gl);
}

/* A minimal valid genesis around one field's JSON text. */
static int load_with_amount(const char *amount, chain_genesis *g, char *err, size_t errlen)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"chain_id\": \"t\", \"genesis_time_ms\": 0, \"validators\": [{\"pubkey\": "
		 "\"4c2493cce4f114607aa2b424079396269d591b61db6c3b353bc8098db8cee8f4\", "
		 "\"power\": 1}], \"balances\": [{\"account\": "
		 "\"4c2493cce4f114607aa2b424079396269d591b61db6c3b353bc8098db8cee8f4\", "
		 "\"amount\": %s}]}",
		 amount);
	return genesis_load_string("t.json", text, strlen(text), g, err, errlen);
}

Test(load, u64_numbers_are_exact)
{
	char err[GENESIS_ERR_MAX];
	chain_genesis g;
	char *text;

	cr_assert_eq(load_with_amount("9007199254740992", &g, err, sizeof(err)), FL_OK, "%s", err);
	cr_assert_eq(g.balances[0].amount, 9007199254740992ull);
	chain_genesis_free(&g);

	cr_assert_eq(load_with_amount("\"18446744073709551615\"", &g, err, sizeof(err)), FL_OK,
		     "%s", err);
	cr_assert_eq(g.balances[0].amount, UINT64_MAX);
	/* Written back as a string, since a JSON number would lose it. */
	text = genesis_to_string(&g);
	cr_assert_not_null(strstr(text, "\"amount\": \"18446744073709551615\""), "%s", text);
	fl_free(text);
	chain_genesis_free(&g);

	cr_assert_neq(load_with_amount("9007199254740993", &g, err, sizeof(err)), FL_OK);
	cr_assert_not_null(strstr(err, "balances[0].amount: integers above 2^53"), "%s", err);
	chain_genesis_free(&g);

	cr_assert_neq(load_with_amount("\"18446744073709551616\"", &g, err, sizeof(err)), FL_OK);
	cr_assert_not_null(strstr(err, "balances[0].amount: out of range"), "%s", err);
	chain_genesis_free(&g);

	cr_assert_neq(load_with_amount("\"0012\"", &g, err, sizeof(err)), FL_OK);
	cr_assert_not_null(strstr(err, "not a decimal integer string"), "%s", err);
	chain_genesis_free(&g);

	cr_assert_neq(load_with_amount("1.0", &g, err, sizeof(err)), FL_OK);
	cr_assert_not_null(strstr(err, "balances[0].amount: must be an integer"), "%s", err);
	chain_genesis_free(&g);
}

Test(load, error_is_one_line_and_truncates_safely)
{
	char err[24];
	chain_genesis g;

	memset(err, 'x', sizeof(err));
	cr_assert_neq(load_with_amount("0", &g, err, sizeof(err)), FL_OK);
	cr_assert_eq(strlen(err), sizeof(err) - 1);
	cr_assert_eq(strncmp(err, "t.json: balances[0]", 19), 0, "%s", err);
	cr_assert_null(strchr(err, '\n'));
	chain_genesis_free(&g);
	/* No buffer at all is allowed too. */
	cr_assert_neq(load_with_amount("0", &g, NULL, 0), FL_OK);
	chain_genesis_free(&g);
}

Test(load, draft_allows_no_validators_but_strict_does_not)
{
	const char *text = "{\"chain_id\": \"draft-1\", \"genesis_time_ms\": 5, "
			   "\"validators\": []}";
	char err[GENESIS_ERR_MAX];
	chain_genesis g;

	cr_assert_eq(genesis_parse_string("d.json", text, strlen(text), &g, err, sizeof(err)),
		     FL_OK, "%s", err);
	cr_assert_eq(genesis_check(&g, GENESIS_CHECK_DRAFT, "d.json", err, sizeof(err)), FL_OK,
		     "%s", err);
	cr_assert_neq(genesis_check(&g, 0, "d.json", err, sizeof(err)), FL_OK);
	cr_assert_str_eq(err, "d.json: validators: must list at least one validator");
	/* Params left out take chain_params_default. */
	chain_params def;
	chain_params_default(&def);
	cr_assert_eq(memcmp(&g.params, &def, sizeof(def)), 0);
	chain_genesis_free(&g);
}

Test(load, reals_from_plain_jansson_trees_are_refused)
{
	char err[GENESIS_ERR_MAX];
	json_t *obj;
	chain_profile p;
	char *text = read_text("genesis/examples/profiles/clothing.json", &(size_t){0});

	/* A tree from plain json_loads: lr is a double by now. */
	obj = json_loads(text, 0, NULL);
	cr_assert_not_null(obj);
	json_object_set_new(json_object_get(obj, "training"), "lr", json_real(0.05));
	cr_assert_neq(genesis_profile_from_json(&p, obj, "plain", "", err, sizeof(err)), FL_OK);
	cr_assert_not_null(strstr(err, "plain: training.lr: write fractions as decimal strings"),
			   "%s", err);
	/* Its integers are fine. */
	json_object_set_new(json_object_get(obj, "training"), "lr", json_string("0.05"));
	cr_assert_eq(genesis_profile_from_json(&p, obj, "plain", "", err, sizeof(err)), FL_OK, "%s",
		     err);
	cr_assert_eq(p.local_epochs, 1);
	json_decref(obj);
	fl_free(text);
}

Test(load, profile_errors_name_the_where_prefix)
{
	char err[GENESIS_ERR_MAX];
	const char *text = "{\"id\": \"x\"}";
	json_t *obj = genesis_json_loads("p.json", text, strlen(text), err, sizeof(err));
	chain_profile p;

	cr_assert_not_null(obj);
	cr_assert_neq(genesis_profile_from_json(&p, obj, "g.json", "profiles[3]", err, sizeof(err)),
		      FL_OK);
	cr_assert_str_eq(err, "g.json: profiles[3].name: missing (required)");
	json_decref(obj);
}

Test(load, missing_file_names_it)
{
	char err[GENESIS_ERR_MAX];
	chain_genesis g;

	cr_assert_eq(genesis_load_file("no/such/genesis.json", &g, err, sizeof(err)), FL_ENOTFOUND);
	cr_assert_not_null(strstr(err, "no/such/genesis.json: cannot read"), "%s", err);
	chain_genesis_free(&g);
}

/* curl's torture idea: fail the Nth allocation for every N until the load
 * succeeds; each run must fail cleanly (ASan catches leaks and misuse). */
Test(load, every_allocation_failure_is_clean)
{
	char err[GENESIS_ERR_MAX];
	size_t n;
	char *text = read_text(EXAMPLE, &n);
	unsigned long fail_at;
	int rc = -1;

	for (fail_at = 1; fail_at < 1000 && rc != FL_OK; fail_at++) {
		chain_genesis g;
		fl_alloc_fail_after(fail_at);
		rc = genesis_load_string("t", text, n, &g, err, sizeof(err));
		fl_alloc_fail_after(0);
		if (rc != FL_OK)
			cr_assert(err[0] != '\0', "failure %lu left no message", fail_at);
		chain_genesis_free(&g);
	}
	cr_assert_eq(rc, FL_OK, "still failing after %lu allocations", fail_at);
	cr_assert_gt(fail_at, 2, "the loader made no allocation through fl_malloc");
	fl_free(text);
}

/* The committed test keys are the example's validators and members. */
Test(load, example_keys_match_the_genesis)
{
	static const char *const files[] = {"validator-0", "validator-1", "validator-2",
					    "validator-3", "member-0",    "member-1"};
	char err[GENESIS_ERR_MAX], path[128], hex[FL_SECKEY_LEN * 2 + 1];
	chain_genesis g;

	cr_assert_eq(genesis_load_file(EXAMPLE, &g, err, sizeof(err)), FL_OK, "%s", err);
	for (size_t i = 0; i < FL_ARRAY_LEN(files); i++) {
		fl_seckey sk;
		fl_pubkey pk;
		const fl_pubkey *want = i < 4 ? &g.validators[i].pubkey : &g.members[i - 4].pubkey;
		size_t n;
		char *text;

		snprintf(path, sizeof(path), "genesis/examples/keys/%s.key", files[i]);
		text = read_text(path, &n);
		/* Parsed here rather than with fl_key_load: git does not keep the
		 * 0600 mode that fl_key_load insists on. */
		cr_assert_eq(sscanf(text, "fedledger-seckey-v1 %64s", hex), 1, "%s", path);
		cr_assert_eq(fl_hex_decode(sk.b, sizeof(sk.b), hex), FL_OK, "%s", path);
		cr_assert_eq(fl_key_public(&pk, &sk), FL_OK);
		cr_assert_eq(fl_pubkey_cmp(&pk, want), 0, "%s is not %s in the genesis", path,
			     files[i]);
		cr_assert_str_eq(i < 4 ? g.validators[i].name : g.members[i - 4].name, files[i]);
		fl_free(text);
	}
	chain_genesis_free(&g);
}
