/*
 * tools/sim_main.c — fedledger-sim: federated learning on Fashion-MNIST
 * without a chain (shared/interfaces.md, tools/sim.h).
 * Exit status: 0 done, 1 runtime failure, 2 bad arguments; each failure is
 * one line on stderr.
 */
#include "tools/internal.h"
#include "tools/sim.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	sim_error err;
	sim_config c;
	sim_report report;
	sim_round last;
	fl_hash hash;
	sim *s = NULL;
	int rc, status;

	status = sim_parse_args(&c, argc, argv);
	if (status >= 0)
		return status;
	/* fl/ explains failures through fl_log; this tool reports each failure
	 * itself in exactly one line (shared/interfaces.md). */
	fl_log_set_level(FL_LOG_OFF);
	/* A bar is for a person watching: both streams on a terminal. */
	sim_report_init(&report, &c, isatty(STDOUT_FILENO) && isatty(STDERR_FILENO));

	rc = sim_new(&s, &c, &err);
	if (rc < 0) {
		tool_error(SIM_PROG, "%s", err.msg);
		return err.usage ? TOOL_EXIT_USAGE : TOOL_EXIT_RUNTIME;
	}
	sim_report_start(&report, &c, s);
	memset(&last, 0, sizeof(last));
	for (uint32_t r = 0; r < c.rounds; r++) {
		rc = sim_round_run(s, &last, sim_report_progress, &report);
		if (rc < 0) {
			tool_error(SIM_PROG, "round %u: %s", r + 1, fl_strerror(rc));
			status = TOOL_EXIT_RUNTIME;
			goto cleanup;
		}
		sim_report_round(&report, &last);
	}
	rc = sim_model_hash(s, &hash);
	if (rc < 0) {
		tool_error(SIM_PROG, "encoding the final model: %s", fl_strerror(rc));
		status = TOOL_EXIT_RUNTIME;
		goto cleanup;
	}
	sim_report_final(&report, &hash, &last, c.rounds, sim_elapsed(s));
	status = TOOL_EXIT_OK;
cleanup:
	sim_free(s);
	return status;
}
