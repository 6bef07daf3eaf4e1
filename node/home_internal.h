/*
 * node/home_internal.h — what node/home.c (open, the key) and
 * node/home_init.c share: path building, directory making and syncing, and
 * one-line messages (node/home_fs.c). Never included outside node/home*.c.
 */
#ifndef FEDLEDGER_NODE_HOME_INTERNAL_H
#define FEDLEDGER_NODE_HOME_INTERNAL_H

#include "node/home.h"

/* One line "message" into err (bytes outside printable ASCII become '?');
 * returns code (< 0). */
int node__home_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* dir into out without trailing slashes ("/" stays "/"). FL_EINVAL if
 * empty, FL_ETOOBIG past NODE_HOME_DIR_MAX. */
int node__home_dir_set(char out[NODE_HOME_DIR_MAX + 1], const char *dir) FL_MUST_CHECK;

/* "dir/rel", or rel itself when it is absolute, into
 * out[NODE_HOME_PATH_MAX + 1]. FL_ETOOBIG when it does not fit. */
int node__home_path(char *out, const char *dir, const char *rel) FL_MUST_CHECK;

/* fsync of the directory holding path: what makes a new name in it durable. */
int node__home_sync_parent(const char *path) FL_MUST_CHECK;

/* mkdir(path, 0700) and the sync of its parent; an existing directory is
 * fine (*created = 0), anything else there is FL_EEXIST. FL_ENOTFOUND when
 * the parent is missing, FL_EIO otherwise. created may be NULL. */
int node__home_mkdir(const char *path, int *created) FL_MUST_CHECK;

/* node__home_mkdir for each missing directory of path, parents first. */
int node__home_mkdirs(const char *path) FL_MUST_CHECK;

#endif
