/* tests/tools/test_wallet_node.c — fedledger-wallet against a real
 * single-validator fedledgerd testnet on 127.0.0.1: the validator's
 * member.key imported, a transfer and a bond land (balances move), a
 * refusal carries the node's reason, and a profile proposed and voted YES
 * by the only validator becomes active. */
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
static char dir[128], url[64], vkey[192], ukey[192];

/* Two free consecutive loopback ports (the testnet's node0 takes base for
 * p2p and base+1 for RPC): asked of the kernel, so parallel test binaries
 * do not collide on a guessed range. */
static int free_base_port(void)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t len = sizeof(sa);
		int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_STREAM, 0), ok;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		cr_assert(a >= 0 && b >= 0);
		ok = bind(a, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		     getsockname(a, (struct sockaddr *)&sa, &len) == 0;
		int port = ntohs(sa.sin_port);
		sa.sin_port = htons((uint16_t)(port + 1));
		ok = ok && port < 65000 && bind(b, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(a);
		close(b);
		if (ok)
			return port;
	}
	cr_assert_fail("no two free consecutive ports");
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
	const char *const args[] = {"down", dir, NULL};
	char cmd[256];

	test_run_prog(&run, "fedledger-testnet", args);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

Test(wallet_node, transfer_bond_and_profile_vote_land, .timeout = 150, .fini = down)
{
	char port[16], member[256], profile[256], cmd[640], addr[65], me[65];

	setenv("FEDLEDGER_PASSPHRASE", "testnet validator", 1);
	snprintf(dir, sizeof(dir), "/tmp/fl-wallet-node-%d", (int)getpid());
	int base = free_base_port();
	snprintf(port, sizeof(port), "%d", base);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", base + 1);
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
	snprintf(cmd, sizeof(cmd),
		 "sed 's/\"id\": \"clothing\"/\"id\": \"wallet-e2e\"/' "
		 "genesis/examples/profiles/clothing.json > '%s'",
		 profile);
	cr_assert_eq(system(cmd), 0);
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

	/* --no-wait: the hash once the node admits it; the tx still lands. */
	WALLET(vkey, "--no-wait", "transfer", addr, "1");
	o = ok_json();
	cr_assert(json_is_false(json_object_get(o, "committed")));
	cr_assert_null(json_object_get(o, "height"));
	json_decref(o);
	for (int k = 0; k < 100; k++) {
		json_t *b = balance_of(addr);
		long long bal = field(b, "balance");

		json_decref(b);
		if (bal == 777001)
			break;
		cr_assert_lt(k, 99, "the --no-wait transfer never landed");
		usleep(100 * 1000);
	}
}
