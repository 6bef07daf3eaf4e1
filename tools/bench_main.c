/*
 * tools/bench_main.c — fedledger-bench [--json] [--quick] [SUITE...]: runs
 * the named suites (all of them when none is named) and prints each figure
 * next to its same-run baseline (tools/bench.h). `make bench` runs them all.
 * Exit status: 0 done, 1 a suite failed, 2 bad arguments.
 */
#include "tools/bench.h"
#include "tools/internal.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	printf("usage: " BENCH_PROG " [--json] [--quick] [SUITE...]\n"
	       "\n"
	       "Measures fedledger's engine on this machine, each figure next to a\n"
	       "baseline measured in the same run. Without SUITE, runs every suite.\n"
	       "\n"
	       "suites:\n");
	for (size_t i = 0; i < bench_n_suites; i++)
		printf("  %-10s %s\n", bench_suites[i].name, bench_suites[i].what);
	printf("\n"
	       "  --json     one JSON object per figure: {\"suite\",\"name\",\"value\",\"unit\",\n"
	       "             \"baseline_name\",\"baseline\",\"ratio\"}\n"
	       "  --quick    a small fraction of the work, for tests: the figures are noise\n"
	       "  --help     this text\n"
	       "\n"
	       "Exit status: 0 done, 1 a suite failed, 2 bad arguments.\n");
}

enum { O_JSON, O_QUICK, O_HELP };

static const tool_option options[] = {
    {"json", 0, O_JSON},
    {"quick", 0, O_QUICK},
    {"help", 0, O_HELP},
};

static const bench_suite *find_suite(const char *name)
{
	for (size_t i = 0; i < bench_n_suites; i++)
		if (strcmp(bench_suites[i].name, name) == 0)
			return &bench_suites[i];
	return NULL;
}

/* What a reader of the table needs to judge the figures. */
static void print_machine(void)
{
	char line[256], model[256] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		const char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	printf("# %s, %ld online CPUs; OpenBLAS core %s (%s)\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN), openblas_get_corename(), openblas_get_config());
	fflush(stdout); /* before the suites' progress on stderr */
}

int main(int argc, char **argv)
{
	const bench_suite *chosen[16];
	size_t n_chosen = 0;
	bench_ctx b = {0};
	const tool_option *opt;
	const char *value;
	tool_args a;
	int kind;

	tool_args_init(&a, BENCH_PROG, argc, argv);
	while ((kind = tool_args_next(&a, options, FL_ARRAY_LEN(options), &opt, &value)) !=
	       TOOL_ARGS_END) {
		const bench_suite *s;

		if (kind < 0)
			return -kind;
		if (kind == TOOL_ARGS_OPTION) {
			if (opt->id == O_HELP) {
				usage();
				return TOOL_EXIT_OK;
			}
			if (opt->id == O_JSON)
				b.json = 1;
			else
				b.quick = 1;
			continue;
		}
		s = find_suite(value);
		if (s == NULL) {
			char names[256] = "";

			for (size_t i = 0; i < bench_n_suites; i++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
					 "%s%s", i ? ", " : "", bench_suites[i].name);
			tool_error(BENCH_PROG, "unknown suite '%s' (suites: %s)", value, names);
			return TOOL_EXIT_USAGE;
		}
		if (n_chosen == FL_ARRAY_LEN(chosen)) {
			tool_error(BENCH_PROG, "too many suites named (at most %zu)",
				   FL_ARRAY_LEN(chosen));
			return TOOL_EXIT_USAGE;
		}
		chosen[n_chosen++] = s;
	}
	if (n_chosen == 0)
		for (size_t i = 0; i < bench_n_suites && i < FL_ARRAY_LEN(chosen); i++)
			chosen[n_chosen++] = &bench_suites[i];

	if (!b.json)
		print_machine();
	for (size_t i = 0; i < n_chosen; i++) {
		int rc = chosen[i]->run(&b);

		if (rc < 0) {
			tool_error(BENCH_PROG, "%s: %s", chosen[i]->name, fl_strerror(rc));
			return TOOL_EXIT_RUNTIME;
		}
	}
	return TOOL_EXIT_OK;
}
