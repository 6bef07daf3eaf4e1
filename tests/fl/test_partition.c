/*
 * Partitions (IID, Dirichlet, K labels, label subsets), subsets and the
 * synthetic generator: every sample used exactly once, the same seed giving
 * the same split, the skew each scheme promises, and clean failures.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fl/fl.h"

/* A dataset whose labels follow `label(i)`; one feature holding i, so a
 * subset can be checked by value. */
static void make_labelled(fl_dataset *d, size_t n, uint32_t n_classes,
			  uint16_t (*label)(size_t i, uint32_t n_classes))
{
	memset(d, 0, sizeof(*d));
	d->n = n;
	d->dim = 1;
	d->n_classes = n_classes;
	d->x = fl_malloc(n * sizeof(*d->x));
	d->y = fl_malloc(n * sizeof(*d->y));
	cr_assert(d->x != NULL && d->y != NULL);
	for (size_t i = 0; i < n; i++) {
		d->x[i] = (float)i;
		d->y[i] = label(i, n_classes);
	}
	strcpy(d->data_type, "tabular/1");
}

static uint16_t balanced(size_t i, uint32_t n_classes)
{
	return (uint16_t)(i % n_classes);
}

/* Class c holds about twice as many samples as class c+1. */
static uint16_t skewed(size_t i, uint32_t n_classes)
{
	uint32_t c = 0;

	while (c + 1 < n_classes && (i >> c) % 2 == 1)
		c++;
	return (uint16_t)c;
}

/* Each index of [0, n) at most once over all clients, every client
 * non-empty and sorted; returns how many indices are held. */
static size_t check_disjoint(const fl_partition *p, size_t n, uint32_t clients)
{
	uint8_t *seen = calloc(n, 1);
	size_t held = 0;

	cr_assert_not_null(seen);
	cr_assert_eq(p->n_clients, clients);
	for (uint32_t j = 0; j < clients; j++) {
		cr_assert_geq(p->n[j], 1, "client %u is empty", j);
		for (size_t k = 0; k < p->n[j]; k++) {
			uint32_t i = p->idx[j][k];
			cr_assert_lt(i, n);
			cr_assert_eq(seen[i], 0, "index %u twice", i);
			seen[i] = 1;
			if (k > 0)
				cr_assert_lt(p->idx[j][k - 1], i);
		}
		held += p->n[j];
	}
	free(seen);
	return held;
}

static int same_partition(const fl_partition *a, const fl_partition *b)
{
	if (a->n_clients != b->n_clients)
		return 0;
	for (uint32_t j = 0; j < a->n_clients; j++) {
		if (a->n[j] != b->n[j] || memcmp(a->idx[j], b->idx[j], a->n[j] * 4) != 0)
			return 0;
	}
	return 1;
}

/* Mean over clients of the total-variation distance between the client's
 * label distribution and the whole set's: 0 for identical mixes, near 1
 * when each client holds classes the others do not. */
static double label_skew(const fl_partition *p, const fl_dataset *d)
{
	double global[FL_MAX_CLASSES] = {0}, sum = 0.0;

	for (size_t i = 0; i < d->n; i++)
		global[d->y[i]] += 1.0 / (double)d->n;
	for (uint32_t j = 0; j < p->n_clients; j++) {
		double local[FL_MAX_CLASSES] = {0}, tv = 0.0;

		for (size_t k = 0; k < p->n[j]; k++)
			local[d->y[p->idx[j][k]]] += 1.0 / (double)p->n[j];
		for (uint32_t c = 0; c < d->n_classes; c++)
			tv += fabs(local[c] - global[c]) / 2.0;
		sum += tv;
	}
	return sum / p->n_clients;
}

static uint32_t distinct_labels(const fl_partition *p, const fl_dataset *d, uint32_t j)
{
	uint8_t has[FL_MAX_CLASSES] = {0};
	uint32_t count = 0;

	for (size_t k = 0; k < p->n[j]; k++) {
		count += !has[d->y[p->idx[j][k]]];
		has[d->y[p->idx[j][k]]] = 1;
	}
	return count;
}

static void quiet(void)
{
	fl_log_set_level(FL_LOG_OFF);
}

TestSuite(fl_partition, .init = quiet);

/* ------------------------------------------------------------- IID */

Test(fl_partition, iid_covers_every_index_once_with_even_sizes)
{
	fl_dataset d;
	fl_partition p, q, r;

	make_labelled(&d, 1003, 10, balanced);
	cr_assert_eq(fl_partition_iid(&p, &d, 10, 7), FL_OK);
	cr_assert_eq(check_disjoint(&p, d.n, 10), d.n);
	for (uint32_t j = 0; j < 10; j++)
		cr_assert_eq(p.n[j], j < 3 ? 101 : 100);
	/* IID: every client's mix is close to the whole set's. */
	cr_assert_lt(label_skew(&p, &d), 0.2);
	cr_assert_eq(fl_partition_iid(&q, &d, 10, 7), FL_OK);
	cr_assert(same_partition(&p, &q));
	cr_assert_eq(fl_partition_iid(&r, &d, 10, 8), FL_OK);
	cr_assert_not(same_partition(&p, &r));
	fl_partition_free(&p);
	fl_partition_free(&q);
	fl_partition_free(&r);
	/* As many clients as samples: one each. */
	cr_assert_eq(fl_partition_iid(&p, &d, (uint32_t)d.n, 1), FL_OK);
	cr_assert_eq(check_disjoint(&p, d.n, (uint32_t)d.n), d.n);
	fl_partition_free(&p);
	fl_dataset_free(&d);
}

Test(fl_partition, bad_arguments_leave_a_zeroed_partition)
{
	fl_dataset d;
	fl_partition p;

	make_labelled(&d, 20, 4, balanced);
	cr_assert_eq(fl_partition_iid(&p, &d, 0, 1), FL_EINVAL);
	cr_assert_eq(fl_partition_iid(&p, &d, 21, 1), FL_EINVAL);
	cr_assert_null(p.idx);
	cr_assert_eq(fl_partition_dirichlet(&p, &d, 4, 0.0, 1), FL_EINVAL);
	cr_assert_eq(fl_partition_dirichlet(&p, &d, 4, -1.0, 1), FL_EINVAL);
	cr_assert_eq(fl_partition_dirichlet(&p, &d, 4, NAN, 1), FL_EINVAL);
	cr_assert_eq(fl_partition_dirichlet(&p, &d, 4, INFINITY, 1), FL_EINVAL);
	cr_assert_eq(fl_partition_labels(&p, &d, 4, 0, 1), FL_EINVAL);
	cr_assert_eq(fl_partition_labels(&p, &d, 11, 2, 1), FL_EINVAL);
	cr_assert_null(p.idx);
	/* A label the dataset's n_classes does not allow. */
	d.y[5] = 4;
	cr_assert_eq(fl_partition_iid(&p, &d, 2, 1), FL_EINVAL);
	cr_assert_eq(fl_partition_dirichlet(&p, &d, 2, 1.0, 1), FL_EINVAL);
	cr_assert_eq(fl_partition_labels(&p, &d, 2, 2, 1), FL_EINVAL);
	fl_partition_free(&p);
	fl_dataset_free(&d);
}

/* ------------------------------------------------------- Dirichlet */

Test(fl_partition, dirichlet_covers_every_index_once_and_is_deterministic)
{
	static const double alphas[] = {1e-4, 0.01, 0.1, 0.5, 1.0, 100.0};
	fl_dataset d;

	make_labelled(&d, 2000, 10, skewed);
	for (size_t a = 0; a < FL_ARRAY_LEN(alphas); a++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			fl_partition p, q;

			cr_assert_eq(fl_partition_dirichlet(&p, &d, 20, alphas[a], seed), FL_OK);
			cr_assert_eq(check_disjoint(&p, d.n, 20), d.n, "alpha %g", alphas[a]);
			cr_assert_eq(fl_partition_dirichlet(&q, &d, 20, alphas[a], seed), FL_OK);
			cr_assert(same_partition(&p, &q));
			fl_partition_free(&p);
			fl_partition_free(&q);
		}
	}
	fl_dataset_free(&d);
}

Test(fl_partition, dirichlet_gives_every_client_a_sample)
{
	fl_dataset d;
	fl_partition p;

	/* Few samples, many clients, a tiny alpha: most clients draw no
	 * share at all and must be given one; with 60 clients for 60 samples
	 * every client ends with exactly one. */
	make_labelled(&d, 60, 3, balanced);
	for (uint64_t seed = 1; seed <= 5; seed++) {
		cr_assert_eq(fl_partition_dirichlet(&p, &d, 50, 0.001, seed), FL_OK);
		cr_assert_eq(check_disjoint(&p, d.n, 50), d.n);
		fl_partition_free(&p);
		cr_assert_eq(fl_partition_dirichlet(&p, &d, 60, 0.001, seed), FL_OK);
		cr_assert_eq(check_disjoint(&p, d.n, 60), d.n);
		for (uint32_t j = 0; j < 60; j++)
			cr_assert_eq(p.n[j], 1);
		fl_partition_free(&p);
	}
	fl_dataset_free(&d);
}

Test(fl_partition, dirichlet_skew_follows_alpha)
{
	fl_dataset d;

	/* Mean total-variation distance from the global label mix: small
	 * alpha gives each client one or two classes (near 0.9 with 10
	 * classes), large alpha nearly the global mix (~0.03 at 1000 samples
	 * per class); IID sits near the large-alpha end. */
	make_labelled(&d, 10000, 10, balanced);
	for (uint64_t seed = 1; seed <= 4; seed++) {
		fl_partition small, mid, large;
		double s_small, s_mid, s_large;

		cr_assert_eq(fl_partition_dirichlet(&small, &d, 10, 0.05, seed), FL_OK);
		cr_assert_eq(fl_partition_dirichlet(&mid, &d, 10, 1.0, seed), FL_OK);
		cr_assert_eq(fl_partition_dirichlet(&large, &d, 10, 1000.0, seed), FL_OK);
		s_small = label_skew(&small, &d);
		s_mid = label_skew(&mid, &d);
		s_large = label_skew(&large, &d);
		cr_assert_gt(s_small, 0.6, "seed %llu: %f", (unsigned long long)seed, s_small);
		cr_assert_lt(s_large, 0.05, "seed %llu: %f", (unsigned long long)seed, s_large);
		cr_assert(s_small > s_mid && s_mid > s_large, "%f %f %f", s_small, s_mid, s_large);
		fl_partition_free(&small);
		fl_partition_free(&mid);
		fl_partition_free(&large);
	}
	fl_dataset_free(&d);
}

/* ------------------------------------------------------- K labels */

Test(fl_partition, labels_k_gives_k_distinct_labels_and_covers_everything)
{
	fl_dataset d;

	make_labelled(&d, 1000, 10, balanced);
	for (uint32_t k = 1; k <= 3; k++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			fl_partition p, q;

			cr_assert_eq(fl_partition_labels(&p, &d, 10, k, seed), FL_OK);
			cr_assert_eq(check_disjoint(&p, d.n, 10), d.n);
			/* Balanced classes, clients·k shards: exactly k each. */
			for (uint32_t j = 0; j < 10; j++)
				cr_assert_eq(distinct_labels(&p, &d, j), k, "k %u client %u", k, j);
			cr_assert_eq(fl_partition_labels(&q, &d, 10, k, seed), FL_OK);
			cr_assert(same_partition(&p, &q));
			fl_partition_free(&p);
			fl_partition_free(&q);
		}
	}
	fl_dataset_free(&d);
}

Test(fl_partition, labels_k_on_skewed_classes_stays_within_k)
{
	fl_dataset d;

	/* Class sizes halve from one class to the next: shards cannot be
	 * even, yet no client holds more than k labels. */
	static const uint32_t client_counts[] = {3, 7, 16, 40};

	make_labelled(&d, 4096, 8, skewed);
	for (size_t c = 0; c < FL_ARRAY_LEN(client_counts); c++) {
		uint32_t clients = client_counts[c];
		for (uint32_t k = 1; k <= 4; k++) {
			fl_partition p;

			cr_assert_eq(fl_partition_labels(&p, &d, clients, k, 11), FL_OK);
			/* All samples once there are shards for every class. */
			if (clients * k >= 8)
				cr_assert_eq(check_disjoint(&p, d.n, clients), d.n);
			else
				cr_assert_lt(check_disjoint(&p, d.n, clients), d.n);
			for (uint32_t j = 0; j < clients; j++)
				cr_assert_leq(distinct_labels(&p, &d, j), k);
			fl_partition_free(&p);
		}
	}
	fl_dataset_free(&d);
}

Test(fl_partition, labels_k_with_fewer_shards_than_classes)
{
	fl_dataset d;
	fl_partition p;

	/* 2 clients × 1 label of 10: each client holds all of one class,
	 * and the other eight classes are left out. */
	make_labelled(&d, 1000, 10, balanced);
	cr_assert_eq(fl_partition_labels(&p, &d, 2, 1, 3), FL_OK);
	cr_assert_eq(check_disjoint(&p, d.n, 2), 200);
	for (uint32_t j = 0; j < 2; j++) {
		cr_assert_eq(distinct_labels(&p, &d, j), 1);
		cr_assert_eq(p.n[j], 100);
	}
	cr_assert_neq(d.y[p.idx[0][0]], d.y[p.idx[1][0]]);
	fl_partition_free(&p);
	fl_dataset_free(&d);
}

/* ----------------------------------------------------- label subsets */

Test(fl_partition, select_labels_keeps_exactly_those_labels)
{
	/* "Footwear only" in Fashion-MNIST's numbering: sandal, sneaker,
	 * ankle boot. */
	const uint16_t footwear[3] = {5, 7, 9}, dup[2] = {3, 3}, bad[1] = {10};
	fl_dataset d;
	uint32_t *idx;
	size_t n;

	make_labelled(&d, 1000, 10, balanced);
	cr_assert_eq(fl_select_labels(&idx, &n, &d, footwear, 3), FL_OK);
	cr_assert_eq(n, 300);
	for (size_t k = 0; k < n; k++) {
		uint16_t y = d.y[idx[k]];
		cr_assert(y == 5 || y == 7 || y == 9);
		if (k > 0)
			cr_assert_lt(idx[k - 1], idx[k]);
	}
	fl_free(idx);
	cr_assert_eq(fl_select_labels(&idx, &n, &d, dup, 2), FL_OK);
	cr_assert_eq(n, 100);
	fl_free(idx);
	cr_assert_eq(fl_select_labels(&idx, &n, &d, NULL, 0), FL_OK);
	cr_assert_eq(n, 0);
	fl_free(idx);
	cr_assert_eq(fl_select_labels(&idx, &n, &d, bad, 1), FL_EINVAL);
	cr_assert_null(idx);
	fl_dataset_free(&d);
}

/* ------------------------------------------------ subsets, synthetic */

Test(fl_partition, subset_copies_the_chosen_samples)
{
	const uint32_t idx[4] = {9, 0, 9, 4}, bad[1] = {10};
	fl_dataset d, s;

	make_labelled(&d, 10, 3, balanced);
	cr_assert_eq(fl_dataset_subset(&s, &d, idx, 4), FL_OK);
	cr_assert_eq(s.n, 4);
	cr_assert_eq(s.dim, 1);
	cr_assert_eq(s.n_classes, 3);
	cr_assert_str_eq(s.data_type, "tabular/1");
	for (size_t k = 0; k < 4; k++) {
		cr_assert_float_eq(s.x[k], (float)idx[k], 0);
		cr_assert_eq(s.y[k], idx[k] % 3);
	}
	fl_dataset_free(&s);
	cr_assert_eq(fl_dataset_subset(&s, &d, bad, 1), FL_EINVAL);
	cr_assert_null(s.x);
	cr_assert_eq(fl_dataset_subset(&s, &d, NULL, 0), FL_OK);
	cr_assert_eq(s.n, 0);
	fl_dataset_free(&s);
	fl_dataset_free(&d);
}

Test(fl_partition, synthetic_is_balanced_deterministic_and_separable)
{
	fl_dataset a, b, c;
	double centre[10][20] = {{0}};
	size_t count[10] = {0}, right = 0;

	cr_assert_eq(fl_dataset_synthetic(&a, 2000, 20, 10, 5), FL_OK);
	cr_assert_eq(fl_dataset_synthetic(&b, 2000, 20, 10, 5), FL_OK);
	cr_assert_eq(fl_dataset_synthetic(&c, 2000, 20, 10, 6), FL_OK);
	cr_assert_str_eq(a.data_type, "tabular/20");
	cr_assert_eq(memcmp(a.x, b.x, 2000 * 20 * sizeof(float)), 0);
	cr_assert_eq(memcmp(a.y, b.y, 2000 * sizeof(uint16_t)), 0);
	cr_assert_neq(memcmp(a.x, c.x, 2000 * 20 * sizeof(float)), 0);
	for (size_t i = 0; i < a.n; i++) {
		count[a.y[i]]++;
		for (int j = 0; j < 20; j++)
			centre[a.y[i]][j] += a.x[i * 20 + j];
	}
	for (int k = 0; k < 10; k++) {
		cr_assert_eq(count[k], 200);
		for (int j = 0; j < 20; j++)
			centre[k][j] /= 200.0;
	}
	/* Nearest class mean classifies (almost) everything: separable. */
	for (size_t i = 0; i < a.n; i++) {
		int best = 0;
		double best_d = INFINITY;
		for (int k = 0; k < 10; k++) {
			double dist = 0.0;
			for (int j = 0; j < 20; j++)
				dist += pow(a.x[i * 20 + j] - centre[k][j], 2);
			if (dist < best_d) {
				best_d = dist;
				best = k;
			}
		}
		right += best == a.y[i];
	}
	cr_assert_geq(right, 1990, "%zu of 2000", right);
	fl_dataset_free(&a);
	fl_dataset_free(&b);
	fl_dataset_free(&c);

	/* One dimension, many classes: centres still kept apart. */
	cr_assert_eq(fl_dataset_synthetic(&a, 500, 1, 50, 1), FL_OK);
	fl_dataset_free(&a);
	cr_assert_eq(fl_dataset_synthetic(&a, 0, 2, 2, 1), FL_EINVAL);
	cr_assert_eq(fl_dataset_synthetic(&a, 10, 0, 2, 1), FL_EINVAL);
	cr_assert_eq(fl_dataset_synthetic(&a, 10, 2, 0, 1), FL_EINVAL);
	cr_assert_eq(fl_dataset_synthetic(&a, 10, 2, FL_MAX_CLASSES + 1, 1), FL_EINVAL);
	cr_assert_null(a.x);
}

/* ---------------------------------------------------------- torture */

/* Runs one partition with allocation N failing for every N until it
 * succeeds; every failure must be FL_ENOMEM with a zeroed partition. */
#define TORTURE(call, p)                                                                           \
	do {                                                                                       \
		unsigned long n_;                                                                  \
		int rc_;                                                                           \
		for (n_ = 1;; n_++) {                                                              \
			fl_alloc_fail_after(n_);                                                   \
			rc_ = (call);                                                              \
			fl_alloc_fail_after(0);                                                    \
			if (rc_ == FL_OK)                                                          \
				break;                                                             \
			cr_assert_eq(rc_, FL_ENOMEM, "allocation %lu", n_);                        \
			cr_assert_null((p).idx);                                                   \
		}                                                                                  \
		cr_assert_gt(n_, 3);                                                               \
	} while (0)

Test(fl_partition, every_allocation_failure_is_clean)
{
	fl_dataset d, s;
	fl_partition p;
	uint32_t *idx = NULL;
	size_t n;
	const uint16_t some[2] = {1, 2};
	unsigned long k;
	int rc;

	make_labelled(&d, 40, 4, skewed);
	TORTURE(fl_partition_iid(&p, &d, 5, 1), p);
	cr_assert_eq(check_disjoint(&p, d.n, 5), d.n);
	fl_partition_free(&p);
	TORTURE(fl_partition_dirichlet(&p, &d, 30, 0.01, 1), p);
	cr_assert_eq(check_disjoint(&p, d.n, 30), d.n);
	fl_partition_free(&p);
	TORTURE(fl_partition_labels(&p, &d, 5, 2, 1), p);
	cr_assert_eq(check_disjoint(&p, d.n, 5), d.n);
	fl_partition_free(&p);

	fl_alloc_fail_after(1);
	rc = fl_select_labels(&idx, &n, &d, some, 2);
	fl_alloc_fail_after(0);
	cr_assert_eq(rc, FL_ENOMEM);
	cr_assert_null(idx);
	for (k = 1;; k++) {
		fl_alloc_fail_after(k);
		rc = fl_dataset_synthetic(&s, 30, 3, 3, 1);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
		cr_assert_null(s.x);
	}
	fl_dataset_free(&s);
	for (k = 1;; k++) {
		const uint32_t pick[2] = {3, 1};
		fl_alloc_fail_after(k);
		rc = fl_dataset_subset(&s, &d, pick, 2);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
		cr_assert_null(s.x);
	}
	fl_dataset_free(&s);
	fl_dataset_free(&d);
}
