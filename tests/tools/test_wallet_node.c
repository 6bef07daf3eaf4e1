/* tests/tools/test_wallet_node.c — fedledger-wallet against a real
 * single-validator fedledgerd testnet on 127.0.0.1: the validator's
 * member.key imported, a transfer and a bond land (balances move), a
 * refusal carries the node's reason, and a profile proposed and voted YES
 * by the only validator becomes active; and with two members training on
 * Fashion-MNIST, the rounds table of committed rounds. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tools/helpers.h"

static test_run run;
static char dir[128], net[192], url[64], vkey[192], ukey[192];

static int port_free(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	cr_assert_geq(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* A base port for a testnet of `nodes` (node i takes base + 10i for p2p
 * and base + 10i + 1 for RPC), every one of them free: the base asked of
 * the kernel, so parallel test binaries do not collide on a guessed range. */
static int free_base_port(int nodes)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t len = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0, ok = 1;

		cr_assert_geq(fd, 0);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
			port = ntohs(sa.sin_port);
		close(fd);
		if (port == 0 || port + 10 * nodes > 65000)
			continue;
		for (int i = 0; i < nodes && ok; i++)
			ok = port_free(port + 10 * i) && port_free(port + 10 * i + 1);
		if (ok)
			return port;
	}
	cr_assert_fail("no free ports for %d nodes", nodes);
	return 0;
}

static void wallet(const char *key, const char *const *args)
{
	const char *argv[16];
	size_t n = 0;

	argv[n++] = "--node";
	argv[n++] = url;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--json";
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	test_run_prog(&run, "fedledger-wallet", argv);
}

#define WALLET(key, ...)                                                                           \
	do {                                                                                       \
		const char *const args_[] = {__VA_ARGS__, NULL};                                   \
		wallet((key), args_);                                                              \
	} while (0)

static json_t *ok_json(void)
{
	json_t *o[2];

	cr_assert_eq(run.status, 0, "exit %d: %s", run.status, run.err);
	cr_assert_eq(tool_test_json_lines(run.out, o, 2), 1, "want one JSON line: %s", run.out);
	return o[0];
}

static long long field(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	cr_assert(json_is_integer(v), "%s: not an integer", key);
	return json_integer_value(v);
}

/* A committed tx's JSON: its height is set. */
static void assert_committed(const char *kind)
{
	json_t *o = ok_json();

	cr_assert_str_eq(json_string_value(json_object_get(o, "kind")), kind);
	cr_assert(json_is_true(json_object_get(o, "committed")), "%s", run.out);
	cr_assert_gt(field(o, "height"), 0);
	cr_assert_eq(strlen(json_string_value(json_object_get(o, "hash"))), 64);
	json_decref(o);
}

static json_t *balance_of(const char *account)
{
	WALLET(vkey, "balance", account);
	return ok_json();
}

static void testnet(const char *const *args)
{
	test_run_prog(&run, "fedledger-testnet", args);
	cr_assert_eq(run.status, 0, "fedledger-testnet %s: %s", args[0], run.err);
}

static void down(void)
{
	const char *const args[] = {"down", net, NULL};
	char cmd[256];

	test_run_prog(&run, "fedledger-testnet", args);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

Test(wallet_node, transfer_bond_and_profile_vote_land, .timeout = 150, .fini = down)
{
	char port[16], member[256], profile[256], addr[65], me[65];

	setenv("FEDLEDGER_PASSPHRASE", "testnet validator", 1);
	snprintf(dir, sizeof(dir), "/tmp/fl-wallet-node-%d", (int)getpid());
	int base = free_base_port(1);
	snprintf(port, sizeof(port), "%d", base);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", base + 1);
	snprintf(net, sizeof(net), "%s", dir);
	testnet((const char *const[]){"init", "--out", dir, "--validators", "1", "--base-port",
				      port, NULL});
	testnet((const char *const[]){"up", dir, "--timeout", "60", NULL});
	setenv("HOME", dir, 1);

	/* The validator's own key, imported: this wallet votes as the chain's
	 * only validator. */
	snprintf(member, sizeof(member), "%s/node0/keys/member.key", dir);
	snprintf(vkey, sizeof(vkey), "%s/validator.key", dir);
	snprintf(ukey, sizeof(ukey), "%s/user.key", dir);
	WALLET(vkey, "keygen", "--import", member);
	json_t *o = ok_json();
	snprintf(me, sizeof(me), "%s", json_string_value(json_object_get(o, "address")));
	json_decref(o);
	WALLET(ukey, "keygen");
	o = ok_json();
	snprintf(addr, sizeof(addr), "%s", json_string_value(json_object_get(o, "address")));
	json_decref(o);

	json_t *before = balance_of(me);
	cr_assert(json_is_true(json_object_get(before, "validator")), "%s", run.out);
	json_t *fresh = balance_of(addr);
	cr_assert(json_is_false(json_object_get(fresh, "exists")));
	cr_assert_eq(field(fresh, "balance"), 0);
	json_decref(fresh);

	/* A transfer lands: the new account holds it, the sender paid it. */
	WALLET(vkey, "transfer", addr, "777000");
	assert_committed("transfer");
	json_t *got = balance_of(addr);
	cr_assert_eq(field(got, "balance"), 777000);
	cr_assert(json_is_true(json_object_get(got, "exists")));
	json_decref(got);
	json_t *after = balance_of(me);
	cr_assert_eq(field(after, "balance"), field(before, "balance") - 777000);
	cr_assert_eq(field(after, "nonce"), field(before, "nonce") + 1);

	/* A bond lands: liquid to bonded. The balance without ACCOUNT is the
	 * key file's own. */
	WALLET(vkey, "bond", "5000");
	assert_committed("bond");
	WALLET(vkey, "balance");
	json_t *bonded = ok_json();
	cr_assert_str_eq(json_string_value(json_object_get(bonded, "id")), me);
	cr_assert_eq(field(bonded, "bonded"), field(after, "bonded") + 5000);
	cr_assert_eq(field(bonded, "balance"), field(after, "balance") - 5000);
	json_decref(bonded);
	json_decref(after);
	json_decref(before);

	/* The node's refusal, by its code and its words. */
	WALLET(ukey, "unbond", "1");
	tool_assert_one_line_failure(&run, 1, "bonded stake too low");
	cr_assert_not_null(strstr(run.err, "422 tx_refused"), "%s", run.err);

	/* A profile proposed, then voted YES by the only validator: active. */
	snprintf(profile, sizeof(profile), "%s/profile.json", dir);
	tool_test_sed("genesis/examples/profiles/clothing.json",
		      "s/\"id\": \"clothing\"/\"id\": \"wallet-e2e\"/", profile);
	WALLET(vkey, "profile", "propose", profile);
	assert_committed("profile_propose");
	WALLET(vkey, "profile", "show", "wallet-e2e");
	o = ok_json();
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "state"), "status")),
			 "proposed");
	json_decref(o);
	/* Only a validator may vote: the user's vote is refused by name. */
	WALLET(ukey, "profile", "vote", "wallet-e2e", "yes");
	cr_assert_eq(run.status, 1, "%s", run.err);
	cr_assert_not_null(strstr(run.err, "tx_refused"), "%s", run.err);
	WALLET(vkey, "profile", "vote", "wallet-e2e", "yes");
	assert_committed("profile_vote");
	WALLET(vkey, "profile", "show", "wallet-e2e");
	o = ok_json();
	json_t *state = json_object_get(o, "state");
	cr_assert_str_eq(json_string_value(json_object_get(state, "status")), "active", "%s",
			 run.out);
	cr_assert_gt(json_integer_value(json_object_get(state, "activated_height")), 0);
	json_decref(o);

	WALLET(vkey, "profile", "list");
	o = ok_json();
	int listed = 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(o, "profiles"), i, e)
	{
		const char *id =
		    json_string_value(json_object_get(json_object_get(e, "profile"), "id"));
		if (id != NULL && strcmp(id, "wallet-e2e") == 0)
			listed = 1;
	}
	cr_assert(listed, "%s", run.out);
	json_decref(o);
	WALLET(vkey, "rounds", "wallet-e2e");
	o = ok_json();
	cr_assert_str_eq(json_string_value(json_object_get(o, "profile")), "wallet-e2e");
	cr_assert(json_is_array(json_object_get(o, "rounds")));
	json_decref(o);
	WALLET(vkey, "rounds", "no-such-profile");
	tool_assert_one_line_failure(&run, 1, "404");

	/* --no-wait: the hash once the node admits it; the txs still land.
	 * Back to back, the second steps past the nonce the first holds in
	 * the pool. */
	long long nonce0 = -1;
	for (int k = 0; k < 2; k++) {
		WALLET(vkey, "--no-wait", "transfer", addr, "1");
		o = ok_json();
		cr_assert(json_is_false(json_object_get(o, "committed")));
		cr_assert_null(json_object_get(o, "height"));
		if (k == 0)
			nonce0 = field(o, "nonce");
		else
			cr_assert_geq(field(o, "nonce"), nonce0 + 1);
		json_decref(o);
	}
	for (int k = 0; k < 100; k++) {
		json_t *b = balance_of(addr);
		long long bal = field(b, "balance");

		json_decref(b);
		if (bal == 777002)
			break;
		cr_assert_lt(k, 99, "the --no-wait transfer never landed");
		usleep(100 * 1000);
	}
}

/* Two members train a small clothing profile (tests/net/profiles, here
 * with min_participants 2): the rounds table shows committed rounds with
 * their model, coordinator, updates, accuracy and reward. */
Test(wallet_node, rounds_table_of_real_rounds, .timeout = 180, .fini = down)
{
	const char *data = getenv("FEDLEDGER_DATA");
	char port[16], profile[256], cmd[640], datadir[256];

	snprintf(datadir, sizeof(datadir), "%s",
		 data != NULL ? data : "/usr/share/datasets/fashion-mnist");
	snprintf(cmd, sizeof(cmd), "%s/train-images-idx3-ubyte.gz", datadir);
	if (access(cmd, R_OK) != 0) {
		snprintf(cmd, sizeof(cmd), "%s/train-images-idx3-ubyte", datadir);
		if (access(cmd, R_OK) != 0)
			cr_skip_test("no Fashion-MNIST under %s", datadir);
	}
	snprintf(dir, sizeof(dir), "/tmp/fl-wallet-rounds-%d", (int)getpid());
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(profile, sizeof(profile), "%s/clothing.json", dir);
	tool_test_sed("tests/net/profiles/clothing-small.json",
		      "s/\"min_participants\": 6/\"min_participants\": 2/", profile);
	snprintf(net, sizeof(net), "%s/net", dir);
	int base = free_base_port(3);
	snprintf(port, sizeof(port), "%d", base);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", base + 1);
	testnet((const char *const[]){"init",
				      "--out",
				      net,
				      "--validators",
				      "1",
				      "--members",
				      "2",
				      "--base-port",
				      port,
				      "--dataset",
				      "fashion-mnist",
				      "--data",
				      datadir,
				      "--profile",
				      profile,
				      "--partition",
				      "iid",
				      "--seed",
				      "1",
				      "--max-samples",
				      "600",
				      "--param",
				      "block_interval_ms=400",
				      NULL});
	testnet((const char *const[]){"up", net, "--timeout", "60", NULL});
	snprintf(vkey, sizeof(vkey), "%s/unused.key", dir);

	json_t *o = NULL, *r1 = NULL;
	for (int k = 0; k < 120; k++) {
		WALLET(vkey, "rounds", "clothing");
		o = ok_json();
		r1 = json_array_get(json_object_get(o, "rounds"), 0);
		if (r1 != NULL &&
		    strcmp(json_string_value(json_object_get(r1, "status")), "committed") == 0)
			break;
		json_decref(o);
		o = NULL;
		cr_assert_lt(k, 119, "round 1 never committed");
		sleep(1);
	}
	cr_assert_eq(field(r1, "round"), 1);
	cr_assert_eq(field(r1, "n_updates"), 2);
	cr_assert_gt(field(r1, "eval_accuracy_ppm"), 0);
	cr_assert_gt(field(r1, "reward_total"), 0);
	const char *model = json_string_value(json_object_get(r1, "new_model"));
	cr_assert_eq(strlen(model), 64);
	char model16[17];
	snprintf(model16, sizeof(model16), "%s", model);
	long long acc = field(r1, "eval_accuracy_ppm");
	json_decref(o);

	/* The text table: round 1's row with its model, updates and accuracy. */
	const char *const args[] = {"--node", url, "rounds", "clothing", NULL};
	test_run_prog(&run, "fedledger-wallet", args);
	cr_assert_eq(run.status, 0, "%s", run.err);
	char want[64];
	snprintf(want, sizeof(want), "%lld.%lld%%", acc / 10000, acc / 1000 % 10);
	const char *row = strstr(run.out, "\n     1 committed");
	cr_assert_not_null(row, "%s", run.out);
	const char *eol = strchr(row + 1, '\n');
	cr_assert_not_null(strstr(row, model16), "%s", run.out);
	const char *pct = strstr(row, want);
	cr_assert(pct != NULL && (eol == NULL || pct < eol), "no %s in round 1's row: %s", want,
		  run.out);
}
