/* tests/node/home_helpers.c — see home_helpers.h. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/node/home_helpers.h"

void hh_scratch(char *dir, size_t n)
{
	cr_assert_geq(n, 64);
	snprintf(dir, n, "/tmp/fedledger-home-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void hh_remove(const char *dir)
{
	/* Depth first, without following links: only what is under dir goes. */
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void hh_path(char *out, const char *dir, const char *rel)
{
	snprintf(out, NODE_HOME_PATH_MAX + 1, "%s/%s", dir, rel);
}

mode_t hh_mode(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s is missing", path);
	return st.st_mode & 07777;
}

void hh_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

void hh_init(const char *dir, fl_pubkey *id)
{
	node_home_init_opts opts = {.home = dir, .genesis = HH_GENESIS, .moniker = "n0"};
	char err[NODE_CONFIG_ERR_MAX];

	cr_assert_eq(node_home_init(&opts, id, err, sizeof(err)), FL_OK, "%s", err);
}
