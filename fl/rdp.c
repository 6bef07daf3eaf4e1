/*
 * fl/rdp.c — the Rényi-DP accountant for the (sampled) Gaussian mechanism.
 *
 * One step adds N(0, z²C²) to a sum of C-clipped contributions, each
 * present with probability q. Its RDP at order alpha:
 *
 *   q = 1:  alpha / (2 z²)                        (Mironov 2017, Prop. 7)
 *   q < 1:  log(A_alpha) / (alpha − 1)            (Mironov, Talwar, Zhang,
 *           "Rényi Differential Privacy of the Sampled Gaussian Mechanism",
 *           2019, §3.3), where for integer alpha
 *             A_alpha = Σ_{i=0..alpha} C(alpha,i) q^i (1−q)^(alpha−i)
 *                       · exp((i² − i) / (2z²))
 *           and for fractional alpha the two-sided series with
 *           z0 = z²·log(1/q − 1) + 1/2,
 *             A_alpha = Σ_{i>=0} C(alpha,i) [ q^i (1−q)^(alpha−i)
 *                         e^((i²−i)/(2z²)) · erfc((i − z0)/(√2 z)) / 2
 *                       + q^(alpha−i) (1−q)^i
 *                         e^(((alpha−i)²−(alpha−i))/(2z²))
 *                         · erfc((z0 − (alpha−i))/(√2 z)) / 2 ]
 *           with generalised (possibly negative) binomial coefficients,
 *           summed until both terms fall below e^-30.
 * All of it in log space, as TensorFlow Privacy's rdp_accountant does.
 * RDP composes additively over steps; the conversion to (epsilon, delta)-DP
 * is Mironov 2017, Prop. 3: epsilon = min over alpha of
 * steps·rdp(alpha) + log(1/delta)/(alpha − 1), on the order grid of
 * TensorFlow Privacy's compute_dp_sgd_privacy.
 */
#include "fl/internal.h"

#include <math.h>

/* A series that has not converged by then is reported as infinite RDP:
 * the order is useless, never optimistic. */
#define MAX_TERMS 100000

static const double orders[] = {
    1.25, 1.5, 1.75, 2,  2.25, 2.5, 3,  3.5, 4,  4.5, 5,  6,  7,  8,  9,  10,  11,  12,
    13,   14,  15,   16, 17,   18,  19, 20,  21, 22,  23, 24, 25, 26, 27, 28,  29,  30,
    31,   32,  33,   34, 35,   36,  37, 38,  39, 40,  41, 42, 43, 44, 45, 46,  47,  48,
    49,   50,  51,   52, 53,   54,  55, 56,  57, 58,  59, 60, 61, 62, 63, 128, 256, 512,
};

static double log_add(double a, double b)
{
	double hi = a > b ? a : b, lo = a > b ? b : a;

	if (lo == -INFINITY)
		return hi;
	return hi + log1p(exp(lo - hi));
}

/* log(e^a − e^b) for a >= b; rounding can make a partial sum vanish. */
static double log_sub(double a, double b)
{
	if (b == -INFINITY)
		return a;
	if (a <= b)
		return -INFINITY;
	return a + log(-expm1(b - a));
}

/* log(erfc(x)), accurate where erfc underflows: the asymptotic series
 * erfc(x) ~ e^(−x²) / (x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶)). */
static double log_erfc(double x)
{
	double x2;

	if (x < 25)
		return log(erfc(x));
	x2 = x * x;
	return -x2 - log(x) - 0.5 * log(M_PI) +
	       log1p(-0.5 / x2 + 0.75 / (x2 * x2) - 1.875 / (x2 * x2 * x2));
}

static double log_a_int(double q, double z, unsigned alpha)
{
	double log_a = -INFINITY, log_binom = 0;

	for (unsigned i = 0; i <= alpha; i++) {
		double s = log_binom + i * log(q) + (alpha - i) * log1p(-q) +
			   ((double)i * i - i) / (2 * z * z);

		log_a = log_add(log_a, s);
		if (i < alpha)
			log_binom += log((double)(alpha - i)) - log((double)i + 1);
	}
	return log_a;
}

static double log_a_frac(double q, double z, double alpha)
{
	const double z0 = z * z * log(1 / q - 1) + 0.5;
	double log_a0 = -INFINITY, log_a1 = -INFINITY;
	double log_coef = 0; /* log |C(alpha, i)| */
	int positive = 1;    /* sign of C(alpha, i) */

	for (unsigned i = 0; i < MAX_TERMS; i++) {
		double j = alpha - i;
		double t0 = log_coef + i * log(q) + j * log1p(-q);
		double t1 = log_coef + j * log(q) + i * log1p(-q);
		double e0 = log(0.5) + log_erfc((i - z0) / (M_SQRT2 * z));
		double e1 = log(0.5) + log_erfc((z0 - j) / (M_SQRT2 * z));
		double s0 = t0 + ((double)i * i - i) / (2 * z * z) + e0;
		double s1 = t1 + (j * j - j) / (2 * z * z) + e1;

		if (positive) {
			log_a0 = log_add(log_a0, s0);
			log_a1 = log_add(log_a1, s1);
		} else {
			log_a0 = log_sub(log_a0, s0);
			log_a1 = log_sub(log_a1, s1);
		}
		if ((s0 > s1 ? s0 : s1) < -30)
			return log_add(log_a0, log_a1);
		/* C(alpha, i+1) = C(alpha, i)·(alpha − i)/(i + 1). */
		log_coef += log(fabs(alpha - i)) - log((double)i + 1);
		if (alpha - i < 0)
			positive = !positive;
	}
	return INFINITY;
}

double fl_rdp_gaussian(double z, double q, double alpha)
{
	double log_a;

	if (!(alpha > 1) || !(z >= 0) || !(q >= 0 && q <= 1))
		return NAN;
	if (q == 0)
		return 0;
	if (z == 0 || isinf(alpha))
		return INFINITY;
	if (q == 1)
		return alpha / (2 * z * z);
	if (alpha == floor(alpha) && alpha <= 1e6)
		log_a = log_a_int(q, z, (unsigned)alpha);
	else
		log_a = log_a_frac(q, z, alpha);
	return log_a / (alpha - 1);
}

double fl_rdp_epsilon(double z, double q, uint64_t steps, double delta, double *order)
{
	double best = INFINITY, best_order = 0;

	if (order != NULL)
		*order = 0;
	if (!(delta > 0 && delta < 1) || !(z >= 0) || !(q >= 0 && q <= 1))
		return NAN;
	if (steps == 0 || q == 0)
		return 0;
	for (size_t k = 0; k < FL_ARRAY_LEN(orders); k++) {
		double a = orders[k];
		double eps = (double)steps * fl_rdp_gaussian(z, q, a) + log(1 / delta) / (a - 1);

		if (eps < best) {
			best = eps;
			best_order = a;
		}
	}
	if (order != NULL)
		*order = best_order;
	return best;
}
