/*
 * tools/wallet_pass.c — where the passphrase comes from: the environment
 * for scripts, else the controlling terminal with echo off. Never stdin:
 * a wallet run in a pipe must not eat the pipe's data as a passphrase.
 */
#include "tools/wallet.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASS_ENV "FEDLEDGER_PASSPHRASE"

/* The terminal as it was, for a Ctrl-C at the prompt: the shell must not be
 * left without echo. */
static struct termios saved_tty;
static volatile sig_atomic_t saved_fd = -1;

static void on_signal(int sig)
{
	if (saved_fd >= 0)
		(void)tcsetattr(saved_fd, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* One line from the terminal fd with echo off; the newline is dropped. */
static int tty_read(int fd, const char *prompt, char *out, size_t *len, char *err, size_t errlen)
{
	struct termios old, quiet;
	size_t n = 0;
	int rc = FL_OK, restore = 0;
	char c;

	if (write(fd, prompt, strlen(prompt)) < 0) {
		snprintf(err, errlen, "passphrase: cannot write to /dev/tty: %s", strerror(errno));
		return FL_EIO;
	}
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		saved_tty = old;
		saved_fd = fd;
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	for (;;) {
		ssize_t k = read(fd, &c, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen, "passphrase: cannot read /dev/tty: %s",
				 strerror(errno));
			rc = FL_EIO;
			break;
		}
		if (k == 0 || c == '\n' || c == '\r')
			break;
		if (n == WALLET_PASS_MAX) {
			snprintf(err, errlen, "passphrase: longer than %u bytes", WALLET_PASS_MAX);
			rc = FL_EINVAL;
			break;
		}
		out[n++] = c;
	}
	c = 0;
	out[n] = '\0';
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (saved_fd >= 0) {
		saved_fd = -1;
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
	}
	/* The newline the user typed was not echoed. */
	if (write(fd, "\n", 1) < 0) {
		/* Only the cursor's line is lost. */
	}
	*len = n;
	return rc;
}

int wallet_passphrase(char *out, size_t *len, int confirm, char *err, size_t errlen)
{
	const char *env = getenv(PASS_ENV);
	char again[WALLET_PASS_MAX + 1];
	size_t again_len = 0;
	int fd, rc;

	*len = 0;
	out[0] = '\0';
	if (env != NULL) {
		size_t n = strlen(env);

		if (n == 0) {
			snprintf(err, errlen, "%s: empty; a key needs a passphrase", PASS_ENV);
			return FL_EINVAL;
		}
		if (n > WALLET_PASS_MAX) {
			snprintf(err, errlen, "%s: longer than %u bytes", PASS_ENV,
				 WALLET_PASS_MAX);
			return FL_EINVAL;
		}
		memcpy(out, env, n + 1);
		*len = n;
		return FL_OK;
	}
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "passphrase: no terminal to ask on; set %s", PASS_ENV);
		return FL_EIO;
	}
	rc = tty_read(fd, "passphrase: ", out, len, err, errlen);
	if (rc == FL_OK && *len == 0) {
		snprintf(err, errlen, "passphrase: empty; a key needs a passphrase");
		rc = FL_EINVAL;
	}
	if (rc == FL_OK && confirm) {
		rc = tty_read(fd, "passphrase again: ", again, &again_len, err, errlen);
		if (rc == FL_OK && (again_len != *len || sodium_memcmp(again, out, *len) != 0)) {
			snprintf(err, errlen, "passphrase: the two entries differ");
			rc = FL_EINVAL;
		}
	}
	sodium_memzero(again, sizeof(again));
	close(fd);
	if (rc != FL_OK) {
		sodium_memzero(out, WALLET_PASS_MAX + 1);
		*len = 0;
	}
	return rc;
}

int wallet_unlock(const wallet *w, fl_seckey *sk, fl_pubkey *pk)
{
	char pass[WALLET_PASS_MAX + 1], err[WALLET_ERR_MAX];
	uint8_t *file = NULL;
	size_t len = 0, n = 0;
	int rc;

	/* The file is checked before the passphrase is asked for: nobody
	 * should type a passphrase for a file that is missing or damaged. */
	rc = fl_file_read(w->key_path, &file, &n, WALLET_KEYFILE_LEN + 1);
	if (rc == FL_OK) {
		rc = wallet_keyfile_check(file, n, pk, NULL, err, sizeof(err));
		if (rc != FL_OK)
			tool_error(w->prog, "%s: %s", w->key_path, err);
	} else if (rc == FL_ETOOBIG) {
		tool_error(w->prog, "%s: damaged key file: longer than %u bytes", w->key_path,
			   WALLET_KEYFILE_LEN);
	} else {
		tool_error(w->prog, "%s: cannot read the key file: %s", w->key_path,
			   rc == FL_ENOTFOUND
			       ? "no such file (make one with 'keygen', or --key FILE)"
			       : fl_strerror(rc));
	}
	if (rc != FL_OK)
		goto cleanup;
	if ((rc = wallet_passphrase(pass, &len, 0, err, sizeof(err))) != FL_OK) {
		tool_error(w->prog, "%s", err);
		goto cleanup;
	}
	rc = wallet_keyfile_open(sk, pk, file, n, pass, len, err, sizeof(err));
	if (rc != FL_OK)
		tool_error(w->prog, "%s: %s", w->key_path, err);

cleanup:
	sodium_memzero(pass, sizeof(pass));
	if (file != NULL)
		sodium_memzero(file, n);
	fl_free(file);
	return rc == FL_OK ? TOOL_EXIT_OK : TOOL_EXIT_RUNTIME;
}
