/*
 * The IDX reader: a hand-made file read exactly, raw and gzip'd; every
 * truncation, wrong magic, count mismatch, out-of-range label, oversized
 * dimensions and trailing bytes refused; allocation failures at every step;
 * and the real Fashion-MNIST when its Debian package is installed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fl/internal.h"

/* ---------------------------------------------------------- helpers */

struct bytes {
	uint8_t *p;
	size_t n;
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* An IDX file: magic, the dims, then `payload` bytes from data (or zeros). */
static struct bytes idx_file(uint32_t magic, const uint32_t *dims, size_t n_dims,
			     const uint8_t *data, size_t payload)
{
	struct bytes b;

	b.n = 4 + 4 * n_dims + payload;
	b.p = calloc(1, b.n + 1);
	cr_assert_not_null(b.p);
	put_be32(b.p, magic);
	for (size_t i = 0; i < n_dims; i++)
		put_be32(b.p + 4 + 4 * i, dims[i]);
	if (data != NULL)
		memcpy(b.p + 4 + 4 * n_dims, data, payload);
	return b;
}

static struct bytes gzip_of(struct bytes in)
{
	z_stream z;
	struct bytes out;

	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	out.p = malloc(deflateBound(&z, in.n) + 16);
	cr_assert_not_null(out.p);
	z.next_in = in.p;
	z.avail_in = (uInt)in.n;
	z.next_out = out.p;
	z.avail_out = (uInt)deflateBound(&z, in.n) + 16;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	out.n = z.total_out;
	deflateEnd(&z);
	return out;
}

/* The hand-made set: 3 images of 2x3 pixels, labels 0 2 1. */
#define H_N    3
#define H_ROWS 2
#define H_COLS 3
static const uint8_t h_labels[H_N] = {0, 2, 1};

static uint8_t h_pixel(size_t i)
{
	return (uint8_t)(i * 37 + 5);
}

static struct bytes h_images(void)
{
	uint8_t px[H_N * H_ROWS * H_COLS];
	uint32_t dims[3] = {H_N, H_ROWS, H_COLS};

	for (size_t i = 0; i < sizeof(px); i++)
		px[i] = h_pixel(i);
	px[0] = 0;
	px[1] = 255;
	return idx_file(0x00000803, dims, 3, px, sizeof(px));
}

static struct bytes h_labels_file(void)
{
	uint32_t dims[1] = {H_N};

	return idx_file(0x00000801, dims, 1, h_labels, H_N);
}

static void check_hand_made(const fl_dataset *d)
{
	cr_assert_eq(d->n, H_N);
	cr_assert_eq(d->dim, H_ROWS * H_COLS);
	cr_assert_eq(d->n_classes, 3);
	cr_assert_str_eq(d->data_type, "image/2x3x1");
	cr_assert_float_eq(d->x[0], 0.0f, 0);
	cr_assert_float_eq(d->x[1], 1.0f, 0);
	for (size_t i = 2; i < H_N * H_ROWS * H_COLS; i++)
		cr_assert(d->x[i] == (float)h_pixel(i) / 255.0f, "pixel %zu", i);
	for (size_t i = 0; i < H_N; i++)
		cr_assert_eq(d->y[i], h_labels[i]);
}

static int parse(struct bytes img, struct bytes lab, uint32_t n_classes)
{
	fl_dataset d;
	int rc = fl_idx_parse_buffer(&d, img.p, img.n, lab.p, lab.n, n_classes);

	if (rc != FL_OK) {
		cr_assert_null(d.x);
		cr_assert_null(d.y);
		cr_assert_eq(d.n, 0);
	}
	fl_dataset_free(&d);
	return rc;
}

static char tmp_dir[64];

static void tmp_make(void)
{
	strcpy(tmp_dir, "/tmp/fl_test_idx_XXXXXX");
	cr_assert_not_null(mkdtemp(tmp_dir));
}

static void tmp_remove(void)
{
	DIR *dir = opendir(tmp_dir);
	struct dirent *e;
	char path[512];

	if (dir == NULL)
		return;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmp_dir, e->d_name);
		unlink(path);
	}
	closedir(dir);
	rmdir(tmp_dir);
}

static const char *tmp_write(const char *name, struct bytes b)
{
	static char paths[4][256];
	static int next;
	char *path = paths[next++ % 4];
	FILE *f;

	snprintf(path, 256, "%s/%s", tmp_dir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(b.p, 1, b.n, f), b.n);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static void quiet(void)
{
	fl_log_set_level(FL_LOG_OFF);
}

/* ------------------------------------------------------------ reads */

TestSuite(fl_idx, .init = quiet);

Test(fl_idx, reads_hand_made_file_raw_and_gzip_in_any_mix, .init = tmp_make, .fini = tmp_remove)
{
	struct bytes img = h_images(), lab = h_labels_file();
	struct bytes gimg = gzip_of(img), glab = gzip_of(lab);
	struct bytes imgs[2] = {img, gimg}, labs[2] = {lab, glab};
	fl_dataset d;

	cr_assert_eq(gimg.p[0], 0x1f);
	for (int i = 0; i < 2; i++) {
		for (int l = 0; l < 2; l++) {
			const char *ip = tmp_write(i ? "img.gz" : "img", imgs[i]);
			const char *lp = tmp_write(l ? "lab.gz" : "lab", labs[l]);

			cr_assert_eq(fl_dataset_load_idx(&d, ip, lp, 3), FL_OK);
			check_hand_made(&d);
			fl_dataset_free(&d);
			cr_assert_null(d.x);

			cr_assert_eq(
			    fl_idx_parse_buffer(&d, imgs[i].p, imgs[i].n, labs[l].p, labs[l].n, 3),
			    FL_OK);
			check_hand_made(&d);
			fl_dataset_free(&d);
		}
	}
	free(img.p);
	free(lab.p);
	free(gimg.p);
	free(glab.p);
}

Test(fl_idx, missing_file_is_not_found, .init = tmp_make, .fini = tmp_remove)
{
	struct bytes lab = h_labels_file();
	const char *lp = tmp_write("lab", lab);
	fl_dataset d;

	cr_assert_eq(fl_dataset_load_idx(&d, "/nonexistent/fl/images", lp, 3), FL_ENOTFOUND);
	cr_assert_null(d.x);
	free(lab.p);
}

/* ------------------------------------------------------- rejections */

Test(fl_idx, rejects_every_truncation_raw_and_gzip)
{
	struct bytes img = h_images(), lab = h_labels_file();
	struct bytes gimg = gzip_of(img), glab = gzip_of(lab);

	for (size_t len = 0; len < img.n; len++) {
		struct bytes cut = {img.p, len};
		cr_assert_eq(parse(cut, lab, 3), FL_ECORRUPT, "images cut at %zu", len);
	}
	for (size_t len = 0; len < lab.n; len++) {
		struct bytes cut = {lab.p, len};
		cr_assert_eq(parse(img, cut, 3), FL_ECORRUPT, "labels cut at %zu", len);
	}
	for (size_t len = 0; len < gimg.n; len++) {
		struct bytes cut = {gimg.p, len};
		cr_assert_eq(parse(cut, glab, 3), FL_ECORRUPT, "gzip images cut at %zu", len);
	}
	for (size_t len = 0; len < glab.n; len++) {
		struct bytes cut = {glab.p, len};
		cr_assert_eq(parse(gimg, cut, 3), FL_ECORRUPT, "gzip labels cut at %zu", len);
	}
	/* A whole gzip member of a truncated file is truncated too. */
	for (size_t len = 0; len < img.n; len++) {
		struct bytes cut = {img.p, len}, gcut = gzip_of(cut);
		cr_assert_eq(parse(gcut, lab, 3), FL_ECORRUPT, "gzip of images cut at %zu", len);
		free(gcut.p);
	}
	cr_assert_eq(parse(img, lab, 3), FL_OK);
	cr_assert_eq(parse(gimg, glab, 3), FL_OK);
	free(img.p);
	free(lab.p);
	free(gimg.p);
	free(glab.p);
}

Test(fl_idx, rejects_truncated_file_on_disk, .init = tmp_make, .fini = tmp_remove)
{
	struct bytes img = h_images(), lab = h_labels_file(), gimg = gzip_of(img);
	struct bytes cut = {gimg.p, gimg.n - 5};
	fl_dataset d;

	cr_assert_eq(fl_dataset_load_idx(&d, tmp_write("img.gz", cut), tmp_write("lab", lab), 3),
		     FL_ECORRUPT);
	cr_assert_null(d.x);
	free(img.p);
	free(lab.p);
	free(gimg.p);
}

Test(fl_idx, rejects_wrong_magic)
{
	struct bytes img = h_images(), lab = h_labels_file();
	const uint8_t good_img[4] = {0, 0, 8, 3}, good_lab[4] = {0, 0, 8, 1};

	/* Byte by byte: another type (0x09 = i8), other dimension counts,
	 * non-zero leading bytes, and the two files swapped. */
	for (int at = 0; at < 4; at++) {
		for (int v = 0; v < 256; v += 7) {
			if (v == good_img[at])
				continue;
			img.p[at] = (uint8_t)v;
			cr_assert_eq(parse(img, lab, 3), FL_ECORRUPT);
			img.p[at] = good_img[at];
		}
		for (int v = 0; v < 256; v += 7) {
			if (v == good_lab[at])
				continue;
			lab.p[at] = (uint8_t)v;
			cr_assert_eq(parse(img, lab, 3), FL_ECORRUPT);
			lab.p[at] = good_lab[at];
		}
	}
	cr_assert_eq(parse(img, lab, 3), FL_OK);
	cr_assert_eq(parse(lab, img, 3), FL_ECORRUPT);
	free(img.p);
	free(lab.p);
}

Test(fl_idx, rejects_count_mismatch)
{
	struct bytes img = h_images();
	uint32_t two[1] = {2}, four[1] = {4};
	const uint8_t labels[4] = {0, 1, 2, 0};
	struct bytes lab2 = idx_file(0x00000801, two, 1, labels, 2);
	struct bytes lab4 = idx_file(0x00000801, four, 1, labels, 4);

	cr_assert_eq(parse(img, lab2, 3), FL_ECORRUPT);
	cr_assert_eq(parse(img, lab4, 3), FL_ECORRUPT);
	free(img.p);
	free(lab2.p);
	free(lab4.p);
}

Test(fl_idx, rejects_label_not_below_n_classes)
{
	struct bytes img = h_images(), lab = h_labels_file();

	/* The hand-made labels go up to 2. */
	cr_assert_eq(parse(img, lab, 3), FL_OK);
	cr_assert_eq(parse(img, lab, 2), FL_ECORRUPT);
	lab.p[8 + 1] = 255;
	cr_assert_eq(parse(img, lab, 255), FL_ECORRUPT);
	cr_assert_eq(parse(img, lab, 256), FL_OK);
	/* n_classes itself out of its domain. */
	cr_assert_eq(parse(img, lab, 0), FL_EINVAL);
	cr_assert_eq(parse(img, lab, FL_MAX_CLASSES + 1), FL_EINVAL);
	free(img.p);
	free(lab.p);
}

Test(fl_idx, rejects_oversized_dimensions_before_allocating)
{
	/* {n, rows, cols}: products past 2^32 and 2^64, a width over
	 * FL_MAX_WIDTH, and a pixel count over FL_IDX_MAX_PIXELS. */
	static const uint32_t cases[][3] = {
	    {0xffffffffu, 0xffffffffu, 0xffffffffu},
	    {0xffffffffu, 0xffff, 0xffff},
	    {65536, 256, 256},
	    {1, 65537, 1},
	    {1, 1, 65537},
	    {1, 257, 256},
	    {(uint32_t)(FL_IDX_MAX_PIXELS / 784) + 1, 28, 28},
	};
	for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
		uint32_t nd[1] = {cases[i][0]};
		struct bytes img = idx_file(0x00000803, cases[i], 3, NULL, 64);
		struct bytes lab = idx_file(0x00000801, nd, 1, NULL, 64);
		struct bytes gimg = gzip_of(img);

		fl_alloc_fail_after(0);
		cr_assert_eq(parse(img, lab, 10), FL_ETOOBIG, "case %zu", i);
		/* Nothing was allocated for the declared size. */
		cr_assert_eq(fl_alloc_fail_after(0), 0, "case %zu", i);
		cr_assert_eq(parse(gimg, lab, 10), FL_ETOOBIG, "gzip case %zu", i);
		free(img.p);
		free(lab.p);
		free(gimg.p);
	}
}

Test(fl_idx, plausible_sizes_in_short_files_are_refused_before_allocating)
{
	/* 800 MB of pixels declared, 64 bytes present: raw or compressed, the
	 * file cannot hold them, and no array that size is allocated (the
	 * labels file is complete, so the images are what fails). */
	uint32_t dims[3] = {1 << 20, 28, 28}, nd[1] = {1 << 20};
	struct bytes img = idx_file(0x00000803, dims, 3, NULL, 64);
	struct bytes lab = idx_file(0x00000801, nd, 1, NULL, 1 << 20);
	struct bytes gimg = gzip_of(img);
	unsigned long allocs;

	fl_alloc_fail_after(0);
	cr_assert_eq(parse(img, lab, 10), FL_ECORRUPT);
	cr_assert_eq(fl_alloc_fail_after(0), 0);
	cr_assert_eq(parse(gimg, lab, 10), FL_ECORRUPT);
	/* Only zlib's own small state was allocated. */
	allocs = fl_alloc_fail_after(0);
	cr_assert(allocs <= 4, "%lu allocations", allocs);
	free(img.p);
	free(lab.p);
	free(gimg.p);
}

Test(fl_idx, rejects_empty_dimensions)
{
	static const uint32_t cases[][3] = {{0, 2, 3}, {3, 0, 3}, {3, 2, 0}};

	for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
		uint32_t nd[1] = {cases[i][0]};
		struct bytes img = idx_file(0x00000803, cases[i], 3, NULL, 0);
		struct bytes lab = idx_file(0x00000801, nd, 1, NULL, cases[i][0]);

		cr_assert_eq(parse(img, lab, 3), FL_ECORRUPT, "case %zu", i);
		free(img.p);
		free(lab.p);
	}
}

Test(fl_idx, rejects_trailing_bytes_raw_and_gzip)
{
	struct bytes img = h_images(), lab = h_labels_file();
	struct bytes long_img = {calloc(1, img.n + 1), img.n + 1};
	struct bytes long_lab = {calloc(1, lab.n + 1), lab.n + 1};
	struct bytes gimg = gzip_of(img), glab = gzip_of(lab);
	struct bytes glong_img = gzip_of(long_img), glong_lab = gzip_of(long_lab);
	struct bytes gtail = {calloc(1, gimg.n + 3), gimg.n + 3};
	struct bytes gtwo = {malloc(2 * gimg.n), 2 * gimg.n};

	memcpy(long_img.p, img.p, img.n);
	memcpy(long_lab.p, lab.p, lab.n);
	/* One more byte than the header declares, raw or inside the gzip. */
	cr_assert_eq(parse(long_img, lab, 3), FL_ECORRUPT);
	cr_assert_eq(parse(img, long_lab, 3), FL_ECORRUPT);
	cr_assert_eq(parse(glong_img, glab, 3), FL_ECORRUPT);
	cr_assert_eq(parse(gimg, glong_lab, 3), FL_ECORRUPT);
	/* Garbage after the gzip member, or a second member. */
	memcpy(gtail.p, gimg.p, gimg.n);
	cr_assert_eq(parse(gtail, glab, 3), FL_ECORRUPT);
	memcpy(gtwo.p, gimg.p, gimg.n);
	memcpy(gtwo.p + gimg.n, gimg.p, gimg.n);
	cr_assert_eq(parse(gtwo, glab, 3), FL_ECORRUPT);
	cr_assert_eq(parse(gimg, glab, 3), FL_OK);
	free(img.p);
	free(lab.p);
	free(long_img.p);
	free(long_lab.p);
	free(gimg.p);
	free(glab.p);
	free(glong_img.p);
	free(glong_lab.p);
	free(gtail.p);
	free(gtwo.p);
}

Test(fl_idx, rejects_corrupt_gzip)
{
	struct bytes img = h_images(), lab = h_labels_file(), gimg = gzip_of(img);
	size_t accepted = 0;
	fl_dataset d;

	/* Every single-bit flip after the 10-byte gzip header (whose MTIME,
	 * XFL and OS bytes no reader checks): refused, or, for the unused
	 * padding bits of the last deflate byte, read back unchanged. The
	 * CRC-32 and length trailer are always refused. */
	for (size_t at = 10; at < gimg.n; at++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc;

			gimg.p[at] ^= (uint8_t)(1u << bit);
			rc = fl_idx_parse_buffer(&d, gimg.p, gimg.n, lab.p, lab.n, 3);
			gimg.p[at] ^= (uint8_t)(1u << bit);
			if (rc == FL_OK) {
				cr_assert_lt(at, gimg.n - 8, "trailer byte %zu", at);
				check_hand_made(&d);
				fl_dataset_free(&d);
				accepted++;
				continue;
			}
			/* A flip inside the IDX header may show as huge
			 * dimensions before the CRC is reached. */
			cr_assert(rc == FL_ECORRUPT || rc == FL_ETOOBIG, "byte %zu bit %d: %d", at,
				  bit, rc);
		}
	}
	cr_assert_lt(accepted, 8);
	cr_assert_eq(parse(gimg, lab, 3), FL_OK);
	free(img.p);
	free(lab.p);
	free(gimg.p);
}

/* ---------------------------------------------------------- torture */

Test(fl_idx, every_allocation_failure_is_clean, .init = tmp_make, .fini = tmp_remove)
{
	struct bytes img = h_images(), lab = h_labels_file();
	struct bytes gimg = gzip_of(img), glab = gzip_of(lab);
	const char *ip = tmp_write("img.gz", gimg), *lp = tmp_write("lab.gz", glab);
	unsigned long n;
	fl_dataset d;
	int rc;

	for (int raw = 0; raw < 2; raw++) {
		for (n = 1;; n++) {
			fl_alloc_fail_after(n);
			rc = raw ? fl_idx_parse_buffer(&d, img.p, img.n, lab.p, lab.n, 3)
				 : fl_idx_parse_buffer(&d, gimg.p, gimg.n, glab.p, glab.n, 3);
			fl_alloc_fail_after(0);
			if (rc == FL_OK)
				break;
			cr_assert_eq(rc, FL_ENOMEM, "allocation %lu", n);
			cr_assert_null(d.x);
		}
		cr_assert_gt(n, raw ? 2 : 4);
		check_hand_made(&d);
		fl_dataset_free(&d);
	}
	for (n = 1;; n++) {
		fl_alloc_fail_after(n);
		rc = fl_dataset_load_idx(&d, ip, lp, 3);
		fl_alloc_fail_after(0);
		if (rc == FL_OK)
			break;
		cr_assert_eq(rc, FL_ENOMEM, "allocation %lu", n);
		cr_assert_null(d.x);
	}
	check_hand_made(&d);
	fl_dataset_free(&d);
	free(img.p);
	free(lab.p);
	free(gimg.p);
	free(glab.p);
}

/* ---------------------------------------------------- Fashion-MNIST */

static int have_fashion(void)
{
	return access(FL_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0;
}

Test(fl_idx, loads_fashion_mnist)
{
	fl_dataset train, test;
	uint64_t hist[10] = {0}, test_hist[10] = {0};

	if (!have_fashion()) {
		cr_skip_test("%s is absent (Debian package dataset-fashion-mnist)",
			     FL_FASHION_MNIST_DIR);
		return;
	}
	cr_assert_eq(fl_dataset_load_fashion_mnist(&train, &test, NULL), FL_OK);
	cr_assert_eq(train.n, 60000);
	cr_assert_eq(test.n, 10000);
	cr_assert_eq(train.dim, 784);
	cr_assert_eq(test.dim, 784);
	cr_assert_eq(train.n_classes, 10);
	cr_assert_str_eq(train.data_type, "image/28x28x1");
	for (size_t i = 0; i < train.n; i++)
		hist[train.y[i]]++;
	for (size_t i = 0; i < test.n; i++)
		test_hist[test.y[i]]++;
	for (int c = 0; c < 10; c++) {
		cr_assert_eq(hist[c], 6000, "class %d", c);
		cr_assert_eq(test_hist[c], 1000, "class %d", c);
	}
	/* Known first sample: label 9 (ankle boot), a dark border. */
	cr_assert_eq(train.y[0], 9);
	cr_assert_eq(test.y[0], 9);
	cr_assert_float_eq(train.x[0], 0.0f, 0);
	for (size_t i = 0; i < train.n * train.dim; i += 997)
		cr_assert(train.x[i] >= 0.0f && train.x[i] <= 1.0f);
	fl_dataset_free(&train);
	fl_dataset_free(&test);
}

Test(fl_idx, fashion_mnist_missing_folder_names_file_and_package)
{
	fl_dataset train, test;
	char log_path[] = "/tmp/fl_test_log_XXXXXX";
	char text[1024] = {0};
	int fd = mkstemp(log_path), saved;

	cr_assert_geq(fd, 0);
	fl_log_set_level(FL_LOG_ERROR);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	cr_assert_eq(fl_dataset_load_fashion_mnist(&train, &test, "/nonexistent/fashion"),
		     FL_ENOTFOUND);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	cr_assert_geq(pread(fd, text, sizeof(text) - 1, 0), 1);
	close(fd);
	unlink(log_path);
	cr_assert_not_null(strstr(text, "/nonexistent/fashion/train-images-idx3-ubyte.gz"), "%s",
			   text);
	cr_assert_not_null(strstr(text, "dataset-fashion-mnist"), "%s", text);
	cr_assert_null(train.x);
	cr_assert_null(test.x);

	/* Test set only: the training files are not needed. */
	fl_log_set_level(FL_LOG_OFF);
	cr_assert_eq(fl_dataset_load_fashion_mnist(NULL, &test, "/nonexistent/fashion"),
		     FL_ENOTFOUND);
}
