/*
 * fl/fashion.c — Fashion-MNIST from the layout of Debian's
 * dataset-fashion-mnist package: four gzip'd IDX files in one folder.
 */
#include "fl/fl.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FASHION_CLASSES  10
#define FASHION_PATH_MAX 4096

static const char *const fashion_files[4] = {
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
};

static int fashion_path(char *out, const char *dir, const char *file)
{
	int len = snprintf(out, FASHION_PATH_MAX, "%s/%s", dir, file);

	if (len < 0 || len >= FASHION_PATH_MAX) {
		fl_log(FL_LOG_ERROR, "fl", "Fashion-MNIST folder name too long: %s", dir);
		return FL_EINVAL;
	}
	if (access(out, R_OK) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			fl_log(FL_LOG_ERROR, "fl",
			       "%s: missing; install the Debian package dataset-fashion-mnist "
			       "or give the folder that holds the Fashion-MNIST files",
			       out);
			return FL_ENOTFOUND;
		}
		fl_log(FL_LOG_ERROR, "fl", "%s: %s", out, strerror(errno));
		return FL_EIO;
	}
	return FL_OK;
}

int fl_dataset_load_fashion_mnist(fl_dataset *train, fl_dataset *test, const char *dir)
{
	char paths[4][FASHION_PATH_MAX];
	int rc;

	assert(train != NULL || test != NULL);
	if (train != NULL)
		memset(train, 0, sizeof(*train));
	if (test != NULL)
		memset(test, 0, sizeof(*test));
	if (dir == NULL)
		dir = FL_FASHION_MNIST_DIR;
	/* Every file is looked for before any is read, so a missing one is
	 * reported at once rather than after decoding the training set. */
	for (int i = 0; i < 4; i++) {
		if ((i < 2 ? train : test) == NULL)
			continue;
		if ((rc = fashion_path(paths[i], dir, fashion_files[i])) != FL_OK)
			return rc;
	}
	if (train != NULL &&
	    (rc = fl_dataset_load_idx(train, paths[0], paths[1], FASHION_CLASSES)) != FL_OK)
		goto cleanup;
	if (test != NULL &&
	    (rc = fl_dataset_load_idx(test, paths[2], paths[3], FASHION_CLASSES)) != FL_OK)
		goto cleanup;
	if (train != NULL && test != NULL && strcmp(train->data_type, test->data_type) != 0) {
		fl_log(FL_LOG_ERROR, "fl", "%s: training images are %s but test images %s", dir,
		       train->data_type, test->data_type);
		rc = FL_ECORRUPT;
		goto cleanup;
	}
	rc = FL_OK;

cleanup:
	if (rc != FL_OK) {
		fl_dataset_free(train);
		fl_dataset_free(test);
	}
	return rc;
}
