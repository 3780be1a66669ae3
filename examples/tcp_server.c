// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tcp_server.c - a TCP echo server on an IP address of its own
 *
 * The server's socket lives in a private stack with address 10.1.0.1; a
 * client stack on the same daemon-less network connects to it.  Neither
 * address exists on the host.
 *
 *	tcp_server [MESSAGE]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vdestack.h>

static void die(const char *what)
{
	fprintf(stderr, "tcp_server: %s: %s (%s)\n", what, strerror(errno),
		vde_stack_errmsg());
	exit(1);
}

int main(int argc, char **argv)
{
	const char *text = argc > 1 ? argv[1] : "hello";
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(7) };
	struct vdestack *server, *client;
	char buf[256];
	int wire[2], l, c, a, n;
	char net[32];

	/* the simplest wire: a socketpair, one end per stack */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, wire) < 0)
		die("socketpair");
	snprintf(net, sizeof(net), "seqpacket://%d", wire[0]);
	server = vde_addstack(net, NULL);
	snprintf(net, sizeof(net), "seqpacket://%d", wire[1]);
	client = vde_addstack(net, NULL);
	if (!server || !client)
		die("vde_addstack");
	if (vde_stack_config(server, "ip=10.1.0.1/24") < 0 ||
	    vde_stack_config(client, "ip=10.1.0.2/24") < 0)
		die("vde_stack_config");

	inet_pton(AF_INET, "10.1.0.1", &sin.sin_addr);
	l = vde_msocket(server, AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (void *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0)
		die("server socket");
	c = vde_msocket(client, AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (void *)&sin, sizeof(sin)) < 0)
		die("connect");
	a = accept(l, NULL, NULL);
	if (a < 0)
		die("accept");
	if (write(c, text, strlen(text)) < 0)
		die("write");
	n = (int)read(a, buf, sizeof(buf));	/* the server echoes */
	if (n <= 0 || write(a, buf, (size_t)n) != n)
		die("echo");
	n = (int)read(c, buf, sizeof(buf) - 1);
	if (n <= 0)
		die("read");
	buf[n] = '\0';
	printf("10.1.0.1:7 echoed \"%s\"\n", buf);
	close(a);
	close(c);
	close(l);
	vde_delstack(client);
	vde_delstack(server);
	return strcmp(buf, text) != 0;
}
