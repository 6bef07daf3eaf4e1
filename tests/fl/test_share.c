/*
 * tests/fl/test_share.c — fl/share.c, the steps a node's share and
 * fedledger-sim's clients both go through: restricting a data set to a
 * profile's labels, and capping a client's list (a random choice, then
 * ascending again).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fl/fl.h"

/* n samples, label i % classes, the single feature holding i. */
static void make_cycling(fl_dataset *d, size_t n, uint32_t classes)
{
	memset(d, 0, sizeof(*d));
	d->n = n;
	d->dim = 1;
	d->n_classes = classes;
	d->x = fl_malloc(n * sizeof(*d->x));
	d->y = fl_malloc(n * sizeof(*d->y));
	cr_assert(d->x != NULL && d->y != NULL);
	for (size_t i = 0; i < n; i++) {
		d->x[i] = (float)i;
		d->y[i] = (uint16_t)(i % classes);
	}
	strcpy(d->data_type, "tabular/1");
}

Test(share, restrict_keeps_the_labels_in_order)
{
	static const uint16_t labels[] = {4, 1};
	fl_dataset d, r;

	make_cycling(&d, 100, 5);
	cr_assert_eq(fl_dataset_restrict(&r, &d, labels, 2), FL_OK);
	cr_assert_eq(r.n, 40);
	cr_assert_eq(r.dim, 1);
	cr_assert_eq(r.n_classes, 5, "the model's outputs do not change");
	cr_assert_str_eq(r.data_type, "tabular/1");
	for (size_t i = 0; i < r.n; i++) {
		cr_assert(r.y[i] == 1 || r.y[i] == 4);
		cr_assert_eq((size_t)r.x[i] % 5, r.y[i]);
		if (i > 0)
			cr_assert_gt(r.x[i], r.x[i - 1], "sample order kept");
	}
	fl_dataset_free(&r);

	/* No labels: every sample, copied. */
	cr_assert_eq(fl_dataset_restrict(&r, &d, NULL, 0), FL_OK);
	cr_assert_eq(r.n, 100);
	cr_assert_eq(memcmp(r.x, d.x, 100 * sizeof(*r.x)), 0);
	cr_assert_eq(memcmp(r.y, d.y, 100 * sizeof(*r.y)), 0);
	cr_assert_neq(r.x, d.x);
	fl_dataset_free(&r);
	fl_dataset_free(&d);
}

Test(share, restrict_refuses_a_label_past_the_classes)
{
	static const uint16_t labels[] = {1, 5};
	fl_dataset d, r;

	make_cycling(&d, 10, 5);
	cr_assert_eq(fl_dataset_restrict(&r, &d, labels, 2), FL_EINVAL);
	cr_assert_eq(r.n, 0);
	cr_assert_null(r.x);
	fl_dataset_free(&d);
}

Test(share, restrict_reports_allocation_failures)
{
	static const uint16_t labels[] = {0};
	fl_dataset d, r;

	make_cycling(&d, 50, 2);
	for (unsigned long n = 1; n < 8; n++) {
		fl_alloc_fail_after(n);
		int rc = fl_dataset_restrict(&r, &d, labels, 1);
		fl_alloc_fail_after(0);
		cr_assert(rc == FL_OK || rc == FL_ENOMEM, "rc %d", rc);
		if (rc == FL_OK)
			cr_assert_eq(r.n, 25);
		fl_dataset_free(&r);
	}
	fl_dataset_free(&d);
}

Test(share, cap_keeps_a_seeded_ascending_subset)
{
	fl_dataset d;
	fl_partition p, q;

	make_cycling(&d, 1000, 4);
	cr_assert_eq(fl_partition_iid(&p, &d, 3, 9), FL_OK);
	cr_assert_eq(fl_partition_iid(&q, &d, 3, 9), FL_OK);
	size_t before = p.n[1];
	uint32_t *orig = fl_malloc(before * sizeof(*orig));
	cr_assert_not_null(orig);
	memcpy(orig, p.idx[1], before * sizeof(*orig));

	fl_partition_cap(&p, 1, 50, 9);
	fl_partition_cap(&q, 1, 50, 9);
	cr_assert_eq(p.n[1], 50);
	cr_assert_eq(memcmp(p.idx[1], q.idx[1], 50 * sizeof(uint32_t)), 0, "same seed, same cut");
	for (size_t i = 0, j = 0; i < 50; i++) {
		if (i > 0)
			cr_assert_gt(p.idx[1][i], p.idx[1][i - 1]);
		/* Each kept index was in the client's list. */
		while (j < before && orig[j] < p.idx[1][i])
			j++;
		cr_assert(j < before && orig[j] == p.idx[1][i]);
	}
	cr_assert_neq(memcmp(p.idx[1], orig, 50 * sizeof(uint32_t)), 0,
		      "a random choice, not the first 50");
	cr_assert_eq(p.n[0], q.n[0], "other clients untouched");

	/* A cap of 0 or above the list's length keeps everything. */
	size_t n0 = p.n[0];
	fl_partition_cap(&p, 0, 0, 9);
	fl_partition_cap(&p, 0, n0, 9);
	cr_assert_eq(p.n[0], n0);
	cr_assert_eq(memcmp(p.idx[0], q.idx[0], n0 * sizeof(uint32_t)), 0);

	/* Another seed, another choice. */
	fl_partition_cap(&q, 2, 50, 10);
	fl_partition_cap(&p, 2, 50, 9);
	cr_assert_neq(memcmp(p.idx[2], q.idx[2], 50 * sizeof(uint32_t)), 0);
	fl_free(orig);
	fl_partition_free(&p);
	fl_partition_free(&q);
	fl_dataset_free(&d);
}
