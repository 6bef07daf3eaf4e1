/* fl/time.c — a monotonic clock for progress lines and benchmarks. chain/
 * never reads a clock; fl/ only uses it to report how long work took. */
#include "fl/fl.h"

#include <time.h>

double fl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
