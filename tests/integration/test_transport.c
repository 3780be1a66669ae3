// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_transport.c - TCP between two stacks over every kind of VDE wire
 *
 * Each test builds two stacks joined by one VDE network, configures them
 * with /bin/ip through vde_stackcmd() and moves pseudo-random data from a
 * vde_msocket() client in one stack to a server in the other, comparing
 * every byte.  One test per network kind, MTU and IP version: the rows of
 * transport_cases[], run by test_transport().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define MB (1024 * 1024)

/* Stacks on @ua and @ub, 10.0.0.1/.2 (or fd00::1/2), @n bytes verified. */
static void tcp_between(const char *ua, const char *ub, int v6, int mtu,
			size_t n)
{
	struct vdestack *a, *b;

	a = addstack(ua, NULL);
	CHECK_MSG(a, "vde_addstack(%s): %m", ua);
	b = addstack(ub, NULL);
	CHECK_MSG(b, "vde_addstack(%s): %m", ub);
	if (mtu) {
		CHECK_EQ(stack_set_mtu(a, "vde0", mtu), 0);
		CHECK_EQ(stack_set_mtu(b, "vde0", mtu), 0);
		CHECK_EQ(stack_get_mtu(a, "vde0"), mtu);
		CHECK_EQ(stack_get_mtu(b, "vde0"), mtu);
	}
	CHECK_EQ(stack_up(a, v6 ? "fd00::1/64" : "10.0.0.1/24"), 0);
	CHECK_EQ(stack_up(b, v6 ? "fd00::2/64" : "10.0.0.2/24"), 0);
	CHECK_EQ(tcp_transfer(a, v6 ? "fd00::1" : "10.0.0.1", b, n, 40), n);
	/* and the other way round on the same wire */
	CHECK_EQ(tcp_transfer(b, v6 ? "fd00::2" : "10.0.0.2", a, n / 4, 40),
		 n / 4);
	vde_delstack(a);
	vde_delstack(b);
}

/* The kinds of VDE network a case can join its two stacks by. */
enum net_kind {
	NET_SEQPACKET, /* a socketpair, seqpacket:// on each end */
	NET_SWITCH,    /* switch:// (daemonless) and a vde:// client */
	NET_HUB,       /* hub:// (daemonless) and a vde:// client */
	NET_PTP,       /* ptp:// on both */
	NET_UDP,       /* udp:// on loopback, each end to the other */
	NET_VDE2,      /* vde:// to a vde_switch of vde2 */
	NET_VXVDE,     /* vxvde:// multicast on both */
};

/**
 * struct net - a network and what to remove after it
 * @ua:		VDE URL of stack a
 * @ub:		VDE URL of stack b (the same as @ua for a shared network)
 * @dir:	temporary directory, or NULL
 * @sw:		vde_switch (NET_VDE2), zeroed otherwise
 */
struct net {
	char *ua, *ub;
	char *dir;
	struct vswitch sw;
};

static char *__attribute__((format(printf, 1, 2))) strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

/* A network of @kind, or skip the test where this machine has none. */
static void net_open(struct net *n, enum net_kind kind)
{
	struct vdestack *probe;
	int w[2], port[2];
	char *sock;

	memset(n, 0, sizeof(*n));
	require_network();
	switch (kind) {
	case NET_SEQPACKET:
		CHECK_OK(wire_pair(w));
		n->ua = seqpacket_url(w[0]);
		n->ub = seqpacket_url(w[1]);
		break;
	case NET_SWITCH:
	case NET_HUB:
		n->dir = make_tmpdir();
		sock = path_in(n->dir, kind == NET_HUB ? "hub" : "sw");
		n->ua = strf("%s://%s", kind == NET_HUB ? "hub" : "switch",
			     sock);
		n->ub = strf("vde://%s", sock);
		free(sock);
		break;
	case NET_PTP:
		n->dir = make_tmpdir();
		sock = path_in(n->dir, "ptp");
		n->ua = strf("ptp://%s", sock);
		free(sock);
		break;
	case NET_UDP:
		free_udp_ports(port, 2);
		n->ua = strf("udp://127.0.0.1:%d->127.0.0.1:%d", port[0],
			     port[1]);
		n->ub = strf("udp://127.0.0.1:%d->127.0.0.1:%d", port[1],
			     port[0]);
		break;
	case NET_VDE2:
		n->dir = make_tmpdir();
		sock = path_in(n->dir, "vs");
		if (vswitch_start(&n->sw, sock) < 0) {
			remove_tree(n->dir);
			test_skip("vde_switch (package vde2) not usable");
		}
		free(sock);
		n->ua = strf("%s", n->sw.url);
		break;
	case NET_VXVDE:
		free_udp_ports(port, 1);
		/* a group and a port of our own: parallel runs do not meet */
		n->ua = strf("vxvde://239.255.%d.%d/port=%d", port[0] >> 8,
			     port[0] & 0xff, port[0]);
		/* multicast needs a route on the host (not there in some
		 * sandboxes) */
		probe = addstack(n->ua, NULL);
		if (!probe && (errno == ENETUNREACH || errno == ENODEV))
			test_skip("no multicast route on the host: %m");
		CHECK_MSG(probe, "vde_addstack(%s): %m", n->ua);
		vde_delstack(probe);
		break;
	}
	if (!n->ub) /* both stacks on the same URL */
		n->ub = strf("%s", n->ua);
}

static void net_close(struct net *n)
{
	free(n->ua);
	free(n->ub);
	vswitch_stop(&n->sw);
	if (n->dir)
		remove_tree(n->dir);
	memset(n, 0, sizeof(*n));
}

/**
 * struct transport_case - TCP over one kind of network
 * @name:	the test's name
 * @net:	the network
 * @run:	tcp_between() calls made in turn on that network, up to the
 *		first without bytes (a socketpair carries one only: the
 *		stacks close its ends)
 */
struct transport_case {
	const char *name;
	enum net_kind net;
	struct tcp_run {
		int v6, mtu;
		size_t bytes;
	} run[2];
};

static const struct transport_case transport_cases[] = {
	{"test_tcp_over_seqpacket_socketpair", NET_SEQPACKET, {{0, 0, 8 * MB}}},
	{"test_tcp_ipv6_over_seqpacket_socketpair",
	 NET_SEQPACKET,
	 {{1, 0, 8 * MB}}},
	{"test_tcp_mtu_9000_over_seqpacket_byte_for_byte",
	 NET_SEQPACKET,
	 {{0, 9000, 16 * MB}}},
	{"test_tcp_ipv6_mtu_9000_over_seqpacket_byte_for_byte",
	 NET_SEQPACKET,
	 {{1, 9000, 16 * MB}}},
	{"test_tcp_over_daemonless_switch_and_vde_client",
	 NET_SWITCH,
	 {{0, 0, 4 * MB}}},
	{"test_tcp_over_daemonless_hub_and_vde_client",
	 NET_HUB,
	 {{0, 0, 4 * MB}}},
	{"test_tcp_ipv6_over_daemonless_switch", NET_SWITCH, {{1, 0, 4 * MB}}},
	{"test_tcp_over_ptp", NET_PTP, {{0, 0, 4 * MB}}},
	{"test_tcp_over_udp_on_loopback", NET_UDP, {{0, 0, 4 * MB}}},
	{"test_tcp_mtu_9000_over_udp_on_loopback",
	 NET_UDP,
	 {{0, 9000, 8 * MB}}},
	{"test_tcp_over_vde2_vde_switch",
	 NET_VDE2,
	 {{0, 0, 4 * MB}, {1, 0, 2 * MB}}},
	{"test_tcp_over_vxvde_multicast", NET_VXVDE, {{0, 0, 4 * MB}}},
};

ISOLATED_TABLE_TEST(test_transport, struct transport_case)
{
	const struct tcp_run *r;
	struct net n;

	net_open(&n, row->net);
	for (r = row->run; r < row->run + ARRAY_SIZE(row->run) && r->bytes; r++)
		tcp_between(n.ua, n.ub, r->v6, r->mtu, r->bytes);
	net_close(&n);
}

/*
 * The ptp:// relay connects its socket to the peer's (no name lookup per
 * frame); a peer that goes away and comes back under the same name must be
 * reached again, from both ends.
 */
ISOLATED_TEST(test_ptp_peer_that_comes_back_is_reached_again)
{
	struct leak_snapshot before;
	struct vdestack *a, *b;
	struct net n;

	net_open(&n, NET_PTP);
	leak_snapshot(&before);
	a = addstack(n.ua, NULL);
	CHECK_MSG(a, "vde_addstack(%s): %m", n.ua);
	CHECK_EQ(stack_up(a, "10.0.0.1/24"), 0);
	for (int round = 0; round < 3; round++) {
		b = addstack(n.ua, NULL);
		CHECK_MSG(b, "round %d: vde_addstack(%s): %m", round, n.ua);
		CHECK_EQ(stack_up(b, "10.0.0.2/24"), 0);
		/* the new peer has a new MAC: it speaks first, so that the
		 * other end learns it from its ARP request */
		CHECK_EQ(tcp_transfer(a, "10.0.0.1", b, MB, 30), MB);
		CHECK_EQ(tcp_transfer(b, "10.0.0.2", a, MB, 30), MB);
		vde_delstack(b);
	}
	vde_delstack(a);
	CHECK_NO_LEAK(before);
	net_close(&n);
}

ISOLATED_TEST(test_three_stacks_on_one_switch_reach_each_other)
{
	struct vdestack *s[3];
	static const char *const addr[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
	struct net n;

	net_open(&n, NET_SWITCH);
	for (int i = 0; i < 3; i++) {
		char cidr[32];

		s[i] = addstack(i ? n.ub : n.ua, NULL);
		CHECK_MSG(s[i], "vde_addstack(%s): %m", i ? n.ub : n.ua);
		snprintf(cidr, sizeof(cidr), "%s/24", addr[i]);
		CHECK_EQ(stack_up(s[i], cidr), 0);
	}
	for (int i = 0; i < 3; i++) {
		int j = (i + 1) % 3;

		CHECK_EQ(tcp_transfer(s[i], addr[i], s[j], MB, 30), MB);
	}
	for (int i = 0; i < 3; i++)
		vde_delstack(s[i]);
	net_close(&n);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ptp_peer_that_comes_back_is_reached_again),
		cmocka_unit_test(
			test_three_stacks_on_one_switch_reach_each_other),
	};

	helpers_init(argc, argv);
	return run_table_tests(test_transport, transport_cases, tests);
}
