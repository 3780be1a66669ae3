// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_transport.c - TCP between two stacks over every kind of VDE wire
 *
 * Each test builds two stacks joined by one VDE network, configures them
 * with /bin/ip through vde_stackcmd() and moves pseudo-random data from a
 * vde_msocket() client in one stack to a server in the other, comparing
 * every byte.
 */
#include <stdio.h>
#include <stdlib.h>
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

static void tcp_on_seqpacket(int v6, int mtu, size_t n)
{
	int w[2];
	char *u0, *u1;

	require_network();
	CHECK_OK(wire_pair(w));
	u0 = seqpacket_url(w[0]);
	u1 = seqpacket_url(w[1]);
	tcp_between(u0, u1, v6, mtu, n);
	free(u0);
	free(u1);
}

ISOLATED_TEST(test_tcp_over_seqpacket_socketpair)
{
	tcp_on_seqpacket(0, 0, 8 * MB);
}

ISOLATED_TEST(test_tcp_ipv6_over_seqpacket_socketpair)
{
	tcp_on_seqpacket(1, 0, 8 * MB);
}

ISOLATED_TEST(test_tcp_mtu_9000_over_seqpacket_byte_for_byte)
{
	tcp_on_seqpacket(0, 9000, 16 * MB);
}

ISOLATED_TEST(test_tcp_ipv6_mtu_9000_over_seqpacket_byte_for_byte)
{
	tcp_on_seqpacket(1, 9000, 16 * MB);
}

ISOLATED_TEST(test_tcp_over_daemonless_switch_and_vde_client)
{
	char *dir, *sw, *ua, *ub;

	require_network();
	dir = make_tmpdir();
	sw = path_in(dir, "sw");
	if (asprintf(&ua, "switch://%s", sw) < 0 ||
	    asprintf(&ub, "vde://%s", sw) < 0)
		abort();
	tcp_between(ua, ub, 0, 0, 4 * MB);
	remove_tree(dir);
}

ISOLATED_TEST(test_tcp_over_daemonless_hub_and_vde_client)
{
	char *dir, *hub, *ua, *ub;

	require_network();
	dir = make_tmpdir();
	hub = path_in(dir, "hub");
	if (asprintf(&ua, "hub://%s", hub) < 0 ||
	    asprintf(&ub, "vde://%s", hub) < 0)
		abort();
	tcp_between(ua, ub, 0, 0, 4 * MB);
	remove_tree(dir);
}

ISOLATED_TEST(test_tcp_ipv6_over_daemonless_switch)
{
	char *dir, *sw, *ua, *ub;

	require_network();
	dir = make_tmpdir();
	sw = path_in(dir, "sw");
	if (asprintf(&ua, "switch://%s", sw) < 0 ||
	    asprintf(&ub, "vde://%s", sw) < 0)
		abort();
	tcp_between(ua, ub, 1, 0, 4 * MB);
	remove_tree(dir);
}

ISOLATED_TEST(test_tcp_over_ptp)
{
	char *dir, *sock, *u;

	require_network();
	dir = make_tmpdir();
	sock = path_in(dir, "ptp");
	if (asprintf(&u, "ptp://%s", sock) < 0)
		abort();
	tcp_between(u, u, 0, 0, 4 * MB);
	remove_tree(dir);
}

ISOLATED_TEST(test_tcp_over_udp_on_loopback)
{
	int port[2];
	char *ua, *ub;

	require_network();
	free_udp_ports(port, 2);
	if (asprintf(&ua, "udp://127.0.0.1:%d->127.0.0.1:%d", port[0],
		     port[1]) < 0 ||
	    asprintf(&ub, "udp://127.0.0.1:%d->127.0.0.1:%d", port[1],
		     port[0]) < 0)
		abort();
	tcp_between(ua, ub, 0, 0, 4 * MB);
}

ISOLATED_TEST(test_tcp_mtu_9000_over_udp_on_loopback)
{
	int port[2];
	char *ua, *ub;

	require_network();
	free_udp_ports(port, 2);
	if (asprintf(&ua, "udp://127.0.0.1:%d->127.0.0.1:%d", port[0],
		     port[1]) < 0 ||
	    asprintf(&ub, "udp://127.0.0.1:%d->127.0.0.1:%d", port[1],
		     port[0]) < 0)
		abort();
	tcp_between(ua, ub, 0, 9000, 8 * MB);
}

ISOLATED_TEST(test_tcp_over_vde2_vde_switch)
{
	struct vswitch sw;
	char *dir, *swdir;

	require_network();
	dir = make_tmpdir();
	swdir = path_in(dir, "vs");
	if (vswitch_start(&sw, swdir) < 0) {
		remove_tree(dir);
		test_skip("vde_switch (package vde2) not usable");
	}
	tcp_between(sw.url, sw.url, 0, 0, 4 * MB);
	tcp_between(sw.url, sw.url, 1, 0, 2 * MB);
	vswitch_stop(&sw);
	remove_tree(dir);
}

ISOLATED_TEST(test_tcp_over_vxvde_multicast)
{
	int port[1];
	char *u;

	require_network();
	free_udp_ports(port, 1);
	/* a group and a port of our own: parallel runs do not meet */
	if (asprintf(&u, "vxvde://239.255.%d.%d/port=%d", port[0] >> 8,
		     port[0] & 0xff, port[0]) < 0)
		abort();
	/* multicast needs a route on the host (not there in some sandboxes) */
	struct vdestack *probe = addstack(u, NULL);
	if (!probe && (errno == ENETUNREACH || errno == ENODEV))
		test_skip("no multicast route on the host: %m");
	CHECK_MSG(probe, "vde_addstack(%s): %m", u);
	vde_delstack(probe);
	tcp_between(u, u, 0, 0, 4 * MB);
}

ISOLATED_TEST(test_three_stacks_on_one_switch_reach_each_other)
{
	char *dir, *sw, *ua, *ub;
	struct vdestack *s[3];
	static const char *const addr[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};

	require_network();
	dir = make_tmpdir();
	sw = path_in(dir, "sw");
	if (asprintf(&ua, "switch://%s", sw) < 0 ||
	    asprintf(&ub, "vde://%s", sw) < 0)
		abort();
	for (int i = 0; i < 3; i++) {
		char cidr[32];

		s[i] = addstack(i ? ub : ua, NULL);
		CHECK_MSG(s[i], "vde_addstack(%s): %m", i ? ub : ua);
		snprintf(cidr, sizeof(cidr), "%s/24", addr[i]);
		CHECK_EQ(stack_up(s[i], cidr), 0);
	}
	for (int i = 0; i < 3; i++) {
		int j = (i + 1) % 3;

		CHECK_EQ(tcp_transfer(s[i], addr[i], s[j], MB, 30), MB);
	}
	for (int i = 0; i < 3; i++)
		vde_delstack(s[i]);
	remove_tree(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_over_seqpacket_socketpair),
		cmocka_unit_test(test_tcp_ipv6_over_seqpacket_socketpair),
		cmocka_unit_test(
			test_tcp_mtu_9000_over_seqpacket_byte_for_byte),
		cmocka_unit_test(
			test_tcp_ipv6_mtu_9000_over_seqpacket_byte_for_byte),
		cmocka_unit_test(
			test_tcp_over_daemonless_switch_and_vde_client),
		cmocka_unit_test(test_tcp_over_daemonless_hub_and_vde_client),
		cmocka_unit_test(test_tcp_ipv6_over_daemonless_switch),
		cmocka_unit_test(test_tcp_over_ptp),
		cmocka_unit_test(test_tcp_over_udp_on_loopback),
		cmocka_unit_test(test_tcp_mtu_9000_over_udp_on_loopback),
		cmocka_unit_test(test_tcp_over_vde2_vde_switch),
		cmocka_unit_test(test_tcp_over_vxvde_multicast),
		cmocka_unit_test(
			test_three_stacks_on_one_switch_reach_each_other),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
