/*
 * p2p/addr.c — the one address form p2p/ accepts: "a.b.c.d:port", IPv4 in
 * strict dotted-quad (decimal, no leading zeros, each part 0..255) and a
 * decimal port without leading zeros. Addresses arrive from peers (ADDRS),
 * so one spelling per address keeps the peer book free of aliases such as
 * "127.000.0.1" or octal-looking "010.0.0.1" that inet_aton would read
 * differently.
 */
#include "p2p/internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* A decimal number of 1..max_digits digits, "0" or without a leading zero. */
static int parse_dec(const char **s, int max_digits, unsigned long *out)
{
	const char *p = *s;
	unsigned long v = 0;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		if (digits == max_digits)
			return FL_EPARSE;
		v = v * 10 + (unsigned long)(*p - '0');
		digits++;
		p++;
	}
	if (digits == 0 || (digits > 1 && **s == '0'))
		return FL_EPARSE;
	*s = p;
	*out = v;
	return FL_OK;
}

static int addr_parse(const char *addr, struct sockaddr_in *out, unsigned long min_port)
{
	char ip[16];
	unsigned long octet[4], port;
	const char *p = addr;
	int rc;

	assert(addr != NULL && out != NULL);
	if (strnlen(addr, P2P_ADDR_MAX) == P2P_ADDR_MAX)
		return FL_EPARSE;
	for (int i = 0; i < 4; i++) {
		if ((rc = parse_dec(&p, 3, &octet[i])) != FL_OK)
			return rc;
		if (octet[i] > 255)
			return FL_EINVAL;
		if (*p++ != (i < 3 ? '.' : ':'))
			return FL_EPARSE;
	}
	if ((rc = parse_dec(&p, 5, &port)) != FL_OK)
		return rc;
	if (*p != '\0')
		return FL_EPARSE;
	if (port < min_port || port > 65535)
		return FL_EINVAL;
	snprintf(ip, sizeof(ip), "%lu.%lu.%lu.%lu", octet[0], octet[1], octet[2], octet[3]);
	memset(out, 0, sizeof(*out));
	/* libuv builds the sockaddr (family, byte order) the way uv_tcp_*
	 * expects it; our own check above is what makes the syntax strict. */
	if (uv_ip4_addr(ip, (int)port, out) != 0)
		return FL_EPARSE;
	return FL_OK;
}

int p2p_addr_parse(const char *addr, struct sockaddr_in *out)
{
	return addr_parse(addr, out, 1);
}

int p2p_listen_addr_parse(const char *addr, struct sockaddr_in *out)
{
	return addr_parse(addr, out, 0);
}
