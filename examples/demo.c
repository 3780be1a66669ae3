// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * demo.c - two private network stacks in one process talk TCP over a
 * daemon-less VDE network, configured without /bin/ip.
 *
 * Stack "alice" creates a switch:// network in a temporary directory (the
 * switch lives inside libvdeplug, no daemon), stack "bob" plugs into it
 * with vde://.  Both are configured with vde_stack_config() (netlink from
 * this process), then bob connects to alice over IPv4 and over IPv6 and
 * they exchange a greeting.  The program's own network is never touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vdestack.h>

static int die(const char *what)
{
	fprintf(stderr, "demo: %s: %s (%s)\n", what, strerror(errno),
		vde_stack_errmsg());
	exit(1);
}

static void talk(struct vdestack *srv, struct vdestack *cli, int family,
		 const char *addr)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (void *)&ss;
	struct sockaddr_in6 *in6 = (void *)&ss;
	socklen_t len;
	char buf[128];
	int l, c, a, n, one = 1, tries;

	if (family == AF_INET) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(7777);
		inet_pton(AF_INET, addr, &in4->sin_addr);
		len = sizeof(*in4);
	} else {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(7777);
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
		len = sizeof(*in6);
	}
	l = vde_msocket(srv, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c = vde_msocket(cli, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || c < 0)
		die("vde_msocket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* IPv6 addresses are usable after duplicate address detection */
	for (tries = 0; bind(l, (void *)&ss, len) < 0; tries++) {
		if (errno != EADDRNOTAVAIL || tries > 50)
			die("bind");
		usleep(100000);
	}
	if (listen(l, 1) < 0 || connect(c, (void *)&ss, len) < 0)
		die("connect");
	a = accept(l, NULL, NULL);
	if (a < 0)
		die("accept");
	n = snprintf(buf, sizeof(buf), "hello alice, this is bob over %s",
		     family == AF_INET ? "IPv4" : "IPv6");
	if (write(c, buf, (size_t)n) != n)
		die("write");
	n = (int)read(a, buf, sizeof(buf) - 1);
	if (n <= 0)
		die("read");
	buf[n] = '\0';
	printf("alice [%s]:7777 received: \"%s\"\n", addr, buf);
	close(a);
	close(c);
	close(l);
}

int main(void)
{
	char dir[] = "/tmp/vdestack-demo.XXXXXX", net[80];
	struct vdestack *alice, *bob;
	struct vde_stack_stats st;

	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(net, sizeof(net), "switch://%s/net", dir);
	alice = vde_addstack(net, NULL);
	if (!alice)
		die("vde_addstack(alice)");
	snprintf(net, sizeof(net), "vde://%s/net", dir);
	bob = vde_addstack(net, NULL);
	if (!bob)
		die("vde_addstack(bob)");
	printf("two stacks on %s/net (backend %s), interface %s\n", dir,
	       vde_stack_backend(alice), vde_stack_ifname(alice));

	if (vde_stack_config(alice, "ip=10.0.0.1/24,ip6=fd00::1/64") < 0 ||
	    vde_stack_config(bob, "ip=10.0.0.2/24,ip6=fd00::2/64,"
				  "gw=10.0.0.1") < 0)
		die("vde_stack_config");
	printf("configured with netlink: alice 10.0.0.1 fd00::1, "
	       "bob 10.0.0.2 fd00::2\n");

	talk(alice, bob, AF_INET, "10.0.0.1");
	talk(alice, bob, AF_INET6, "fd00::1");

	if (vde_stack_stats(alice, &st, sizeof(st)) == 0)
		printf("alice's interface: %llu frames in, %llu frames out\n",
		       (unsigned long long)st.rx_frames,
		       (unsigned long long)st.tx_frames);
	vde_delstack(bob);
	vde_delstack(alice);
	snprintf(net, sizeof(net), "%s/net", dir);
	rmdir(net); /* normally already removed by vde_close() */
	rmdir(dir);
	printf("demo: OK\n");
	return 0;
}
