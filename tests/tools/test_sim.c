/*
 * tests/tools/test_sim.c — the real fedledger-sim ($FEDLEDGER_BIN, default
 * build/bin) on Fashion-MNIST, kept quick with a small model and
 * --max-samples.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl/fl.h"
#include "tests/tools/helpers.h"

/* 3 clients × 300 samples, 784-32-10: well under a second a run. */
#define TINY "--rounds", "2", "--model", "784-32-10", "--max-samples", "300", "--json"

static test_run run;

/* The final line's hash, after checking the whole --json output: `rounds`
 * round lines, then the final object. */
static void check_json_run(const test_run *r, int rounds, char hash[65], json_t **lines)
{
	size_t n;
	json_t *fin;
	const char *h;

	cr_assert_eq(r->status, 0, "status %d; stderr: %s", r->status, r->err);
	cr_assert_str_empty(r->err, "stderr: %s", r->err);
	n = tool_test_json_lines(r->out, lines, 64);
	cr_assert_eq(n, (size_t)rounds + 1, "want %d lines: %s", rounds + 1, r->out);
	for (int i = 0; i < rounds; i++) {
		json_t *o = lines[i];
		double acc = json_number_value(json_object_get(o, "accuracy"));

		cr_assert_eq(json_integer_value(json_object_get(o, "round")), i + 1);
		cr_assert(acc > 0 && acc <= 1, "accuracy %f", acc);
		cr_assert_gt(json_number_value(json_object_get(o, "loss")), 0);
		cr_assert(json_is_number(json_object_get(o, "seconds")));
	}
	fin = lines[rounds];
	h = json_string_value(json_object_get(fin, "final_model"));
	cr_assert_not_null(h, "no final_model: %s", r->out);
	cr_assert_eq(strlen(h), 64);
	cr_assert_eq(strspn(h, "0123456789abcdef"), 64, "not hex: %s", h);
	cr_assert_eq(json_integer_value(json_object_get(fin, "rounds")), rounds);
	cr_assert_eq(json_number_value(json_object_get(fin, "accuracy")),
		     json_number_value(json_object_get(lines[rounds - 1], "accuracy")));
	memcpy(hash, h, 65);
}

static void free_lines(json_t **lines, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(lines[i]);
}

/* Runs the tiny set-up with extra flags and returns its final hash. */
#define TINY_HASH(hash, ...)                                                                       \
	do {                                                                                       \
		json_t *l_[64];                                                                    \
		RUN_SIM(&run, __VA_ARGS__, TINY);                                                  \
		check_json_run(&run, 2, (hash), l_);                                               \
		free_lines(l_, 3);                                                                 \
	} while (0)

Test(sim, help)
{
	RUN_SIM(&run, "--help");
	cr_assert_eq(run.status, 0);
	cr_assert_str_empty(run.err);
	cr_assert_not_null(strstr(run.out, "usage: fedledger-sim --clients N --rounds R"));
	cr_assert_not_null(strstr(run.out, "--max-samples"));
}

Test(sim, bad_options_exit_2_naming_the_option)
{
	static const struct {
		const char *argv[12];
		const char *want;
	} cases[] = {
	    {{"--rounds", "1"}, "fedledger-sim: --clients is required"},
	    {{"--clients", "3"}, "fedledger-sim: --rounds is required"},
	    {{"--clients", "0", "--rounds", "1"}, "--clients: must be an integer from 1 to 1000"},
	    {{"--clients", "3", "--rounds", "x"}, "--rounds: must be an integer"},
	    {{"--clients", "3", "--rounds", "1", "--alpha", "-1"}, "--alpha: must be a number > 0"},
	    {{"--clients", "3", "--rounds", "1", "--alpha", "0"}, "--alpha: must be a number > 0"},
	    {{"--clients", "3", "--rounds", "1", "--alpha", "1x"}, "--alpha: must be a number"},
	    {{"--clients", "3", "--rounds", "1", "--lr", "nan"}, "--lr: must be a number > 0"},
	    {{"--clients", "3", "--rounds", "1", "--lr", "inf"}, "--lr: must be a number > 0"},
	    {{"--clients", "3", "--rounds", "1", "--momentum", "1"}, "--momentum: must be"},
	    {{"--clients", "3", "--rounds", "1", "--server-momentum", "1"},
	     "--server-momentum: must be"},
	    {{"--clients", "3", "--rounds", "1", "--batch", "0"}, "--batch: must be an integer"},
	    {{"--clients", "3", "--rounds", "1", "--threads", "0"}, "--threads: must be"},
	    {{"--clients", "3", "--rounds", "1", "--seed", "-1"}, "--seed: must be a decimal"},
	    {{"--clients", "3", "--rounds", "1", "--max-samples", "0"}, "--max-samples"},
	    {{"--clients", "3", "--rounds", "1", "--model", "784-x-10"}, "--model: must be"},
	    {{"--clients", "3", "--rounds", "1", "--rule", "avg"}, "--rule: must be fedavg"},
	    {{"--clients", "3", "--rounds", "1", "--rule", "trimmed:0.5"}, "--rule"},
	    {{"--clients", "3", "--rounds", "1", "--rule", "multikrum:1"},
	     "--rule: multikrum:1 needs at least 5 clients"},
	    {{"--clients", "3", "--rounds", "1", "--rule", "norm:0"}, "--rule norm"},
	    {{"--clients", "3", "--rounds", "1", "--dp-clip", "1"}, "--dp-clip: needs --dp-noise"},
	    {{"--clients", "3", "--rounds", "1", "--dp-noise", "1"}, "--dp-noise: needs --dp-clip"},
	    {{"--clients", "3", "--rounds", "1", "--iid", "--alpha", "0.5"},
	     "only one of --alpha, --iid and --labels"},
	    {{"--clients", "3", "--rounds", "1", "--clients", "4"}, "--clients: given twice"},
	    {{"--clients", "3", "--rounds", "1", "--bogus"}, "unknown option '--bogus'"},
	    {{"--clients", "3", "--rounds", "1", "--thread", "2"}, "unknown option '--thread'"},
	    {{"--clients", "3", "--rounds", "1", "--json=yes"}, "--json: takes no value"},
	    {{"--clients", "3", "--rounds", "1", "--seed"}, "--seed: needs a value"},
	    {{"--clients", "3", "--rounds", "1", "extra"}, "unexpected argument 'extra'"},
	    /* Checked against the data once it is loaded: still a usage error. */
	    {{"--clients", "3", "--rounds", "1", "--model", "100-10"},
	     "--model: takes 100 inputs, but the data has 784 features"},
	    {{"--clients", "3", "--rounds", "1", "--model", "784-5"},
	     "--model: has 5 outputs, but the data has 10 classes"},
	    {{"--clients", "3", "--rounds", "1", "--labels", "11"}, "--labels"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_run_prog(&run, "fedledger-sim", cases[i].argv);
		tool_assert_one_line_failure(&run, 2, cases[i].want);
		cr_assert_eq(strncmp(run.err, "fedledger-sim: ", 15), 0, "%s", run.err);
	}
}

Test(sim, missing_data_is_a_runtime_failure)
{
	RUN_SIM(&run, "--clients", "3", "--rounds", "1", "--data", "/nonexistent/fashion");
	tool_assert_one_line_failure(&run, 1,
				     "--data: cannot load Fashion-MNIST from /nonexistent");
}

Test(sim, tiny_json_run)
{
	json_t *lines[64];
	char hash[65];

	RUN_SIM(&run, "--clients", "3", TINY);
	check_json_run(&run, 2, hash, lines);
	/* 10 classes: chance is 0.1; two rounds on 900 images reach well above. */
	cr_assert_gt(json_number_value(json_object_get(lines[1], "accuracy")), 0.3, "%s", run.out);
	cr_assert_null(json_object_get(lines[0], "epsilon"), "no DP, no epsilon");
	cr_assert_eq(json_integer_value(json_object_get(lines[0], "accepted")), 3);
	free_lines(lines, 3);
}

Test(sim, same_hash_for_any_thread_count)
{
	char h1[65], h2[65], h3[65];

	TINY_HASH(h1, "--clients", "4", "--threads", "1");
	TINY_HASH(h2, "--clients", "4", "--threads", "2");
	TINY_HASH(h3, "--clients", "4", "--threads", "3");
	cr_assert_str_eq(h1, h2);
	cr_assert_str_eq(h1, h3);
}

Test(sim, seed_and_flags_change_the_hash)
{
	char base[65], seed[65], split[65], lr[65];

	TINY_HASH(base, "--clients", "3");
	TINY_HASH(seed, "--clients", "3", "--seed", "2");
	TINY_HASH(split, "--clients", "3", "--iid");
	TINY_HASH(lr, "--clients", "3", "--lr", "0.01");
	cr_assert_str_neq(base, seed);
	cr_assert_str_neq(base, split);
	cr_assert_str_neq(base, lr);
}

Test(sim, server_momentum_is_fedavgm_and_thread_independent)
{
	char plain[65], m1[65], m2[65];

	/* Two rounds: the velocity only differs from the aggregate from round 2. */
	TINY_HASH(plain, "--clients", "3");
	TINY_HASH(m1, "--clients", "3", "--server-momentum", "0.9", "--threads", "1");
	TINY_HASH(m2, "--clients", "3", "--server-momentum", "0.9", "--threads", "2");
	cr_assert_str_neq(plain, m1);
	cr_assert_str_eq(m1, m2);
}

/* Both fractions are documented as < 1/2 and < 1, and are kept in parts per
 * million: a value just under the bound must not round up onto it (a trim
 * of 1/2 of 4 clients leaves none, and fails the round; a server momentum
 * of 1 lets the velocity grow without bound). */
Test(sim, fractions_just_under_their_bound_stay_under)
{
	char under[65], ppm_under[65];

	TINY_HASH(under, "--clients", "4", "--rule", "trimmed:0.4999999");
	TINY_HASH(ppm_under, "--clients", "4", "--rule", "trimmed:0.499999");
	cr_assert_str_eq(under, ppm_under);
	TINY_HASH(under, "--clients", "3", "--server-momentum", "0.9999999");
	TINY_HASH(ppm_under, "--clients", "3", "--server-momentum", "0.999999");
	cr_assert_str_eq(under, ppm_under);
}

Test(sim, robust_rules)
{
	json_t *lines[64];
	char fedavg[65], median[65], krum[65];

	TINY_HASH(fedavg, "--clients", "5");
	RUN_SIM(&run, "--clients", "5", "--rule", "median", TINY);
	check_json_run(&run, 2, median, lines);
	cr_assert_eq(json_integer_value(json_object_get(lines[0], "accepted")), 5);
	free_lines(lines, 3);
	/* Multi-Krum keeps n − f of the updates. */
	RUN_SIM(&run, "--clients", "5", "--rule", "multikrum:1", TINY);
	check_json_run(&run, 2, krum, lines);
	cr_assert_eq(json_integer_value(json_object_get(lines[0], "accepted")), 4);
	cr_assert_eq(json_integer_value(json_object_get(lines[1], "accepted")), 4);
	free_lines(lines, 3);
	cr_assert_str_neq(fedavg, median);
	cr_assert_str_neq(fedavg, krum);
	cr_assert_str_neq(median, krum);
}

Test(sim, dp_reports_the_accountants_epsilon)
{
	json_t *lines[64];
	char hash[65], plain[65];

	TINY_HASH(plain, "--clients", "3");
	RUN_SIM(&run, "--clients", "3", "--dp-clip", "1", "--dp-noise", "1.5", TINY);
	check_json_run(&run, 2, hash, lines);
	for (int r = 1; r <= 2; r++) {
		double want = fl_rdp_epsilon(1.5, 1.0, (uint64_t)r, 1e-5, NULL);
		double got = json_number_value(json_object_get(lines[r - 1], "epsilon"));

		cr_assert_gt(want, 0);
		cr_assert(fabs(got - want) < 1e-5, "round %d: epsilon %f, want %f", r, got, want);
	}
	cr_assert_gt(json_number_value(json_object_get(lines[1], "epsilon")),
		     json_number_value(json_object_get(lines[0], "epsilon")));
	cr_assert_not_null(json_object_get(lines[2], "epsilon"));
	cr_assert_str_neq(hash, plain, "clipping and noise must change the model");
	free_lines(lines, 3);
}

Test(sim, text_output)
{
	RUN_SIM(&run, "--clients", "3", "--rounds", "2", "--model", "784-32-10", "--max-samples",
		"300");
	cr_assert_eq(run.status, 0, "stderr: %s", run.err);
	/* Not a terminal: no progress bar. */
	cr_assert_str_empty(run.err);
	cr_assert_not_null(strstr(run.out, "300 to 300 samples per client"), "%s", run.out);
	cr_assert_not_null(strstr(run.out, "\nround 1/2  accuracy 0."), "%s", run.out);
	cr_assert_not_null(strstr(run.out, "\nround 2/2  accuracy 0."), "%s", run.out);
	cr_assert_not_null(strstr(run.out, "\nfinal model "), "%s", run.out);
}

/* Runs fedledger-sim on a pseudo-terminal (stdout and stderr both on it)
 * and collects everything it wrote. */
static void run_on_tty(char *buf, size_t n, const char *const *argv)
{
	const char *dir = getenv("FEDLEDGER_BIN");
	char path[512];
	char *args[32];
	size_t used = 0, k = 0;
	int fd, wstatus;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/fedledger-sim", dir && *dir ? dir : "build/bin");
	args[k++] = path;
	for (; argv[k - 1] != NULL && k < 31; k++)
		args[k] = (char *)argv[k - 1];
	args[k] = NULL;
	pid = forkpty(&fd, NULL, NULL, NULL);
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execv(path, args);
		_exit(127);
	}
	for (;;) {
		ssize_t got = read(fd, buf + used, n - 1 - used);

		/* Linux reports EIO once the child has closed its side. */
		if (got <= 0)
			break;
		used += (size_t)got;
	}
	buf[used] = '\0';
	close(fd);
	cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
	cr_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "%s", buf);
}

Test(sim, progress_bar_on_a_terminal)
{
	static char out[65536];
	const char *const text[] = {"--clients",     "3",   "--rounds", "2", "--model", "784-32-10",
				    "--max-samples", "300", NULL};
	const char *const json[] = {"--clients", "3", TINY, NULL};
	const char *line;

	run_on_tty(out, sizeof(out), text);
	cr_assert_not_null(strstr(out, "\rround 1/2  [......"), "starts empty: %s", out);
	cr_assert_not_null(strstr(out, "3/3 clients trained"), "%s", out);
	/* The bar is erased, then the round's line takes its place. */
	line = strstr(out, "\r\033[Kround 2/2  accuracy 0.");
	cr_assert_not_null(line, "%s", out);
	cr_assert_not_null(strstr(out, "final model "), "%s", out);

	run_on_tty(out, sizeof(out), json);
	cr_assert_null(strstr(out, "clients trained"), "no bar with --json: %s", out);
	cr_assert_not_null(strstr(out, "\"final_model\""), "%s", out);
}
