/* The data summary: label counts and the mean/variance sketch on hand-made
 * datasets whose values are worked out in the comments. */
#include <criterion/criterion.h>
#include <string.h>

#include "fl/fl.h"

/* Four samples, two features, labels 0 1 1 2:
 *   feature 0: 1 3 5 7  mean 4, variance (9+1+1+9)/4 = 5
 *   feature 1: 2 4 0 2  mean 2, variance (0+4+4+0)/4 = 2 */
static float small_x[8] = {1, 2, 3, 4, 5, 0, 7, 2};
static uint16_t small_y[4] = {0, 1, 1, 2};

static fl_dataset small_set(void)
{
	fl_dataset d = {.n = 4, .dim = 2, .n_classes = 3, .x = small_x, .y = small_y};

	strcpy(d.data_type, "tabular/2");
	return d;
}

Test(fl_summary, counts_and_sketch_of_a_hand_made_set)
{
	fl_dataset d = small_set();
	fl_data_summary s;

	cr_assert_eq(fl_data_summarize(&s, &d, NULL, 0), FL_OK);
	cr_assert_str_eq(s.data_type, "tabular/2");
	cr_assert_eq(s.n_classes, 3);
	cr_assert_eq(s.n, 4);
	cr_assert_eq(s.label_counts[0], 1);
	cr_assert_eq(s.label_counts[1], 2);
	cr_assert_eq(s.label_counts[2], 1);
	for (int c = 3; c < FL_MAX_CLASSES; c++)
		cr_assert_eq(s.label_counts[c], 0);
	/* Two features over 16 slices: slice k covers [2k/16, 2(k+1)/16),
	 * so feature 0 is slice 7, feature 1 slice 15, the rest are empty. */
	for (int k = 0; k < FL_SKETCH_DIM; k++) {
		float m = k == 7 ? 4.0f : k == 15 ? 2.0f : 0.0f;
		float v = k == 7 ? 5.0f : k == 15 ? 2.0f : 0.0f;
		cr_assert_float_eq(s.mean[k], m, 0, "slice %d", k);
		cr_assert_float_eq(s.var[k], v, 0, "slice %d", k);
	}
}

Test(fl_summary, over_chosen_samples)
{
	fl_dataset d = small_set();
	const uint32_t idx[2] = {2, 1}, bad[1] = {4};
	fl_data_summary s;

	/* Samples 1 and 2: feature 0 is 3 5 (mean 4, var 1), feature 1 is
	 * 4 0 (mean 2, var 4); both labelled 1. */
	cr_assert_eq(fl_data_summarize(&s, &d, idx, 2), FL_OK);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.label_counts[0], 0);
	cr_assert_eq(s.label_counts[1], 2);
	cr_assert_eq(s.label_counts[2], 0);
	cr_assert_float_eq(s.mean[7], 4.0f, 0);
	cr_assert_float_eq(s.var[7], 1.0f, 0);
	cr_assert_float_eq(s.mean[15], 2.0f, 0);
	cr_assert_float_eq(s.var[15], 4.0f, 0);

	cr_assert_eq(fl_data_summarize(&s, &d, bad, 1), FL_EINVAL);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(fl_data_summarize(&s, &d, idx, 0), FL_EINVAL);
}

Test(fl_summary, slices_average_their_features)
{
	/* 3 samples of 32 features, x[i][j] = j + 10·i: feature j has mean
	 * j + 10 and variance (100 + 0 + 100)/3; slice k holds features 2k
	 * and 2k+1, so its mean is 2k + 10.5 and its variance 200/3. */
	float x[3 * 32];
	uint16_t y[3] = {4, 4, 0};
	fl_dataset d = {.n = 3, .dim = 32, .n_classes = 5, .x = x, .y = y};
	fl_data_summary s;

	strcpy(d.data_type, "image/4x8x1");
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 32; j++)
			x[i * 32 + j] = (float)(j + 10 * i);
	cr_assert_eq(fl_data_summarize(&s, &d, NULL, 0), FL_OK);
	cr_assert_str_eq(s.data_type, "image/4x8x1");
	cr_assert_eq(s.label_counts[4], 2);
	cr_assert_eq(s.label_counts[0], 1);
	for (int k = 0; k < FL_SKETCH_DIM; k++) {
		cr_assert_float_eq(s.mean[k], 2.0f * k + 10.5f, 1e-5, "slice %d", k);
		cr_assert_float_eq(s.var[k], 200.0f / 3.0f, 1e-4, "slice %d", k);
	}
}

Test(fl_summary, rejects_labels_outside_n_classes)
{
	uint16_t y[4] = {0, 1, 3, 2};
	fl_dataset d = small_set();
	fl_data_summary s;

	d.y = y;
	cr_assert_eq(fl_data_summarize(&s, &d, NULL, 0), FL_EINVAL);
	d.n_classes = 4;
	cr_assert_eq(fl_data_summarize(&s, &d, NULL, 0), FL_OK);
	cr_assert_eq(s.label_counts[3], 1);
}

Test(fl_summary, every_allocation_failure_is_clean)
{
	fl_dataset d = small_set();
	fl_data_summary s;
	unsigned long n;
	int rc;

	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_data_summarize(&s, &d, NULL, 0);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM);
		cr_assert_eq(s.n, 0);
	}
	cr_assert_eq(n, 3);
	cr_assert_float_eq(s.var[7], 5.0f, 0);
}
