// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_nlconf.c - configuration without ip(8): links, addresses, routes
 *
 * Every function is checked on real stacks and read back independently of
 * the library's netlink code: ioctl()s on a vde_msocket() socket (index,
 * flags, MTU, MAC) and the text of /bin/ip run in the stack.  Error cases
 * check the errno and that a message was set.  Two stacks configured only
 * with these functions must carry TCP over IPv4 and IPv6, directly and
 * through routes via a gateway.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

#define KB 1024

/**
 * struct net1 - one stack with an interface, its wire's far end unused
 * @s:		the stack
 * @wire:	socketpair; @wire[1] is the far end, kept open
 * @dir:	temporary directory for command output
 */
struct net1 {
	struct vdestack *s;
	int wire[2];
	char *dir;
};

static void net1_open(struct net1 *n)
{
	char *url;

	require_network();
	CHECK_OK(wire_pair(n->wire));
	url = seqpacket_url(n->wire[0]);
	n->s = vde_addstack(url, NULL);
	CHECK_MSG(n->s, "vde_addstack(%s): %m", url);
	free(url);
	n->dir = make_tmpdir();
	CHECK(n->dir);
}

static void net1_close(struct net1 *n)
{
	vde_delstack(n->s);
	close(n->wire[1]);
	remove_tree(n->dir);
	free(n->dir);
}

/* ioctl() on an AF_INET socket inside the stack; Return: ioctl's value. */
static int ifreq_get(struct vdestack *s, const char *ifname, unsigned long req,
		     struct ifreq *ifr)
{
	int fd = vde_msocket(s, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	CHECK_MSG(fd >= 0, "vde_msocket: %m");
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", ifname);
	r = ioctl(fd, req, ifr);
	close(fd);
	return r;
}

static int kernel_ifindex(struct vdestack *s, const char *ifname)
{
	struct ifreq ifr;

	if (ifreq_get(s, ifname, SIOCGIFINDEX, &ifr) < 0)
		return -1;
	return ifr.ifr_ifindex;
}

static void kernel_mac(struct vdestack *s, const char *ifname, char *out)
{
	struct ifreq ifr;
	unsigned char *m = (unsigned char *)ifr.ifr_hwaddr.sa_data;

	CHECK_OK(ifreq_get(s, ifname, SIOCGIFHWADDR, &ifr));
	sprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		m[4], m[5]);
}

/* Output of "ip ARGS" in the stack, which must contain (or lack) @want. */
static void ip_has(struct net1 *n, const char *args, const char *want,
		   int present)
{
	char *out = stack_ip_output(n->s, n->dir, args);

	CHECK_MSG(out, "no output from ip %s", args);
	CHECK_MSG(!strstr(out, want) == !present, "ip %s: %s \"%s\" in:\n%s",
		  args, present ? "no" : "unexpected", want, out);
	free(out);
}

/* The call failed with @e and left a message. */
#define CHECK_FAILS(call, e)                                                   \
	do {                                                                   \
		CHECK_ERRNO(call, e);                                          \
		CHECK_MSG(vde_stack_errmsg()[0], "%s: no message", #call);     \
	} while (0)

/* The last message contains @s. */
#define CHECK_MSG_HAS(s)                                                       \
	CHECK_MSG(strstr(vde_stack_errmsg(), (s)),                             \
		  "message \"%s\" lacks \"%s\"", vde_stack_errmsg(), (s))

ISOLATED_TEST(test_nlconf_ifindex_matches_the_kernel)
{
	struct net1 n;
	int idx;

	net1_open(&n);
	idx = kernel_ifindex(n.s, "vde0");
	CHECK(idx > 1);
	CHECK_EQ(vde_stack_ifindex(n.s, NULL), idx);
	CHECK_EQ(vde_stack_ifindex(n.s, "vde0"), idx);
	CHECK_EQ(vde_stack_ifindex(n.s, "lo"), kernel_ifindex(n.s, "lo"));
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_unknown_interface_is_enodev)
{
	struct net1 n;

	net1_open(&n);
	CHECK_FAILS(vde_stack_ifindex(n.s, "nope0"), ENODEV);
	CHECK_MSG_HAS("nope0");
	CHECK_FAILS(vde_stack_ifindex(n.s, "a-name-far-too-long-for-linux"),
		    ENODEV);
	CHECK_FAILS(vde_stack_ifindex(n.s, ""), ENODEV);
	CHECK_FAILS(vde_stack_link_set(n.s, "nope0", 1), ENODEV);
	CHECK_FAILS(vde_stack_set_mtu(n.s, "nope0", 1400), ENODEV);
	CHECK_FAILS(vde_stack_set_mac(n.s, "nope0", "02:00:00:00:00:01"),
		    ENODEV);
	CHECK_FAILS(vde_stack_addr_add(n.s, "nope0", "10.0.0.1/24"), ENODEV);
	CHECK_FAILS(vde_stack_addr_del(n.s, "nope0", "10.0.0.1/24"), ENODEV);
	CHECK_FAILS(vde_stack_route_add(n.s, "10.1.0.0/16", NULL, "nope0"),
		    ENODEV);
	CHECK_FAILS(vde_stack_config(n.s, "if=nope0,ip=10.0.0.1/24"), ENODEV);
	/* checked before anything changed */
	CHECK_EQ(stack_ifflags(n.s, "lo") & IFF_UP, 0);
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_null_stack_is_einval)
{
	struct ifaddrs *ifa = NULL;

	CHECK_FAILS(vde_stack_ifindex(NULL, "lo"), EINVAL);
	CHECK_FAILS(vde_stack_link_set(NULL, "lo", 1), EINVAL);
	CHECK_FAILS(vde_stack_set_mtu(NULL, "lo", 1500), EINVAL);
	CHECK_FAILS(vde_stack_set_mac(NULL, NULL, "02:00:00:00:00:01"), EINVAL);
	CHECK_FAILS(vde_stack_addr_add(NULL, NULL, "10.0.0.1/24"), EINVAL);
	CHECK_FAILS(vde_stack_addr_del(NULL, NULL, "10.0.0.1/24"), EINVAL);
	CHECK_FAILS(vde_stack_route_add(NULL, "default", "10.0.0.1", NULL),
		    EINVAL);
	CHECK_FAILS(vde_stack_route_del(NULL, "default", "10.0.0.1", NULL),
		    EINVAL);
	CHECK_FAILS(vde_stack_getifaddrs(NULL, &ifa), EINVAL);
	CHECK(ifa == NULL);
	CHECK_FAILS(vde_stack_config(NULL, "ip=10.0.0.1/24"), EINVAL);
}

ISOLATED_TEST(test_nlconf_stack_without_network_has_only_lo)
{
	struct ifaddrs *ifa, *p;
	struct vdestack *s;
	int n4 = 0, npacket = 0;

	require_stacks();
	s = vde_addstack(NULL, NULL);
	CHECK_MSG(s, "vde_addstack(NULL): %m");
	CHECK_EQ(vde_stack_ifindex(s, "lo"), kernel_ifindex(s, "lo"));
	CHECK_FAILS(vde_stack_ifindex(s, NULL), ENODEV);
	CHECK_FAILS(vde_stack_addr_add(s, NULL, "10.0.0.1/24"), ENODEV);
	CHECK_FAILS(vde_stack_config(s, "ip=10.0.0.1/24"), ENODEV);
	CHECK_EQ(stack_ifflags(s, "lo") & IFF_UP, 0);

	/* NULL brings lo up and does nothing else. */
	CHECK_OK(vde_stack_config(s, NULL));
	CHECK(stack_ifflags(s, "lo") & IFF_UP);
	CHECK_OK(vde_stack_getifaddrs(s, &ifa));
	for (p = ifa; p; p = p->ifa_next) {
		CHECK_STREQ(p->ifa_name, "lo");
		CHECK(p->ifa_flags & IFF_LOOPBACK);
		CHECK(p->ifa_addr);
		npacket += p->ifa_addr->sa_family == AF_PACKET;
		if (p->ifa_addr->sa_family == AF_INET) {
			struct sockaddr_in *a = (void *)p->ifa_addr;
			struct sockaddr_in *m = (void *)p->ifa_netmask;

			CHECK_EQ(ntohl(a->sin_addr.s_addr), INADDR_LOOPBACK);
			CHECK_EQ(ntohl(m->sin_addr.s_addr), 0xff000000);
			n4++;
		}
	}
	CHECK_EQ(npacket, 1);
	CHECK_EQ(n4, 1);
	vde_stack_freeifaddrs(ifa);
	vde_delstack(s);
}

ISOLATED_TEST(test_nlconf_link_set_up_and_down)
{
	struct net1 n;

	net1_open(&n);
	CHECK_EQ(stack_ifflags(n.s, "vde0") & IFF_UP, 0);
	CHECK_OK(vde_stack_link_set(n.s, NULL, 1));
	CHECK(stack_ifflags(n.s, "vde0") & IFF_UP);
	ip_has(&n, "-o link show dev vde0", ",UP", 1);
	CHECK_OK(vde_stack_link_set(n.s, "lo", 1));
	CHECK(stack_ifflags(n.s, "lo") & IFF_UP);
	CHECK_OK(vde_stack_link_set(n.s, "vde0", 0));
	CHECK_EQ(stack_ifflags(n.s, "vde0") & IFF_UP, 0);
	ip_has(&n, "-o link show dev vde0", ",UP", 0);
	/* lo is left alone */
	CHECK(stack_ifflags(n.s, "lo") & IFF_UP);
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_set_mtu_reads_back)
{
	struct net1 n;

	net1_open(&n);
	CHECK_OK(vde_stack_set_mtu(n.s, NULL, 9000));
	CHECK_EQ(stack_get_mtu(n.s, "vde0"), 9000);
	ip_has(&n, "-o link show dev vde0", "mtu 9000 ", 1);
	CHECK_OK(vde_stack_set_mtu(n.s, "vde0", 9216));
	CHECK_EQ(stack_get_mtu(n.s, "vde0"), 9216);
	CHECK_OK(vde_stack_set_mtu(n.s, "vde0", 1280));
	CHECK_EQ(stack_get_mtu(n.s, "vde0"), 1280);
	CHECK_OK(vde_stack_set_mtu(n.s, "lo", 16384));
	CHECK_EQ(stack_get_mtu(n.s, "lo"), 16384);
	net1_close(&n);
}

/*
 * The relay clamps an MTU above VDE's 9216 that something set behind the
 * library's back.  Two changes in a row (65000, then 1500) must end at
 * 1500: the relay acts on the MTU the link has, not on the value of a
 * notice that is already stale when it is read.
 */
ISOLATED_TEST(test_nlconf_mtu_clamp_ignores_stale_notices)
{
	struct net1 n;
	int fd, i;

	net1_open(&n);
	fd = vde_msocket(n.s, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	for (i = 0; i < 20; i++) {
		struct ifreq big = {.ifr_mtu = 65000}, small = {.ifr_mtu = 1500};

		snprintf(big.ifr_name, IFNAMSIZ, "vde0");
		snprintf(small.ifr_name, IFNAMSIZ, "vde0");
		CHECK_OK(ioctl(fd, SIOCSIFMTU, &big));
		CHECK_OK(ioctl(fd, SIOCSIFMTU, &small));
		sleep_ms(30);
		CHECK_MSG(stack_get_mtu(n.s, "vde0") == 1500,
			  "round %d: MTU %d, not 1500", i,
			  stack_get_mtu(n.s, "vde0"));
	}
	/* and one change alone is still clamped */
	{
		struct ifreq big = {.ifr_mtu = 65000};
		double t0 = now_s();

		snprintf(big.ifr_name, IFNAMSIZ, "vde0");
		CHECK_OK(ioctl(fd, SIOCSIFMTU, &big));
		while (stack_get_mtu(n.s, "vde0") != 9216 && now_s() - t0 < 5)
			sleep_ms(10);
		CHECK_EQ(stack_get_mtu(n.s, "vde0"), 9216);
	}
	close(fd);
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_mtu_out_of_range_is_einval_and_unchanged)
{
	struct net1 n;

	net1_open(&n);
	CHECK_OK(vde_stack_set_mtu(n.s, NULL, 1400));
	/* above what VDE carries (defect 7 of upstream) */
	CHECK_FAILS(vde_stack_set_mtu(n.s, NULL, 9217), EINVAL);
	CHECK_MSG_HAS("9216");
	CHECK_FAILS(vde_stack_set_mtu(n.s, "vde0", 65535), EINVAL);
	/* below what the kernel accepts */
	CHECK_FAILS(vde_stack_set_mtu(n.s, NULL, 67), EINVAL);
	CHECK_FAILS(vde_stack_set_mtu(n.s, NULL, 0), EINVAL);
	CHECK_FAILS(vde_stack_config(n.s, "mtu=9217"), EINVAL);
	CHECK_EQ(stack_get_mtu(n.s, "vde0"), 1400);
	/* the limit is the backend's, not lo's */
	CHECK_OK(vde_stack_set_mtu(n.s, "lo", 65535));
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_set_mac_reads_back)
{
	static const char *const bad[] = {
		"02:00:00:00:00",     "02:00:00:00:00:01:03",
		"02:00:00:00:00:0g",  "02-00-00-00-00-01",
		"02:00:00:00:00:001", "",
		":02:00:00:00:00:01", "02:00:00:00:00:01 ",
	};
	struct net1 n;
	char mac[32];
	size_t i;

	net1_open(&n);
	CHECK_OK(vde_stack_set_mac(n.s, NULL, "02:00:00:00:00:01"));
	kernel_mac(n.s, "vde0", mac);
	CHECK_STREQ(mac, "02:00:00:00:00:01");
	ip_has(&n, "-o link show dev vde0", "link/ether 02:00:00:00:00:01", 1);
	/* live change on a running link; one-digit octets, capitals */
	CHECK_OK(vde_stack_link_set(n.s, NULL, 1));
	CHECK_OK(vde_stack_set_mac(n.s, "vde0", "2:AB:0:c:d:E"));
	kernel_mac(n.s, "vde0", mac);
	CHECK_STREQ(mac, "02:ab:00:0c:0d:0e");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECK_MSG(vde_stack_set_mac(n.s, NULL, bad[i]) == -1 &&
				  errno == EINVAL,
			  "set_mac(\"%s\") should be EINVAL: %m", bad[i]);
	}
	CHECK_FAILS(vde_stack_set_mac(n.s, NULL, NULL), EINVAL);
	/* well-formed but not a unicast address: the kernel refuses */
	CHECK_FAILS(vde_stack_set_mac(n.s, NULL, "01:00:5e:00:00:01"),
		    EADDRNOTAVAIL);
	kernel_mac(n.s, "vde0", mac);
	CHECK_STREQ(mac, "02:ab:00:0c:0d:0e");
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_addr_add_del_ipv4_and_ipv6)
{
	struct net1 n;

	net1_open(&n);
	CHECK_OK(vde_stack_link_set(n.s, NULL, 1));
	CHECK_OK(vde_stack_addr_add(n.s, NULL, "10.0.0.1/24"));
	CHECK_OK(vde_stack_addr_add(n.s, "vde0", "fd00::1/64"));
	CHECK_OK(vde_stack_addr_add(n.s, NULL, "10.9.9.9"));
	CHECK_OK(vde_stack_addr_add(n.s, "lo", "192.168.7.1/32"));
	ip_has(&n, "-o addr show dev vde0", "inet 10.0.0.1/24 brd 10.0.0.255",
	       1);
	ip_has(&n, "-o addr show dev vde0", "inet 10.9.9.9/32", 1);
	ip_has(&n, "-o addr show dev vde0", "inet6 fd00::1/64", 1);
	ip_has(&n, "-o addr show dev lo", "inet 192.168.7.1/32", 1);
	/* the kernel made the prefix route */
	ip_has(&n, "-o route show", "10.0.0.0/24 dev vde0", 1);

	CHECK_OK(vde_stack_addr_del(n.s, NULL, "10.0.0.1/24"));
	CHECK_OK(vde_stack_addr_del(n.s, NULL, "fd00::1/64"));
	ip_has(&n, "-o addr show dev vde0", "10.0.0.1", 0);
	ip_has(&n, "-o addr show dev vde0", "fd00::1", 0);
	ip_has(&n, "-o addr show dev vde0", "inet 10.9.9.9/32", 1);
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_addr_errors)
{
	static const char *const bad[] = {
		"10.0.0.1/33",	"fd00::1/129",	"10.0.0",	 "10.0.0.1/",
		"10.0.0.1/-1",	"10.0.0.1/24x", "10.0.0.256/24", "/24",
		"fd00::1%vde0", "fd00:::1/64",	"10.0.0.1 /24",	 "",
	};
	struct net1 n;
	size_t i;

	net1_open(&n);
	CHECK_OK(vde_stack_link_set(n.s, NULL, 1));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECK_MSG(vde_stack_addr_add(n.s, NULL, bad[i]) == -1 &&
				  errno == EINVAL,
			  "addr_add(\"%s\") should be EINVAL: %m", bad[i]);
	}
	CHECK_FAILS(vde_stack_addr_add(n.s, NULL, "10.0.0.1/33"), EINVAL);
	CHECK_MSG_HAS("above 32");
	CHECK_FAILS(vde_stack_addr_add(n.s, NULL, NULL), EINVAL);

	CHECK_OK(vde_stack_addr_add(n.s, NULL, "10.0.0.1/24"));
	CHECK_FAILS(vde_stack_addr_add(n.s, NULL, "10.0.0.1/24"), EEXIST);
	CHECK_OK(vde_stack_addr_add(n.s, NULL, "fd00::1/64"));
	CHECK_FAILS(vde_stack_addr_add(n.s, NULL, "fd00::1/64"), EEXIST);
	CHECK_FAILS(vde_stack_addr_del(n.s, NULL, "10.0.0.2/24"),
		    EADDRNOTAVAIL);
	CHECK_FAILS(vde_stack_addr_del(n.s, NULL, "fd00::2/64"), EADDRNOTAVAIL);
	/* deletion wants the prefix length the address was added with */
	CHECK_FAILS(vde_stack_addr_del(n.s, NULL, "10.0.0.1/16"),
		    EADDRNOTAVAIL);
	ip_has(&n, "-o addr show dev vde0", "inet 10.0.0.1/24", 1);
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_route_add_del)
{
	struct net1 n;

	net1_open(&n);
	CHECK_OK(vde_stack_link_set(n.s, NULL, 1));
	CHECK_OK(vde_stack_addr_add(n.s, NULL, "10.0.0.1/24"));
	CHECK_OK(vde_stack_addr_add(n.s, NULL, "fd00::1/64"));

	CHECK_OK(vde_stack_route_add(n.s, "default", "10.0.0.254", NULL));
	CHECK_OK(vde_stack_route_add(n.s, "10.1.0.0/16", "10.0.0.253", "vde0"));
	CHECK_OK(vde_stack_route_add(n.s, "10.2.0.0/16", NULL, NULL));
	CHECK_OK(vde_stack_route_add(n.s, "10.3.0.7", "10.0.0.252", NULL));
	CHECK_OK(vde_stack_route_add(n.s, "default6", "fd00::fe", NULL));
	CHECK_OK(vde_stack_route_add(n.s, "fd01::/64", "fd00::fd", NULL));
	CHECK_OK(vde_stack_route_add(n.s, "fd02::/64", NULL, "vde0"));
	ip_has(&n, "-o route show", "default via 10.0.0.254 dev vde0", 1);
	ip_has(&n, "-o route show", "10.1.0.0/16 via 10.0.0.253 dev vde0", 1);
	ip_has(&n, "-o route show", "10.2.0.0/16 dev vde0", 1);
	ip_has(&n, "-o route show", "10.3.0.7 via 10.0.0.252 dev vde0", 1);
	ip_has(&n, "-o -6 route show", "default via fd00::fe dev vde0", 1);
	ip_has(&n, "-o -6 route show", "fd01::/64 via fd00::fd dev vde0", 1);
	ip_has(&n, "-o -6 route show", "fd02::/64 dev vde0", 1);

	/* "default" with an IPv6 gateway is the IPv6 default; "::/0" too */
	CHECK_OK(vde_stack_route_del(n.s, "default", "fd00::fe", NULL));
	ip_has(&n, "-o -6 route show", "default via", 0);
	CHECK_OK(vde_stack_route_add(n.s, "::/0", "fd00::fe", NULL));
	ip_has(&n, "-o -6 route show", "default via fd00::fe dev vde0", 1);

	CHECK_OK(vde_stack_route_del(n.s, "default", "10.0.0.254", NULL));
	CHECK_OK(vde_stack_route_del(n.s, "10.1.0.0/16", NULL, NULL));
	CHECK_OK(vde_stack_route_del(n.s, "10.2.0.0/16", NULL, "vde0"));
	CHECK_OK(vde_stack_route_del(n.s, "fd01::/64", "fd00::fd", NULL));
	CHECK_OK(vde_stack_route_del(n.s, "default6", NULL, NULL));
	ip_has(&n, "-o route show", "default", 0);
	ip_has(&n, "-o route show", "10.1.0.0", 0);
	ip_has(&n, "-o route show", "10.2.0.0", 0);
	ip_has(&n, "-o route show", "10.3.0.7 via 10.0.0.252", 1);
	ip_has(&n, "-o -6 route show", "fd01::", 0);
	ip_has(&n, "-o -6 route show", "default", 0);
	ip_has(&n, "-o -6 route show", "fd02::/64 dev vde0", 1);
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_route_errors)
{
	static const char *const bad_dst[] = {
		"defaults", "10.0.0.0/33", "10.0.0/24", "fd00::/129", "",
	};
	struct net1 n;
	size_t i;

	net1_open(&n);
	CHECK_OK(vde_stack_link_set(n.s, NULL, 1));
	CHECK_OK(vde_stack_addr_add(n.s, NULL, "10.0.0.1/24"));
	CHECK_OK(vde_stack_addr_add(n.s, NULL, "fd00::1/64"));

	/* whatever the kernel says, faithfully */
	CHECK_FAILS(vde_stack_route_add(n.s, "default", "10.99.0.1", NULL),
		    ENETUNREACH);
	CHECK_MSG_HAS("10.99.0.1");
	CHECK_OK(vde_stack_route_add(n.s, "default", "10.0.0.254", NULL));
	CHECK_FAILS(vde_stack_route_add(n.s, "default", "10.0.0.254", NULL),
		    EEXIST);
	CHECK_FAILS(vde_stack_route_del(n.s, "10.7.0.0/16", NULL, NULL), ESRCH);
	CHECK_FAILS(vde_stack_route_del(n.s, "fd07::/64", NULL, NULL), ESRCH);

	for (i = 0; i < sizeof(bad_dst) / sizeof(bad_dst[0]); i++) {
		errno = 0;
		CHECK_MSG(vde_stack_route_add(n.s, bad_dst[i], "10.0.0.254",
					      NULL) == -1 &&
				  errno == EINVAL,
			  "route_add(\"%s\") should be EINVAL: %m", bad_dst[i]);
	}
	CHECK_FAILS(vde_stack_route_add(n.s, NULL, "10.0.0.254", NULL), EINVAL);
	CHECK_FAILS(vde_stack_route_add(n.s, "10.7.0.1/16", NULL, NULL),
		    EINVAL);
	CHECK_MSG_HAS("host bits");
	CHECK_FAILS(
		vde_stack_route_add(n.s, "10.7.0.0/16", "10.0.0.254/24", NULL),
		EINVAL);
	CHECK_FAILS(vde_stack_route_add(n.s, "10.7.0.0/16", "fd00::fe", NULL),
		    EINVAL);
	CHECK_FAILS(vde_stack_route_add(n.s, "default6", "10.0.0.254", NULL),
		    EINVAL);
	CHECK_FAILS(vde_stack_route_add(n.s, "10.7.0.0/16", "gateway", NULL),
		    EINVAL);
	net1_close(&n);
}

/* Address of family @fam in a sockaddr as text. */
static const char *sa_text(const struct sockaddr *sa, char *buf)
{
	const void *a =
		sa->sa_family == AF_INET
			? (const void *)&((struct sockaddr_in *)sa)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)sa)->sin6_addr;

	return inet_ntop(sa->sa_family, a, buf, INET6_ADDRSTRLEN);
}

ISOLATED_TEST(test_nlconf_getifaddrs_lists_links_and_addresses)
{
	int seen_ll = 0, seen4 = 0, seen6 = 0, seen_lo = 0, seen_mac = 0;
	struct ifaddrs *ifa, *p;
	struct net1 n;
	char a[INET6_ADDRSTRLEN], m[INET6_ADDRSTRLEN];
	int idx;

	net1_open(&n);
	CHECK_OK(vde_stack_config(n.s, "mac=02:00:00:00:00:07,"
				       "ip=10.0.0.7/24,ip6=fd00::7/64"));
	idx = kernel_ifindex(n.s, "vde0");
	CHECK_OK(vde_stack_getifaddrs(n.s, &ifa));
	for (p = ifa; p; p = p->ifa_next) {
		CHECK(p->ifa_name);
		CHECK(p->ifa_addr);
		if (!strcmp(p->ifa_name, "lo")) {
			seen_lo++;
			CHECK(p->ifa_flags & IFF_LOOPBACK);
			continue;
		}
		CHECK_STREQ(p->ifa_name, "vde0");
		CHECK(p->ifa_flags & IFF_UP);
		CHECK(!(p->ifa_flags & IFF_LOOPBACK));
		switch (p->ifa_addr->sa_family) {
		case AF_PACKET: {
			struct sockaddr_ll *ll = (void *)p->ifa_addr;
			static const unsigned char want[6] = {2, 0, 0, 0, 0, 7};

			CHECK_EQ(ll->sll_ifindex, idx);
			CHECK_EQ(ll->sll_halen, 6);
			seen_mac += !memcmp(ll->sll_addr, want, 6);
			/* counters in ifa_data, as glibc gives them */
			CHECK(p->ifa_data);
			break;
		}
		case AF_INET:
			CHECK_STREQ(sa_text(p->ifa_addr, a), "10.0.0.7");
			CHECK_STREQ(sa_text(p->ifa_netmask, m),
				    "255.255.255.0");
			CHECK(p->ifa_broadaddr);
			CHECK_STREQ(sa_text(p->ifa_broadaddr, m), "10.0.0.255");
			seen4++;
			break;
		case AF_INET6: {
			struct sockaddr_in6 *s6 = (void *)p->ifa_addr;

			sa_text(p->ifa_addr, a);
			CHECK_STREQ(sa_text(p->ifa_netmask, m),
				    "ffff:ffff:ffff:ffff::");
			if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr)) {
				CHECK_EQ(s6->sin6_scope_id, idx);
				seen_ll++;
			} else {
				CHECK_STREQ(a, "fd00::7");
				seen6++;
			}
			break;
		}
		default:
			CHECK_MSG(0, "unexpected family %d",
				  p->ifa_addr->sa_family);
		}
	}
	vde_stack_freeifaddrs(ifa);
	CHECK_EQ(seen_mac, 1);
	CHECK_EQ(seen4, 1);
	CHECK_EQ(seen6, 1);
	CHECK_EQ(seen_ll, 1);
	CHECK(seen_lo >= 2); /* AF_PACKET, 127.0.0.1, ::1 */
	CHECK_FAILS(vde_stack_getifaddrs(n.s, NULL), EINVAL);
	vde_stack_freeifaddrs(NULL);
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_config_applies_every_key)
{
	struct net1 n;
	char mac[32];

	net1_open(&n);
	CHECK_OK(vde_stack_config(n.s, "ip=10.0.0.1/24,gw=10.0.0.254,"
				       "mtu=9000,ip6=fd00::1/64,gw6=fd00::fe,"
				       "if=vde0,mac=02:00:00:00:00:01,"
				       "ip=10.0.1.1/24, ip6 = fd01::1/64 "));
	CHECK(stack_ifflags(n.s, "lo") & IFF_UP);
	CHECK(stack_ifflags(n.s, "vde0") & IFF_UP);
	CHECK_EQ(stack_get_mtu(n.s, "vde0"), 9000);
	kernel_mac(n.s, "vde0", mac);
	CHECK_STREQ(mac, "02:00:00:00:00:01");
	ip_has(&n, "-o addr show dev vde0", "inet 10.0.0.1/24", 1);
	ip_has(&n, "-o addr show dev vde0", "inet 10.0.1.1/24", 1);
	ip_has(&n, "-o addr show dev vde0", "inet6 fd00::1/64", 1);
	ip_has(&n, "-o addr show dev vde0", "inet6 fd01::1/64", 1);
	ip_has(&n, "-o route show", "default via 10.0.0.254 dev vde0", 1);
	ip_has(&n, "-o -6 route show", "default via fd00::fe dev vde0", 1);
	/* applied again, the addresses are already there */
	CHECK_FAILS(vde_stack_config(n.s, "ip=10.0.0.1/24"), EEXIST);
	CHECK_MSG_HAS("10.0.0.1/24");
	/* an empty string only brings the links up */
	CHECK_OK(vde_stack_link_set(n.s, NULL, 0));
	CHECK_OK(vde_stack_config(n.s, ""));
	CHECK(stack_ifflags(n.s, "vde0") & IFF_UP);
	net1_close(&n);
}

ISOLATED_TEST(test_nlconf_config_rejects_malformed_and_changes_nothing)
{
	static const char *const bad[] = {
		"ip=10.0.0.1/33",
		"ip=fd00::1/64",
		"ip6=10.0.0.1/24",
		"gw=10.0.0.254/24",
		"gw=fd00::fe",
		"gw6=10.0.0.254",
		"mtu=abc",
		"mtu=0",
		"mtu=-1",
		"mtu=1500,mtu=1500",
		"mac=02:00:00:00:00",
		"mac=02:00:00:00:00:01,mac=02:00:00:00:00:02",
		"gw=10.0.0.1,gw=10.0.0.2",
		"if=a-name-far-too-long-for-linux",
		"ip=10.0.0.1/24,,gw=10.0.0.254",
		"ip=10.0.0.1/24,",
		",ip=10.0.0.1/24",
		"ip",
		"ip=",
		"=10.0.0.1",
		"foo=bar",
		"ip=10.0.0.1/24,bogus",
		"ip=10.0.0.2/24;gw=10.0.0.254",
		"ip=10.0.0.1/24,mtu=9217",
	};
	struct net1 n;
	size_t i;

	net1_open(&n);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECK_MSG(vde_stack_config(n.s, bad[i]) == -1 &&
				  errno == EINVAL,
			  "config(\"%s\") should be EINVAL: %m", bad[i]);
		CHECK_MSG(vde_stack_errmsg()[0], "config(\"%s\"): no message",
			  bad[i]);
	}
	CHECK_FAILS(vde_stack_config(n.s, "foo=bar"), EINVAL);
	CHECK_MSG_HAS("foo");
	/* nothing was applied, not even the links */
	CHECK_EQ(stack_ifflags(n.s, "vde0") & IFF_UP, 0);
	CHECK_EQ(stack_ifflags(n.s, "lo") & IFF_UP, 0);
	CHECK_EQ(stack_get_mtu(n.s, "vde0"), 1500);
	ip_has(&n, "-o addr show dev vde0", "inet", 0);
	net1_close(&n);
}

/*
 * Stack a is configured with vde_stack_config(), stack b with the single
 * functions.  Each has a second address on lo, reachable from the other
 * only through a route via the first: TCP to it proves the route works.
 */
static void configure_pair(struct vdestack *a, struct vdestack *b)
{
	CHECK_OK(vde_stack_config(a, "ip=10.0.0.1/24,ip6=fd00::1/64"));
	CHECK_OK(vde_stack_addr_add(a, "lo", "192.168.7.1/32"));
	CHECK_OK(vde_stack_addr_add(a, "lo", "fd07::1/128"));
	CHECK_OK(vde_stack_addr_add(a, "lo", "172.16.0.1/32"));
	CHECK_OK(vde_stack_addr_add(a, "lo", "fd16::1/128"));
	/* a answers b's second addresses through b */
	CHECK_OK(vde_stack_route_add(a, "192.168.8.0/24", "10.0.0.2", NULL));
	CHECK_OK(vde_stack_route_add(a, "fd08::/64", "fd00::2", NULL));

	CHECK_OK(vde_stack_link_set(b, "lo", 1));
	CHECK_OK(vde_stack_link_set(b, NULL, 1));
	CHECK_OK(vde_stack_addr_add(b, NULL, "10.0.0.2/24"));
	CHECK_OK(vde_stack_addr_add(b, NULL, "fd00::2/64"));
	CHECK_OK(vde_stack_addr_add(b, "lo", "192.168.8.1/32"));
	CHECK_OK(vde_stack_addr_add(b, "lo", "fd08::1/128"));
	CHECK_OK(vde_stack_route_add(b, "192.168.7.0/24", "10.0.0.1", NULL));
	CHECK_OK(vde_stack_route_add(b, "fd07::/64", "fd00::1", "vde0"));
	CHECK_OK(vde_stack_route_add(b, "default", "10.0.0.1", NULL));
	CHECK_OK(vde_stack_route_add(b, "default6", "fd00::1", NULL));
}

ISOLATED_TEST_T(test_nlconf_tcp_ipv4_and_ipv6_between_configured_stacks, 120)
{
	const size_t len = 384 * KB;
	struct vdestack *a, *b;
	char *u0, *u1;
	int w[2];

	require_network();
	CHECK_OK(wire_pair(w));
	u0 = seqpacket_url(w[0]);
	u1 = seqpacket_url(w[1]);
	a = vde_addstack(u0, NULL);
	CHECK_MSG(a, "vde_addstack(%s): %m", u0);
	b = vde_addstack(u1, NULL);
	CHECK_MSG(b, "vde_addstack(%s): %m", u1);
	free(u0);
	free(u1);
	configure_pair(a, b);

	/* on the link */
	CHECK_EQ(tcp_transfer(a, "10.0.0.1", b, len, 30), len);
	CHECK_EQ(tcp_transfer(a, "fd00::1", b, len, 30), len);
	CHECK_EQ(tcp_transfer(b, "10.0.0.2", a, len, 30), len);
	CHECK_EQ(tcp_transfer(b, "fd00::2", a, len, 30), len);
	/* through routes via a gateway, both directions routed */
	CHECK_EQ(tcp_transfer(a, "192.168.7.1", b, len, 30), len);
	CHECK_EQ(tcp_transfer(a, "fd07::1", b, len, 30), len);
	/* through the default routes */
	CHECK_EQ(tcp_transfer(a, "172.16.0.1", b, len, 30), len);
	CHECK_EQ(tcp_transfer(a, "fd16::1", b, len, 30), len);

	/* without the route, the address is unreachable again */
	CHECK_OK(vde_stack_route_del(b, "default", "10.0.0.1", NULL));
	CHECK(tcp_transfer(a, "172.16.0.1", b, 1, 2) != 1);
	vde_delstack(a);
	vde_delstack(b);
}

/**
 * struct worker - one thread configuring its own stack
 * @s:		the stack
 * @i:		its number
 * @failed:	what went wrong, "" if nothing
 */
struct worker {
	struct vdestack *s;
	int i;
	char failed[256];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char cfg[128], cidr[32];
	int round;

	snprintf(cfg, sizeof(cfg), "ip=10.0.%d.1/24,ip6=fd00:%d::1/64,mtu=%d",
		 w->i, w->i, 1400 + w->i);
	if (vde_stack_config(w->s, cfg) < 0) {
		snprintf(w->failed, sizeof(w->failed), "config: %s",
			 vde_stack_errmsg());
		return NULL;
	}
	for (round = 0; round < 20; round++) {
		snprintf(cidr, sizeof(cidr), "10.1.%d.%d/32", w->i, round + 1);
		if (vde_stack_addr_add(w->s, NULL, cidr) < 0 ||
		    vde_stack_ifindex(w->s, NULL) < 0 ||
		    vde_stack_addr_del(w->s, NULL, cidr) < 0) {
			snprintf(w->failed, sizeof(w->failed), "%s: %s", cidr,
				 vde_stack_errmsg());
			return NULL;
		}
	}
	/* a failure in this thread must not show in another's message */
	if (vde_stack_addr_add(w->s, NULL, "10.0.0.1/33") != -1 ||
	    !strstr(vde_stack_errmsg(), "10.0.0.1/33"))
		snprintf(w->failed, sizeof(w->failed), "message: %s",
			 vde_stack_errmsg());
	return NULL;
}

ISOLATED_TEST(test_nlconf_concurrent_configuration_of_many_stacks)
{
	enum { N = 8 };
	struct worker w[N];
	pthread_t t[N];
	int wires[N][2];
	char *url;
	int i;

	require_network();
	for (i = 0; i < N; i++) {
		CHECK_OK(wire_pair(wires[i]));
		url = seqpacket_url(wires[i][0]);
		memset(&w[i], 0, sizeof(w[i]));
		w[i].i = i;
		w[i].s = vde_addstack(url, NULL);
		CHECK_MSG(w[i].s, "vde_addstack(%s): %m", url);
		free(url);
	}
	for (i = 0; i < N; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	for (i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < N; i++) {
		CHECK_MSG(!w[i].failed[0], "worker %d: %s", i, w[i].failed);
		CHECK_EQ(stack_get_mtu(w[i].s, "vde0"), 1400 + i);
	}
	for (i = 0; i < N; i++) {
		vde_delstack(w[i].s);
		close(wires[i][1]);
	}
}

ISOLATED_TEST(test_nlconf_leaves_no_fd_or_thread_behind)
{
	struct leak_snapshot before;
	struct ifaddrs *ifa;
	struct net1 n;
	int i;

	net1_open(&n);
	CHECK_OK(vde_stack_config(n.s, "ip=10.0.0.1/24"));
	leak_snapshot(&before);
	/* more calls than libnl has local ports (1024) per process */
	for (i = 0; i < 1100; i++) {
		CHECK(vde_stack_ifindex(n.s, NULL) > 0);
		CHECK_ERRNO(vde_stack_ifindex(n.s, "nope0"), ENODEV);
	}
	for (i = 0; i < 50; i++) {
		CHECK_OK(vde_stack_getifaddrs(n.s, &ifa));
		vde_stack_freeifaddrs(ifa);
		CHECK_ERRNO(vde_stack_addr_add(n.s, NULL, "10.0.0.1/24"),
			    EEXIST);
		CHECK_ERRNO(
			vde_stack_route_add(n.s, "default", "10.9.0.1", NULL),
			ENETUNREACH);
		CHECK_ERRNO(vde_stack_config(n.s, "bad"), EINVAL);
		CHECK_OK(vde_stack_set_mtu(n.s, NULL, 1400 + i));
	}
	CHECK_NO_LEAK(before);
	net1_close(&n);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nlconf_ifindex_matches_the_kernel),
		cmocka_unit_test(test_nlconf_unknown_interface_is_enodev),
		cmocka_unit_test(test_nlconf_null_stack_is_einval),
		cmocka_unit_test(test_nlconf_stack_without_network_has_only_lo),
		cmocka_unit_test(test_nlconf_link_set_up_and_down),
		cmocka_unit_test(test_nlconf_set_mtu_reads_back),
		cmocka_unit_test(
			test_nlconf_mtu_out_of_range_is_einval_and_unchanged),
		cmocka_unit_test(test_nlconf_mtu_clamp_ignores_stale_notices),
		cmocka_unit_test(test_nlconf_set_mac_reads_back),
		cmocka_unit_test(test_nlconf_addr_add_del_ipv4_and_ipv6),
		cmocka_unit_test(test_nlconf_addr_errors),
		cmocka_unit_test(test_nlconf_route_add_del),
		cmocka_unit_test(test_nlconf_route_errors),
		cmocka_unit_test(
			test_nlconf_getifaddrs_lists_links_and_addresses),
		cmocka_unit_test(test_nlconf_config_applies_every_key),
		cmocka_unit_test(
			test_nlconf_config_rejects_malformed_and_changes_nothing),
		cmocka_unit_test(
			test_nlconf_tcp_ipv4_and_ipv6_between_configured_stacks),
		cmocka_unit_test(
			test_nlconf_concurrent_configuration_of_many_stacks),
		cmocka_unit_test(test_nlconf_leaves_no_fd_or_thread_behind),
	};

	/* helpers_init() arms alarm(120); each body has its own timeout. */
	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
