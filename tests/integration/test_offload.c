// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_offload.c - the tap relay's offloads end to end, byte for byte
 *
 * The TAP runs with TSO/checksum (and USO) offload: the sending stack hands
 * the relay 64 KB super-frames that are cut into VDE frames, and the
 * receiving relay coalesces them again.  Each test moves data of sizes
 * chosen to end segments at every kind of boundary (1 byte, one byte short
 * of a 1448-byte segment, 64 KB + 1, 10 MB + 3) between two stacks, over
 * each way a frame can leave the relay (sendmmsg on a seqpacket socketpair,
 * vde_send() through the in-process switch, sendmmsg on udp://), at MTU
 * 1500 and 9000, and compares every byte; then checks that the relays
 * dropped nothing on the way.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "helpers.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define MB (1024 * 1024)

static const size_t tcp_sizes[] = {1, 1447, 65537, 10 * MB + 3};

struct net {
	struct vdestack *a, *b;
	char *url[2]; /* net_up_seqpacket()'s, freed by net_down() */
	int v6;
#if HAVE_EXTENSIONS
	struct vde_stack_stats before[2];
#endif
};

static void snapshot(struct net *n)
{
#if HAVE_EXTENSIONS
	CHECK_OK(vde_stack_stats(n->a, &n->before[0], sizeof(n->before[0])));
	CHECK_OK(vde_stack_stats(n->b, &n->before[1], sizeof(n->before[1])));
#else
	(void)n;
#endif
}

/* Two stacks on @ua/@ub at @mtu, 10.0.0.1/2 or fd00::1/2. */
static void net_up(struct net *n, const char *ua, const char *ub, int v6,
		   int mtu)
{
	n->v6 = v6;
	n->url[0] = n->url[1] = NULL;
	n->a = addstack(ua, NULL);
	CHECK_MSG(n->a, "vde_addstack(%s): %m", ua);
	n->b = addstack(ub, NULL);
	CHECK_MSG(n->b, "vde_addstack(%s): %m", ub);
	CHECK_EQ(stack_set_mtu(n->a, "vde0", mtu), 0);
	CHECK_EQ(stack_set_mtu(n->b, "vde0", mtu), 0);
	CHECK_EQ(stack_up(n->a, v6 ? "fd00::1/64" : "10.0.0.1/24"), 0);
	CHECK_EQ(stack_up(n->b, v6 ? "fd00::2/64" : "10.0.0.2/24"), 0);
	/* frames toward an interface not up yet fail with EIO and are
	 * counted as dropped: count from here on */
	snapshot(n);
}

/* Neither relay dropped a frame or saw an error since net_up(). */
static void check_no_drops(struct net *n)
{
#if HAVE_EXTENSIONS
	struct vdestack *s[2] = {n->a, n->b};
	int i;

	for (i = 0; i < 2; i++) {
		const struct vde_stack_stats *b = &n->before[i];
		struct vde_stack_stats st;

		CHECK_OK(vde_stack_stats(s[i], &st, sizeof(st)));
		CHECK_MSG(st.rx_dropped == b->rx_dropped &&
				  st.tx_dropped == b->tx_dropped &&
				  st.errors == b->errors,
			  "stack %c: dropped rx %llu tx %llu, errors %llu",
			  'a' + i,
			  (unsigned long long)(st.rx_dropped - b->rx_dropped),
			  (unsigned long long)(st.tx_dropped - b->tx_dropped),
			  (unsigned long long)(st.errors - b->errors));
		CHECK(st.rx_frames > b->rx_frames &&
		      st.tx_frames > b->tx_frames);
	}
#else
	(void)n;
#endif
}

/* net_up() on the two ends of a new seqpacket wire. */
static void net_up_seqpacket(struct net *n, int v6, int mtu)
{
	char *url[2];
	int w[2];

	CHECK_OK(wire_pair(w));
	url[0] = seqpacket_url(w[0]);
	url[1] = seqpacket_url(w[1]);
	net_up(n, url[0], url[1], v6, mtu);
	n->url[0] = url[0];
	n->url[1] = url[1];
}

static void net_down(struct net *n)
{
	vde_delstack(n->a);
	vde_delstack(n->b);
	free(n->url[0]);
	free(n->url[1]);
}

/* Every size of tcp_sizes[] A -> B, then the largest B -> A. */
static void tcp_sizes_both_ways(struct net *n, size_t max)
{
	const char *srv_a = n->v6 ? "fd00::1" : "10.0.0.1";
	const char *srv_b = n->v6 ? "fd00::2" : "10.0.0.2";
	size_t i;

	for (i = 0; i < sizeof(tcp_sizes) / sizeof(*tcp_sizes); i++) {
		size_t sz = tcp_sizes[i] < max ? tcp_sizes[i] : max;

		CHECK_EQ(tcp_transfer(n->b, srv_b, n->a, sz, 90), sz);
	}
	CHECK_EQ(tcp_transfer(n->a, srv_a, n->b, max, 90), max);
}

static void tcp_on_seqpacket(int v6, int mtu)
{
	struct net n;

	require_network();
	net_up_seqpacket(&n, v6, mtu);
	tcp_sizes_both_ways(&n, 10 * MB + 3);
	check_no_drops(&n);
	net_down(&n);
}

ISOLATED_TEST_T(test_offload_tcp_ipv4_odd_sizes_mtu_1500, 110)
{
	tcp_on_seqpacket(0, 1500);
}

ISOLATED_TEST_T(test_offload_tcp_ipv6_odd_sizes_mtu_1500, 110)
{
	tcp_on_seqpacket(1, 1500);
}

ISOLATED_TEST_T(test_offload_tcp_ipv4_odd_sizes_mtu_9000, 110)
{
	tcp_on_seqpacket(0, 9000);
}

ISOLATED_TEST_T(test_offload_tcp_ipv6_odd_sizes_mtu_9000, 110)
{
	tcp_on_seqpacket(1, 9000);
}

/* vde_send() path: the in-process switch is not a plain socket */
static void tcp_on_switch(int v6, int mtu)
{
	char *dir, *sw, *ua, *ub;
	struct net n;

	require_network();
	dir = make_tmpdir();
	sw = path_in(dir, "sw");
	if (asprintf(&ua, "switch://%s", sw) < 0 ||
	    asprintf(&ub, "vde://%s", sw) < 0)
		abort();
	net_up(&n, ua, ub, v6, mtu);
	tcp_sizes_both_ways(&n, 2 * MB + 3);
	check_no_drops(&n);
	net_down(&n);
	remove_tree(dir);
}

ISOLATED_TEST_T(test_offload_tcp_over_switch_mtu_1500_and_9000, 110)
{
	tcp_on_switch(0, 1500);
	tcp_on_switch(1, 9000);
}

/* sendmmsg() on udp://, which connects its socket on the first send */
ISOLATED_TEST_T(test_offload_tcp_over_udp_mtu_1500_and_9000, 110)
{
	int mtu[2] = {1500, 9000}, i;

	require_network();
	for (i = 0; i < 2; i++) {
		int port[2];
		char *ua, *ub;
		struct net n;

		free_udp_ports(port, 2);
		if (asprintf(&ua, "udp://127.0.0.1:%d->127.0.0.1:%d", port[0],
			     port[1]) < 0 ||
		    asprintf(&ub, "udp://127.0.0.1:%d->127.0.0.1:%d", port[1],
			     port[0]) < 0)
			abort();
		net_up(&n, ua, ub, i, mtu[i]);
		tcp_sizes_both_ways(&n, 2 * MB + 3);
		net_down(&n);
		free(ua);
		free(ub);
	}
}

struct xfer {
	struct vdestack *srv;
	const char *addr;
	struct vdestack *cli;
	size_t n;
	long long got;
};

static void *xfer_run(void *arg)
{
	struct xfer *x = arg;

	x->got = tcp_transfer(x->srv, x->addr, x->cli, x->n, 90);
	return NULL;
}

/* Both relays segment and coalesce at once, in both directions. */
ISOLATED_TEST_T(test_offload_tcp_both_directions_at_once, 110)
{
	struct xfer x[4];
	pthread_t th[4];
	struct net n;
	int i;

	require_network();
	net_up_seqpacket(&n, 0, 1500);
	CHECK_EQ(stack_up(n.a, "fd00::1/64"), 0);
	CHECK_EQ(stack_up(n.b, "fd00::2/64"), 0);
	snapshot(&n);
	x[0] = (struct xfer){n.b, "10.0.0.2", n.a, 8 * MB + 1, 0};
	x[1] = (struct xfer){n.a, "10.0.0.1", n.b, 8 * MB + 2, 0};
	x[2] = (struct xfer){n.b, "fd00::2", n.a, 4 * MB + 3, 0};
	x[3] = (struct xfer){n.a, "fd00::1", n.b, 4 * MB + 4, 0};
	for (i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, xfer_run, &x[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(x[i].got, x[i].n);
	}
	check_no_drops(&n);
	net_down(&n);
}

/* ----------------------------------------------------------------- UDP */

static void udp_socks(struct net *n, int *snd, int *rcv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	struct timeval tv = {.tv_sec = 10};
	int fam = n->v6 ? AF_INET6 : AF_INET, big = 4 << 20;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (n->v6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(7000);
		inet_pton(AF_INET6, "fd00::2", &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(7000);
		inet_pton(AF_INET, "10.0.0.2", &s4->sin_addr);
		sl = sizeof(*s4);
	}
	*rcv = vde_msocket(n->b, fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	*snd = vde_msocket(n->a, fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(*rcv >= 0 && *snd >= 0);
	setsockopt(*rcv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(*rcv, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	CHECK_OK(bind(*rcv, (struct sockaddr *)&ss, sl));
	CHECK_OK(connect(*snd, (struct sockaddr *)&ss, sl));
}

/* one datagram of @len bytes A -> B, compared */
static void udp_one(int snd, int rcv, size_t len, uint64_t seed)
{
	static unsigned char out[65536], in[65536 + 1];
	ssize_t r;

	fill_pattern(out, 0, len, seed);
	CHECK_EQ(send(snd, out, len, 0), (long long)len);
	r = recv(rcv, in, sizeof(in), 0);
	CHECK_MSG(r == (ssize_t)len, "datagram of %zu bytes: got %zd (%m)", len,
		  r);
	CHECK_MSG(!memcmp(in, out, len), "datagram of %zu bytes differs", len);
}

static void udp_sizes(int v6, int mtu)
{
	static const size_t sizes[] = {1,    100,   1231, 1452, 1472,
				       1473, 4000,  8000, 8952, 8972,
				       8973, 30001, 65000};
	struct net n;
	int snd, rcv;
	size_t i;

	require_network();
	net_up_seqpacket(&n, v6, mtu);
	udp_socks(&n, &snd, &rcv);
	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++)
		udp_one(snd, rcv, sizes[i], sizes[i] * 7 + (uint64_t)mtu);
	close(snd);
	close(rcv);
	check_no_drops(&n);
	net_down(&n);
}

ISOLATED_TEST(test_offload_udp_datagram_sizes_mtu_9000)
{
	udp_sizes(0, 9000);
	udp_sizes(1, 9000);
}

ISOLATED_TEST(test_offload_udp_datagram_sizes_mtu_1500)
{
	udp_sizes(0, 1500);
	udp_sizes(1, 1500);
}

/*
 * UDP_SEGMENT: the stack hands the TAP one UDP super-frame (USO, where the
 * kernel has it) that the relay cuts into datagrams of gso_size bytes.
 */
static void udp_gso(int v6, int mtu, int seg)
{
	static unsigned char out[65000], in[65536];
	const size_t total = 40 * (size_t)seg + 123;
	struct net n;
	int snd, rcv;
	size_t off;

	require_network();
	net_up_seqpacket(&n, v6, mtu);
	udp_socks(&n, &snd, &rcv);
	if (setsockopt(snd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0)
		test_skip("UDP_SEGMENT: %m");
	fill_pattern(out, 0, total, 42);
	CHECK_EQ(send(snd, out, total, 0), (long long)total);
	for (off = 0; off < total;) {
		size_t want =
			total - off < (size_t)seg ? total - off : (size_t)seg;
		ssize_t r = recv(rcv, in, sizeof(in), 0);

		CHECK_MSG(r == (ssize_t)want,
			  "datagram at %zu: %zd bytes, want %zu (%m)", off, r,
			  want);
		CHECK_MSG(!memcmp(in, out + off, want),
			  "datagram at %zu differs", off);
		off += want;
	}
	close(snd);
	close(rcv);
	check_no_drops(&n);
	net_down(&n);
}

ISOLATED_TEST(test_offload_udp_segment_is_cut_into_datagrams)
{
	udp_gso(0, 1500, 1400);
	udp_gso(1, 1500, 1000);
	udp_gso(0, 9000, 1472);
	udp_gso(1, 9000, 1200);
}

/* Whether the running kernel is @maj.@min or later. */
static int kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &a, &b) == 2 &&
	       (a > maj || (a == maj && b >= min));
}

/*
 * The receiving relay coalesces a burst of datagrams of one flow into one
 * GSO_UDP_L4 frame (Linux 6.2 and later take those from a TAP): a packet
 * socket in the receiving stack sees a frame larger than the MTU, and the
 * application still gets every datagram, byte for byte.
 */
static void udp_coalesced(int v6)
{
	static unsigned char out[40000], in[65536];
	const int seg = 1000;
	const size_t total = sizeof(out);
	size_t off, biggest = 0;
	struct net n;
	int snd, rcv, pk;
	ssize_t r;

	net_up_seqpacket(&n, v6, 1500);
	pk = vde_msocket(n.b, AF_PACKET,
			 SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			 htons(v6 ? ETH_P_IPV6 : ETH_P_IP));
	CHECK_MSG(pk >= 0, "packet socket in the stack: %m");
	udp_socks(&n, &snd, &rcv);
	if (setsockopt(snd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0)
		test_skip("UDP_SEGMENT: %m");
	fill_pattern(out, 0, total, 4242);
	CHECK_EQ(send(snd, out, total, 0), (long long)total);
	for (off = 0; off < total; off += (size_t)seg) {
		r = recv(rcv, in, sizeof(in), 0);
		CHECK_MSG(r == seg, "datagram at %zu: %zd bytes (%m)", off, r);
		CHECK_MSG(!memcmp(in, out + off, (size_t)seg),
			  "datagram at %zu differs", off);
	}
	while ((r = recv(pk, in, sizeof(in), MSG_TRUNC)) >= 0)
		if ((size_t)r > biggest)
			biggest = (size_t)r;
	note("IPv%d: largest IP packet the stack received: %zu bytes",
	     v6 ? 6 : 4, biggest);
	CHECK_MSG(biggest > 1500, "no coalesced frame (largest %zu bytes)",
		  biggest);
	close(pk);
	close(snd);
	close(rcv);
	check_no_drops(&n);
	net_down(&n);
}

ISOLATED_TEST(test_offload_udp_burst_reaches_stack_coalesced)
{
	require_network();
	if (!kernel_at_least(6, 2))
		test_skip("the kernel takes no UDP super-frame from a TAP "
			  "before Linux 6.2");
	udp_coalesced(0);
	udp_coalesced(1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offload_tcp_ipv4_odd_sizes_mtu_1500),
		cmocka_unit_test(test_offload_tcp_ipv6_odd_sizes_mtu_1500),
		cmocka_unit_test(test_offload_tcp_ipv4_odd_sizes_mtu_9000),
		cmocka_unit_test(test_offload_tcp_ipv6_odd_sizes_mtu_9000),
		cmocka_unit_test(
			test_offload_tcp_over_switch_mtu_1500_and_9000),
		cmocka_unit_test(test_offload_tcp_over_udp_mtu_1500_and_9000),
		cmocka_unit_test(test_offload_tcp_both_directions_at_once),
		cmocka_unit_test(test_offload_udp_datagram_sizes_mtu_9000),
		cmocka_unit_test(test_offload_udp_datagram_sizes_mtu_1500),
		cmocka_unit_test(
			test_offload_udp_segment_is_cut_into_datagrams),
		cmocka_unit_test(
			test_offload_udp_burst_reaches_stack_coalesced),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
