/*
 * fl/fixed.c — the fixed-point format of updates (fl.h): q = round(x·2^24),
 * ties away from zero, saturated to ±FL_FIXED_MAX, NaN -> 0.
 *
 * Every step is exact or a single IEEE rounding, so a value quantises to the
 * same integer on every machine: a float (or double) times 2^24 is exact
 * (a power-of-two scale only moves the exponent; the products stay far from
 * the double range's ends), round() is exact, and the saturation compares
 * against integers that doubles represent exactly.
 */
#include "fl/internal.h"

#include <math.h>

#define FIXED_SCALE ((double)(1 << FL_FIXED_FRAC))

int32_t fl_fixed_from_double(double x)
{
	double r;

	if (isnan(x))
		return 0;
	r = round(x * FIXED_SCALE); /* round() is half away from zero */
	if (r >= (double)FL_FIXED_MAX)
		return FL_FIXED_MAX;
	if (r <= -(double)FL_FIXED_MAX)
		return -FL_FIXED_MAX;
	return (int32_t)r;
}

int32_t fl_fixed_from_float(float x)
{
	return fl_fixed_from_double((double)x);
}

/* q·2^-24 is exact in double (31 significant bits at most); the conversion
 * to float is the one rounding, to nearest with ties to even. */
float fl_fixed_to_float(int32_t q)
{
	return (float)((double)q / FIXED_SCALE);
}
