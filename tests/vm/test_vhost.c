// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_vhost.c - the vhost-net backend, on a kernel that has vhost-net
 *
 * Meant to run in a VM (tests/vm/run-vm-tests.sh boots one with vmtest),
 * three times: as root, as an unprivileged user in the group owning
 * /dev/vhost-net, and as that user without the group.  The environment
 * variable VDESTACK_VHOST_EXPECT says which outcome the run must see:
 *
 *   usable  vhost-net must work: its tests run, a failure to open
 *           /dev/vhost-net is a failure (not a skip);
 *   denied  /dev/vhost-net must refuse this user: the tests of the
 *           refusal run, the others skip.
 *
 * Unset, it is guessed from open("/dev/vhost-net") (and the tests skip
 * where the device is missing), for running the binary by hand.
 *
 * Data tests join two stacks by a seqpacket socketpair, configure them
 * with vde_stack_config() (10.0.0.1/24 + fd00::1/64 and .2/::2) and check
 * TCP both ways and UDP echoes (fragmented sizes included) byte for byte,
 * vhost-net to vhost-net and vhost-net to tap, IPv4 and IPv6, MTU 1500
 * and 9000: one test per row of traffic_cases[].
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define MB (1024 * 1024)
#define VHOST_DEV "/dev/vhost-net"

#define CHECK_CONTAINS(hay, needle)                                            \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		CHECK_MSG(h_ &&strstr(h_, n_), "\"%s\" lacks \"%s\"",          \
			  h_ ? h_ : "(null)", n_);                             \
	} while (0)

/* ------------------------------------------------------------- outcome */

enum expect { EXPECT_USABLE, EXPECT_DENIED, EXPECT_ABSENT };

static enum expect expectation(void)
{
	const char *e = getenv("VDESTACK_VHOST_EXPECT");
	int fd;

	if (e && !strcmp(e, "usable"))
		return EXPECT_USABLE;
	if (e && !strcmp(e, "denied"))
		return EXPECT_DENIED;
	fd = open(VHOST_DEV, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return EXPECT_USABLE;
	}
	return errno == EACCES || errno == EPERM ? EXPECT_DENIED
						 : EXPECT_ABSENT;
}

/* The run promises vhost-net: a device that does not open fails here. */
static void require_vhost(void)
{
	enum expect e = expectation();
	int fd;

	if (e == EXPECT_ABSENT)
		test_skip(VHOST_DEV " is not usable here: %m");
	if (e == EXPECT_DENIED)
		test_skip("this run is the one without access to " VHOST_DEV);
	require_network();
	fd = open(VHOST_DEV, O_RDWR | O_CLOEXEC);
	CHECK_MSG(fd >= 0,
		  "VDESTACK_VHOST_EXPECT=usable but " VHOST_DEV ": %m");
	close(fd);
}

static void require_denied(void)
{
	if (expectation() != EXPECT_DENIED)
		test_skip("this run has access to " VHOST_DEV);
	require_stacks();
	CHECK_MSG(open(VHOST_DEV, O_RDWR | O_CLOEXEC) < 0 &&
			  (errno == EACCES || errno == EPERM),
		  "VDESTACK_VHOST_EXPECT=denied but " VHOST_DEV
		  " opens (or fails otherwise: %m)");
}

/* ------------------------------------------------------------ fixtures */

#define OPT_VHOST "backend=vhost-net"
#define OPT_TAP "backend=tap"

struct vpair {
	struct vdestack *a, *b;
	int wire[2];
};

/* The backend a stack made with @opts must have in this run. */
static const char *backend_of(const char *opts)
{
	if (strstr(opts, "backend=tap"))
		return "tap";
	if (strstr(opts, "backend=vhost-net"))
		return "vhost-net";
	return expectation() == EXPECT_USABLE ? "vhost-net" : "tap";
}

/**
 * vpair_open() - two configured stacks on a seqpacket wire
 * @p:		pair to fill
 * @opt_a:	options of stack a (10.0.0.1, fd00::1)
 * @opt_b:	options of stack b (10.0.0.2, fd00::2)
 * @mtu:	MTU of both
 */
static void vpair_open(struct vpair *p, const char *opt_a, const char *opt_b,
		       int mtu)
{
	char *u0, *u1, cfg[128];

	memset(p, 0, sizeof(*p));
	CHECK_OK(wire_pair(p->wire));
	u0 = seqpacket_url(p->wire[0]);
	u1 = seqpacket_url(p->wire[1]);
	p->a = vde_addstack_opt(u0, NULL, opt_a);
	CHECK_MSG(p->a, "vde_addstack_opt(%s, %s): %m: %s", u0, opt_a,
		  vde_stack_errmsg());
	p->b = vde_addstack_opt(u1, NULL, opt_b);
	CHECK_MSG(p->b, "vde_addstack_opt(%s, %s): %m: %s", u1, opt_b,
		  vde_stack_errmsg());
	CHECK_STREQ(vde_stack_backend(p->a), backend_of(opt_a));
	CHECK_STREQ(vde_stack_backend(p->b), backend_of(opt_b));
	snprintf(cfg, sizeof(cfg), "ip=10.0.0.1/24,ip6=fd00::1/64,mtu=%d", mtu);
	CHECK_MSG(vde_stack_config(p->a, cfg) == 0, "%s: %s", cfg,
		  vde_stack_errmsg());
	snprintf(cfg, sizeof(cfg), "ip=10.0.0.2/24,ip6=fd00::2/64,mtu=%d", mtu);
	CHECK_MSG(vde_stack_config(p->b, cfg) == 0, "%s: %s", cfg,
		  vde_stack_errmsg());
	CHECK_EQ(stack_get_mtu(p->a, "vde0"), mtu);
	CHECK_EQ(stack_get_mtu(p->b, "vde0"), mtu);
	free(u0);
	free(u1);
}

static void vpair_close(struct vpair *p)
{
	vde_delstack(p->a);
	vde_delstack(p->b);
	memset(p, 0, sizeof(*p));
}

/* Wait for @fd to be readable for up to @ms; Return: 1 if so. */
static int readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

static socklen_t make_addr(const char *addr, int port,
			   struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return sizeof(*s4);
	}
	CHECK(inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1);
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	return sizeof(*s6);
}

/**
 * udp_echo() - datagrams of @sizes from @cli to a server in @srv and back
 * @srv:	stack of the server
 * @srv_addr:	its address
 * @cli:	stack of the client
 * @sizes:	datagram sizes, 0-terminated
 * @rounds:	times each size is sent
 *
 * The server checks each datagram byte for byte and echoes it; the client
 * checks the echo.  A datagram lost on the way is sent again (at most 3
 * times in all): UDP may lose, but never change or reorder what arrives
 * here, so anything else is a failure.
 */
static void udp_echo(struct vdestack *srv, const char *srv_addr,
		     struct vdestack *cli, const int *sizes, int rounds)
{
	static unsigned char sbuf[65536], rbuf[65536], ebuf[65536];
	struct sockaddr_storage ss, peer;
	socklen_t sl = make_addr(srv_addr, 0, &ss), pl;
	int s, c, r, i, retries = 0, fam = ss.ss_family;
	uint64_t seq = 0;

	s = CHECK_OK(vde_msocket(srv, fam, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	c = CHECK_OK(vde_msocket(cli, fam, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	CHECK_OK(bind(s, (struct sockaddr *)&ss, sl));
	CHECK_OK(getsockname(s, (struct sockaddr *)&ss, &sl));
	CHECK_OK(connect(c, (struct sockaddr *)&ss, sl));
	for (r = 0; r < rounds; r++) {
		for (i = 0; sizes[i]; i++) {
			size_t n = (size_t)sizes[i];
			ssize_t got;

			seq++;
			fill_pattern(sbuf, 0, n, seq);
		again:
			CHECK_EQ(send(c, sbuf, n, 0), (long long)n);
			if (!readable(s, 2000)) {
				CHECK_MSG(++retries <= 3,
					  "%zu-byte datagram %llu to %s lost "
					  "%d times",
					  n, (unsigned long long)seq, srv_addr,
					  retries);
				note("%zu-byte datagram to %s lost, again", n,
				     srv_addr);
				goto again;
			}
			pl = sizeof(peer);
			got = recvfrom(s, rbuf, sizeof(rbuf), MSG_DONTWAIT,
				       (struct sockaddr *)&peer, &pl);
			CHECK_EQ(got, (long long)n);
			CHECK_MSG(!memcmp(rbuf, sbuf, n),
				  "%zu-byte datagram to %s changed on the way",
				  n, srv_addr);
			CHECK_EQ(sendto(s, rbuf, n, 0, (struct sockaddr *)&peer,
					pl),
				 (long long)n);
			CHECK_MSG(readable(c, 5000),
				  "echo of %zu bytes from "
				  "%s lost",
				  n, srv_addr);
			got = recv(c, ebuf, sizeof(ebuf), MSG_DONTWAIT);
			CHECK_EQ(got, (long long)n);
			CHECK_MSG(!memcmp(ebuf, sbuf, n),
				  "%zu-byte echo from %s changed on the way", n,
				  srv_addr);
		}
	}
	close(s);
	close(c);
}

static const int sizes_1500[] = {1,    18,   64,   512,	  1231,	 1232, 1452,
				 1472, 1473, 4000, 30000, 65000, 0};
static const int sizes_9000[] = {1,    64,   1472,  1473,  8952,
				 8972, 8973, 20000, 65000, 0};

/* The kernel's counters of the stack's interface. */
static void link_stats(struct vdestack *s, struct rtnl_link_stats *out)
{
	struct ifaddrs *ifa, *i;
	int found = 0;

	CHECK_OK(vde_stack_getifaddrs(s, &ifa));
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET &&
		    !strcmp(i->ifa_name, "vde0") && i->ifa_data) {
			memcpy(out, i->ifa_data, sizeof(*out));
			found = 1;
		}
	vde_stack_freeifaddrs(ifa);
	CHECK_MSG(found, "no counters for vde0");
}

/**
 * check_offloads() - did frames cross the TAP as the options say?
 * @s:		a vhost-net stack after bulk TCP both ways
 * @opts:	its options
 *
 * The TAP counts what the stack and the relay exchange, the relay what
 * VDE sees.  With offloads, TCP goes as super-frames both ways: fewer
 * packets than frames.  Without, one packet per frame, exactly.
 */
static void check_offloads(struct vdestack *s, const char *opts)
{
	struct vde_stack_stats st, again;
	struct rtnl_link_stats k, kagain;
	int tries = 0;

	/*
	 * Counters of a quiet link: background frames (IPv6 router and
	 * neighbour solicitations) may be in flight between the relay and
	 * the kernel, so take both until neither moved for 20 ms.
	 */
	CHECK_OK(vde_stack_stats(s, &st, sizeof(st)));
	link_stats(s, &k);
	do {
		sleep_ms(20);
		CHECK_OK(vde_stack_stats(s, &again, sizeof(again)));
		link_stats(s, &kagain);
		if (!memcmp(&st, &again, sizeof(st)) &&
		    k.rx_packets == kagain.rx_packets &&
		    k.tx_packets == kagain.tx_packets)
			break;
		st = again;
		k = kagain;
	} while (++tries < 100);
	note("%s: VDE frames rx %llu tx %llu; TAP packets rx %u tx %u", opts,
	     (unsigned long long)st.rx_frames, (unsigned long long)st.tx_frames,
	     k.rx_packets, k.tx_packets);
	if (strstr(opts, "offload=0")) {
		CHECK_EQ(k.rx_packets, st.rx_frames);
		CHECK_EQ(k.tx_packets, st.tx_frames + st.tx_dropped);
	} else {
		CHECK_MSG(k.rx_packets < st.rx_frames,
			  "no coalescing toward the stack");
		CHECK_MSG(k.tx_packets < st.tx_frames,
			  "no super-frames from the stack");
	}
}

/**
 * traffic() - TCP both ways and UDP echoes between the stacks of a pair
 * @opt_a:	options of stack a
 * @opt_b:	options of stack b
 * @v6:		IPv6 instead of IPv4
 * @mtu:	1500 or 9000 (or anything: sizes follow)
 * @tcp_bytes:	bytes a client in b sends to a server in a (and a quarter
 *		of it the other way)
 */
static void traffic(const char *opt_a, const char *opt_b, int v6, int mtu,
		    size_t tcp_bytes)
{
	const char *aa = v6 ? "fd00::1" : "10.0.0.1";
	const char *ab = v6 ? "fd00::2" : "10.0.0.2";
	struct vde_stack_stats st;
	struct vpair p;

	vpair_open(&p, opt_a, opt_b, mtu);
	CHECK_EQ(tcp_transfer(p.a, aa, p.b, tcp_bytes, 60), tcp_bytes);
	CHECK_EQ(tcp_transfer(p.b, ab, p.a, tcp_bytes / 4, 60), tcp_bytes / 4);
	udp_echo(p.a, aa, p.b, mtu >= 9000 ? sizes_9000 : sizes_1500, 2);
	udp_echo(p.b, ab, p.a, mtu >= 9000 ? sizes_9000 : sizes_1500, 1);
	CHECK_OK(vde_stack_stats(p.a, &st, sizeof(st)));
	note("a: rx %llu frames %llu bytes, tx %llu frames %llu bytes, "
	     "dropped %llu/%llu, errors %llu",
	     (unsigned long long)st.rx_frames, (unsigned long long)st.rx_bytes,
	     (unsigned long long)st.tx_frames, (unsigned long long)st.tx_bytes,
	     (unsigned long long)st.rx_dropped,
	     (unsigned long long)st.tx_dropped, (unsigned long long)st.errors);
	CHECK(st.rx_bytes >= tcp_bytes && st.tx_bytes >= tcp_bytes / 4);
	CHECK_EQ(st.errors, 0);
	if (!strcmp(backend_of(opt_a), "vhost-net"))
		check_offloads(p.a, opt_a);
	if (!strcmp(backend_of(opt_b), "vhost-net"))
		check_offloads(p.b, opt_b);
	vpair_close(&p);
}

/* ------------------------------------------------ discovery and choice */

ISOLATED_TEST(test_vhost_usable_and_preferred_by_auto)
{
	const struct vde_backend_info *vh = NULL, *tap = NULL;
	struct vde_backend_info *list;
	struct vdestack *s;
	size_t n;
	int w[2];
	char *u;

	require_vhost();
	CHECK_OK(vde_backend_list(&list, &n));
	vh = backend_in_list(list, n, "vhost-net");
	tap = backend_in_list(list, n, "tap");
	CHECK(vh && tap);
	CHECK_MSG(vh->usable, "vhost-net unusable: %s", vh->reason);
	CHECK(vh->priority > tap->priority);
	vde_backend_list_free(list, n);

	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = vde_addstack_opt(u, NULL, "backend=auto");
	CHECK_MSG(s, "backend=auto: %m: %s", vde_stack_errmsg());
	CHECK_STREQ(vde_stack_backend(s), "vhost-net");
	vde_delstack(s);
	/* vde_addstack() without options is auto, too */
	free(u);
	close(w[1]);
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = vde_addstack(u, NULL);
	CHECK_MSG(s, "vde_addstack: %m: %s", vde_stack_errmsg());
	CHECK_STREQ(vde_stack_backend(s), "vhost-net");
	vde_delstack(s);
	free(u);
	close(w[1]);
}

ISOLATED_TEST(test_vhost_bad_options_fail_with_einval_naming_them)
{
	static const struct {
		const char *opts, *needle;
	} bad[] = {
		{OPT_VHOST ",ring=100", "ring"},
		{OPT_VHOST ",ring=32", "ring"},
		{OPT_VHOST ",ring=2048", "ring"},
		{OPT_VHOST ",offload=2", "offload"},
		{OPT_VHOST ",mrg_rxbuf=yes", "mrg_rxbuf"},
		{OPT_VHOST ",busyloop=1001", "busyloop"},
		{OPT_VHOST ",busyloop=-1", "busyloop"},
		{OPT_VHOST ",queues=2", "queues"},
		{OPT_VHOST ",mtu=9217", "9216"},
	};
	struct leak_snapshot before;
	size_t i;

	require_vhost();
	leak_snapshot(&before);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vdestack *s;
		int w[2];
		char *u;

		CHECK_OK(wire_pair(w));
		u = seqpacket_url(w[0]);
		errno = 0;
		s = vde_addstack_opt(u, NULL, bad[i].opts);
		CHECK_MSG(!s && errno == EINVAL, "%s: %p errno %d (%s)",
			  bad[i].opts, (void *)s, errno, vde_stack_errmsg());
		note("%s: %s", bad[i].opts, vde_stack_errmsg());
		CHECK_CONTAINS(vde_stack_errmsg(), bad[i].needle);
		if (fd_is_open(w[0]))
			close(w[0]);
		close(w[1]);
		free(u);
	}
	CHECK_NO_LEAK(before);
}

/* ------------------------------------------------------ data, both ends */

/**
 * struct traffic_case - traffic() between stacks made with given options
 * @name:	the test's name
 * @run:	traffic() calls made in turn, up to the first without bytes
 */
struct traffic_case {
	const char *name;
	struct traffic_run {
		const char *opt_a, *opt_b;
		int v6, mtu;
		size_t tcp_bytes;
	} run[2];
};

static const struct traffic_case traffic_cases[] = {
	{"test_vhost_to_vhost_ipv4_mtu1500",
	 {{OPT_VHOST, OPT_VHOST, 0, 1500, 4 * MB}}},
	{"test_vhost_to_vhost_ipv6_mtu1500",
	 {{OPT_VHOST, OPT_VHOST, 1, 1500, 4 * MB}}},
	{"test_vhost_to_vhost_ipv4_mtu9000",
	 {{OPT_VHOST, OPT_VHOST, 0, 9000, 8 * MB}}},
	{"test_vhost_to_vhost_ipv6_mtu9000",
	 {{OPT_VHOST, OPT_VHOST, 1, 9000, 8 * MB}}},
	{"test_vhost_to_tap_ipv4_mtu1500",
	 {{OPT_VHOST, OPT_TAP, 0, 1500, 4 * MB}}},
	{"test_vhost_to_tap_ipv6_mtu1500",
	 {{OPT_TAP, OPT_VHOST, 1, 1500, 4 * MB}}},
	{"test_vhost_to_tap_ipv4_mtu9000",
	 {{OPT_TAP, OPT_VHOST, 0, 9000, 8 * MB}}},
	{"test_vhost_to_tap_ipv6_mtu9000",
	 {{OPT_VHOST, OPT_TAP, 1, 9000, 8 * MB}}},
	/* the paths the options select: plain frames, whole-frame RX
	 * buffers, small rings (super-frames then span a quarter of the RX
	 * ring) */
	{"test_vhost_without_offloads_ipv4_and_ipv6",
	 {{OPT_VHOST ",offload=0", OPT_VHOST ",offload=0", 0, 1500, 2 * MB},
	  {OPT_VHOST ",offload=0", OPT_TAP, 1, 9000, 4 * MB}}},
	{"test_vhost_whole_frame_rx_buffers",
	 {{OPT_VHOST ",mrg_rxbuf=0", OPT_VHOST ",mrg_rxbuf=0", 0, 1500, 4 * MB},
	  {OPT_VHOST ",mrg_rxbuf=0,offload=0", OPT_VHOST, 1, 9000, 4 * MB}}},
	{"test_vhost_smallest_and_largest_rings",
	 {{OPT_VHOST ",ring=64", OPT_VHOST ",ring=1024", 0, 9000, 8 * MB},
	  {OPT_VHOST ",ring=64", OPT_TAP, 1, 1500, 4 * MB}}},
	{"test_vhost_worker_busy_polling",
	 {{OPT_VHOST ",busyloop=50", OPT_VHOST ",busyloop=1000", 0, 1500,
	   4 * MB}}},
};

ISOLATED_TABLE_TEST_T(test_vhost_traffic, struct traffic_case, 120)
{
	const struct traffic_run *r;

	require_vhost();
	for (r = row->run; r < row->run + ARRAY_SIZE(row->run) && r->tcp_bytes;
	     r++)
		traffic(r->opt_a, r->opt_b, r->v6, r->mtu, r->tcp_bytes);
}

/* ---------------------------------------------------- the VDE side, raw */

static int link_running(struct vdestack *s)
{
	int f = stack_ifflags(s, "vde0");

	return f >= 0 && (f & IFF_RUNNING);
}

ISOLATED_TEST(test_vhost_runts_dropped_frames_pass_eof_drops_carrier)
{
	static const unsigned char bcast[6] = {0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff};
	unsigned char frame[9400];
	struct vde_stack_stats st;
	struct vdestack *s;
	int w[2], i, seen = 0;
	char *u;

	require_vhost();
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = vde_addstack_opt(u, NULL, OPT_VHOST);
	CHECK_MSG(s, "%m: %s", vde_stack_errmsg());
	CHECK_EQ(vde_stack_config(s, "ip=10.0.0.1/24,ip6=fd00::1/64"), 0);
	for (i = 0; i < 50 && !link_running(s); i++)
		sleep_ms(100);
	CHECK_MSG(link_running(s), "vde0 not running after 5 s");

	/* runts and an oversized frame: dropped, counted, nothing breaks */
	memset(frame, 0, sizeof(frame));
	memcpy(frame, bcast, 6);
	frame[6] = 0x02;
	frame[12] = 0x88;
	frame[13] = 0xb5;
	CHECK_EQ(send(w[1], frame, 1, 0), 1);
	CHECK_EQ(send(w[1], frame, 13, 0), 13);
	CHECK_EQ(send(w[1], frame, 9300, 0), 9300);
	/* a real frame after them */
	CHECK_EQ(send(w[1], frame, 60, 0), 60);
	for (i = 0; i < 50; i++) {
		CHECK_OK(vde_stack_stats(s, &st, sizeof(st)));
		if (st.rx_dropped >= 3 && st.rx_frames >= 1)
			break;
		sleep_ms(100);
	}
	CHECK_EQ(st.rx_dropped, 3);
	CHECK_EQ(st.rx_frames, 1);
	CHECK_EQ(st.rx_bytes, 60);

	/* what the stack sends (neighbour discovery, ...) comes whole */
	while (readable(w[1], 3000) && seen < 3) {
		ssize_t n = recv(w[1], frame, sizeof(frame), MSG_DONTWAIT);

		CHECK_MSG(n >= 14 && n <= 1514, "frame of %zd bytes to VDE", n);
		seen++;
	}
	CHECK_MSG(seen > 0, "the stack sent nothing in 3 s");

	/* the peer hangs up: carrier off */
	close(w[1]);
	for (i = 0; i < 50 && link_running(s); i++)
		sleep_ms(100);
	CHECK_MSG(!link_running(s), "vde0 still running 5 s after EOF");
	vde_delstack(s);
	free(u);
}

ISOLATED_TEST(test_vhost_mtu_above_vde_max_is_put_back)
{
	struct vdestack *s;
	int w[2], i, mtu = 0;
	char *u;

	require_vhost();
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = vde_addstack_opt(u, NULL, OPT_VHOST ",mtu=9216");
	CHECK_MSG(s, "%m: %s", vde_stack_errmsg());
	CHECK_EQ(stack_get_mtu(s, "vde0"), 9216);
	/* ip(8) does not know the limit; the backend does */
	CHECK_EQ(stack_set_mtu(s, "vde0", 9500), 0);
	for (i = 0; i < 50; i++) {
		mtu = stack_get_mtu(s, "vde0");
		if (mtu == 9216)
			break;
		sleep_ms(100);
	}
	CHECK_EQ(mtu, 9216);
	vde_delstack(s);
	close(w[1]);
	free(u);
}

/* ------------------------------------------------------------ lifetime */

/* Kernel threads "vhost-<our pid>" (the worker on Linux < 6.4). */
static int vhost_workers(void)
{
	char want[32], comm[64], path[300];
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	snprintf(want, sizeof(want), "vhost-%d\n", (int)getpid());
	while (d && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, want))
			n++;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static long vm_size_kb(void)
{
	char *s = read_file_str("/proc/self/status"), *p;
	long kb = -1;

	p = s ? strstr(s, "VmSize:") : NULL;
	if (p)
		kb = strtol(p + 7, NULL, 10);
	free(s);
	return kb;
}

/* Whether the vhost worker is a kernel thread (before Linux 6.4). */
static int worker_is_kthread(void)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return 0;
	return maj < 6 || (maj == 6 && min < 4);
}

static void one_cycle(int traffic_too)
{
	struct vpair p;

	vpair_open(&p, OPT_VHOST, OPT_VHOST, 1500);
	/* one worker per stack, gone with it */
	if (worker_is_kthread())
		CHECK_EQ(vhost_workers(), 2);
	if (traffic_too)
		CHECK_EQ(tcp_transfer(p.a, "10.0.0.1", p.b, 256 * 1024, 30),
			 256 * 1024);
	vpair_close(&p);
}

ISOLATED_TEST_T(test_vhost_create_delete_cycles_leak_nothing, 120)
{
	struct leak_snapshot before;
	long vm0, vm1;
	int i;

	require_vhost();
	/* the first cycle warms caches (libraries, thread stacks) */
	one_cycle(1);
	leak_snapshot(&before);
	vm0 = vm_size_kb();
	for (i = 0; i < 12; i++) {
		one_cycle(i % 3 == 0);
		CHECK_NO_LEAK(before);
	}
	for (i = 0; i < 20 && vhost_workers(); i++)
		sleep_ms(50);
	CHECK_EQ(vhost_workers(), 0);
	vm1 = vm_size_kb();
	note("VmSize %ld kB -> %ld kB after 12 cycles", vm0, vm1);
	/* one forgotten mapping would be 3.4 MB (ring 256) */
	CHECK_MSG(vm1 - vm0 < 1024, "VmSize grew by %ld kB", vm1 - vm0);
}

ISOLATED_TEST(test_vhost_delete_while_a_forked_child_holds_the_fds)
{
	struct leak_snapshot before;
	struct vpair p;
	pid_t pid;
	int st;

	require_vhost();
	leak_snapshot(&before);
	vpair_open(&p, OPT_VHOST, OPT_VHOST, 1500);
	pid = fork();
	CHECK_OK(pid);
	if (pid == 0) {
		/* holds copies of the vhost and TAP fds, not the rings
		 * (MADV_DONTFORK) */
		pause();
		_exit(0);
	}
	CHECK_EQ(tcp_transfer(p.a, "10.0.0.1", p.b, MB, 30), MB);
	vpair_close(&p);
	CHECK_EQ(vhost_workers(), 0);
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_NO_LEAK(before);
}

/* ------------------------------------------------------- without access */

static void device_group(char *name, size_t len)
{
	struct stat st;
	struct group *g;

	CHECK_OK(stat(VHOST_DEV, &st));
	g = getgrgid(st.st_gid);
	if (g)
		snprintf(name, len, "%s", g->gr_name);
	else
		snprintf(name, len, "%u", (unsigned int)st.st_gid);
}

ISOLATED_TEST(test_vhost_denied_explicit_fails_eacces_naming_the_group)
{
	struct leak_snapshot before;
	char group[64], want[128];
	struct vdestack *s;
	int w[2], e;
	char *u;

	require_denied();
	device_group(group, sizeof(group));
	leak_snapshot(&before);
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	errno = 0;
	s = vde_addstack_opt(u, NULL, OPT_VHOST);
	e = errno;
	note("%s", vde_stack_errmsg());
	CHECK_MSG(!s, "backend=vhost-net worked without access");
	CHECK_EQ(e, EACCES);
	CHECK_CONTAINS(vde_stack_errmsg(), VHOST_DEV ": permission denied");
	snprintf(want, sizeof(want), "add the user to group %s", group);
	CHECK_CONTAINS(vde_stack_errmsg(), want);
	if (fd_is_open(w[0]))
		close(w[0]);
	close(w[1]);
	free(u);
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST_T(test_vhost_denied_auto_falls_back_to_tap, 120)
{
	const struct vde_backend_info *vh = NULL;
	struct vde_backend_info *list;
	size_t n;

	require_denied();
	require_network();
	CHECK_OK(vde_backend_list(&list, &n));
	vh = backend_in_list(list, n, "vhost-net");
	CHECK(vh);
	CHECK_EQ(vh->usable, 0);
	CHECK_EQ(vh->probe_errno, EACCES);
	CHECK_CONTAINS(vh->reason, "permission denied");
	vde_backend_list_free(list, n);
	/* "auto" is tap here, and it forwards */
	traffic("backend=auto", "backend=auto", 0, 1500, MB);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vhost_usable_and_preferred_by_auto),
		cmocka_unit_test(
			test_vhost_bad_options_fail_with_einval_naming_them),
		cmocka_unit_test(
			test_vhost_runts_dropped_frames_pass_eof_drops_carrier),
		cmocka_unit_test(test_vhost_mtu_above_vde_max_is_put_back),
		cmocka_unit_test(test_vhost_create_delete_cycles_leak_nothing),
		cmocka_unit_test(
			test_vhost_delete_while_a_forked_child_holds_the_fds),
		cmocka_unit_test(
			test_vhost_denied_explicit_fails_eacces_naming_the_group),
		cmocka_unit_test(test_vhost_denied_auto_falls_back_to_tap),
	};

	helpers_init(argc, argv);
	return run_table_tests(test_vhost_traffic, traffic_cases, tests);
}
