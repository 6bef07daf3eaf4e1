/* tests/support/run_prog.c — see run_prog.h. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/run_prog.h"

extern char **environ;

static void slurp(int fd, char *buf, size_t n)
{
	size_t used = 0;
	ssize_t got;

	lseek(fd, 0, SEEK_SET);
	while (used + 1 < n && (got = read(fd, buf + used, n - 1 - used)) > 0)
		used += (size_t)got;
	buf[used] = '\0';
}

void test_run_prog(test_run *r, const char *prog, const char *const *argv)
{
	const char *dir = getenv("FEDLEDGER_BIN");
	char path[512], out_path[] = "/tmp/fedledger-tool-XXXXXX",
			err_path[] = "/tmp/fedledger-tool-XXXXXX";
	char *args[64];
	posix_spawn_file_actions_t fa;
	int out_fd, err_fd, wstatus;
	size_t n = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "build/bin", prog);
	cr_assert_eq(access(path, X_OK), 0, "%s is not built", path);
	args[n++] = path;
	for (; argv[n - 1] != NULL; n++) {
		cr_assert_lt(n, sizeof(args) / sizeof(args[0]) - 1);
		args[n] = (char *)argv[n - 1];
	}
	args[n] = NULL;

	out_fd = mkstemp(out_path);
	err_fd = mkstemp(err_path);
	cr_assert(out_fd >= 0 && err_fd >= 0);
	unlink(out_path);
	unlink(err_path);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	cr_assert_eq(posix_spawn(&pid, path, &fa, NULL, args, environ), 0, "cannot run %s", path);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
	slurp(out_fd, r->out, sizeof(r->out));
	slurp(err_fd, r->err, sizeof(r->err));
	close(out_fd);
	close(err_fd);
}

int test_count_lines(const char *s)
{
	int lines = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n' || s[1] == '\0')
			lines++;
	return lines;
}
