// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * multi_stack.c - several stacks in one process, one network
 *
 * N stacks (default 4) join one daemon-less hub; stack i is 10.2.0.i.
 * Every stack sends a UDP datagram to every other one, and each checks
 * that it received one from each peer.
 *
 *	multi_stack [N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vdestack.h>

#define MAXN 32

static void die(const char *what)
{
	fprintf(stderr, "multi_stack: %s: %s (%s)\n", what, strerror(errno),
		vde_stack_errmsg());
	exit(1);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4, i, j, fd[MAXN], got = 0;
	char dir[] = "/tmp/multi_stack.XXXXXX", net[64], conf[64];
	struct vdestack *s[MAXN];

	if (n < 2 || n > MAXN)
		n = 4;
	if (!mkdtemp(dir))
		die("mkdtemp");
	for (i = 0; i < n; i++) {
		struct sockaddr_in me = { .sin_family = AF_INET,
					  .sin_port = htons(9000) };

		/* the first creates the hub (hub://), the others join it
		 * (vde://) */
		snprintf(net, sizeof(net), "%s://%s/hub", i ? "vde" : "hub",
			 dir);
		s[i] = vde_addstack(net, NULL);
		if (!s[i])
			die("vde_addstack");
		snprintf(conf, sizeof(conf), "ip=10.2.0.%d/24", i + 1);
		if (vde_stack_config(s[i], conf) < 0)
			die("vde_stack_config");
		fd[i] = vde_msocket(s[i], AF_INET, SOCK_DGRAM, 0);
		me.sin_addr.s_addr = htonl(0x0a020001 + (unsigned)i);
		if (fd[i] < 0 || bind(fd[i], (void *)&me, sizeof(me)) < 0)
			die("bind");
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			struct sockaddr_in to = { .sin_family = AF_INET,
						  .sin_port = htons(9000) };
			char msg[32];

			if (i == j)
				continue;
			to.sin_addr.s_addr = htonl(0x0a020001 + (unsigned)j);
			snprintf(msg, sizeof(msg), "from %d", i + 1);
			/* the first datagram may wait for ARP: resend */
			for (int k = 0; k < 3; k++)
				sendto(fd[i], msg, strlen(msg), 0, (void *)&to,
				       sizeof(to));
		}
	for (i = 0; i < n; i++) {
		int seen[MAXN] = { 0 }, peers = 0;
		struct pollfd p = { .fd = fd[i], .events = POLLIN };
		char buf[32];

		while (peers < n - 1 && poll(&p, 1, 2000) == 1) {
			ssize_t len = recv(fd[i], buf, sizeof(buf) - 1, 0);
			int from;

			if (len <= 0)
				break;
			buf[len] = '\0';
			from = atoi(buf + 5) - 1;
			if (from >= 0 && from < n && !seen[from]++)
				peers++;
		}
		printf("10.2.0.%d heard %d of %d peers\n", i + 1, peers, n - 1);
		got += peers == n - 1;
	}
	for (i = n - 1; i >= 0; i--) {
		close(fd[i]);
		vde_delstack(s[i]);
	}
	snprintf(net, sizeof(net), "%s/hub", dir);
	rmdir(net); /* normally removed by the hub's vde_close() */
	rmdir(dir);
	return got == n ? 0 : 1;
}
