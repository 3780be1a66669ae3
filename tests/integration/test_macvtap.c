// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_macvtap.c - the macvtap backend against a real host side
 *
 * Each test body (a child process of the runner, see helpers.h) moves into
 * a network namespace of its own, made for the purpose, and builds a LAN
 * there: a veth pair whose end "vh0" is the macvtap's IFNAME and whose
 * other end "vp0" holds 10.66.0.1/24 and fd66::1/64.  The body itself is
 * the host: its sockets talk over vp0 to the stacks' sockets (vde_msocket)
 * on vh0's LAN, and every byte is compared.  Nothing touches the real
 * host's interfaces, and the namespace dies with the body.
 *
 * Root only (a veth pair and a macvtap need CAP_NET_ADMIN), except
 * test_macvtap_unprivileged_creation_fails_with_eperm, which is the
 * point of the unprivileged run.  Macvtaps are counted through the global
 * /sys/dev/char links, since the backend keeps each in a namespace of its
 * own (see backends/macvtap.c).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include "helpers.h"

#define MB (1024 * 1024)
#define HOST4 "10.66.0.1"
#define HOST6 "fd66::1"
/* stack addresses: 10.66.0.(2+i), fd66::(2+i) */

static const char *ip_path(void)
{
	static const char *const cand[] = {"/bin/ip", "/sbin/ip",
					   "/usr/sbin/ip", "/usr/bin/ip"};

	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return NULL;
}

/* Run "ip ARGS" in the body's namespace; Return: its exit status. */
static int ipf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ipf(const char *fmt, ...)
{
	char *args, *cmd;
	va_list ap;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&args, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (asprintf(&cmd, "%s %s >&2", ip_path(), args) < 0)
		abort();
	st = system(cmd);
	free(cmd);
	free(args);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* vde_addstack*() @call must return NULL with errno @e. */
#define CHECK_ADD_FAILS(call, e)                                               \
	do {                                                                   \
		errno = 0;                                                     \
		struct vdestack *s_ = (call);                                  \
		int err_ = errno;                                              \
		CHECK_MSG(!s_ && err_ == (e),                                  \
			  "%s: got %p errno %d (%s), want NULL errno %d (%s)", \
			  #call, (void *)s_, err_, strerror(err_), (e),        \
			  strerror(e));                                        \
	} while (0)

static void require_root(void)
{
	if (geteuid() != 0)
		test_skip("needs root: the test builds a veth pair and the "
			  "backend a macvtap (CAP_NET_ADMIN)");
	require_network();
	if (!ip_path())
		test_skip("ip(8) not found (iproute2)");
}

/*
 * lan_setup() - a private network namespace with the LAN of vh0: veth
 * vh0 <-> vp0, vp0 holding HOST4/24 and HOST6/64, MTU @mtu (0: default).
 */
static void lan_setup(int mtu)
{
	require_root();
	CHECK_OK(unshare(CLONE_NEWNET));
	CHECK_EQ(ipf("link set lo up"), 0);
	if (ipf("link add vh0 type veth peer name vp0"))
		test_skip(
			"cannot create a veth pair (no veth in this kernel?)");
	if (mtu) {
		CHECK_EQ(ipf("link set vh0 mtu %d", mtu), 0);
		CHECK_EQ(ipf("link set vp0 mtu %d", mtu), 0);
	}
	CHECK_EQ(ipf("link set vh0 up"), 0);
	CHECK_EQ(ipf("link set vp0 up"), 0);
	CHECK_EQ(ipf("addr add " HOST4 "/24 dev vp0"), 0);
	CHECK_EQ(ipf("addr add " HOST6 "/64 dev vp0 nodad"), 0);
}

/* macvtaps on this machine, in any namespace */
static int macvtap_count(void)
{
	char target[512];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/sys/dev/char");

	CHECK_MSG(d, "opendir /sys/dev/char: %m");
	while ((de = readdir(d))) {
		ssize_t l = readlinkat(dirfd(d), de->d_name, target,
				       sizeof(target) - 1);

		if (l < 0)
			continue;
		target[l] = '\0';
		if (strstr(target, "/macvtap/tap"))
			n++;
	}
	closedir(d);
	return n;
}

/* Wait up to @ms for macvtap_count() == @n; Return: the last count. */
static int macvtap_wait(int n, int ms)
{
	int c;

	for (double end = now_s() + ms / 1000.0;; sleep_ms(20)) {
		c = macvtap_count();
		if (c == n || now_s() > end)
			return c;
	}
}

static int if_count(void)
{
	struct if_nameindex *ni = if_nameindex(), *p;
	int n = 0;

	CHECK(ni);
	for (p = ni; p->if_index; p++)
		n++;
	if_freenameindex(ni);
	return n;
}

/* A stack on vh0 at 10.66.0.(2+@i)/24 and fd66::(2+@i)/64. */
static struct vdestack *mvstack(const char *vnl, const char *opts, int i)
{
	struct vdestack *s = vde_addstack_opt(vnl, NULL, opts);
	char a[64];

	CHECK_MSG(s, "vde_addstack_opt(%s, %s): %m: %s", vnl,
		  opts ? opts : "NULL", vde_stack_errmsg());
	CHECK_STREQ(vde_stack_backend(s), "macvtap");
	snprintf(a, sizeof(a), "10.66.0.%d/24", 2 + i);
	CHECK_EQ(stack_up(s, a), 0);
	snprintf(a, sizeof(a), "fd66::%d/64", 2 + i);
	CHECK_EQ(stack_up(s, a), 0);
	return s;
}

static socklen_t mkaddr(const char *addr, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		CHECK_EQ(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (void *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	CHECK_EQ(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	return sizeof(*s4);
}

/* A socket on the host (@s NULL) or in stack @s. */
static int sock_in(struct vdestack *s, int fam, int type)
{
	int fd = s ? vde_msocket(s, fam, type | SOCK_CLOEXEC, 0)
		   : socket(fam, type | SOCK_CLOEXEC, 0);

	CHECK_MSG(fd >= 0, "socket: %m");
	return fd;
}

static int wait_ev(int fd, short ev, double deadline)
{
	struct pollfd p = {fd, ev, 0};
	int ms = (int)((deadline - now_s()) * 1000);

	return ms > 0 && poll(&p, 1, ms) == 1;
}

/*
 * tcp_check() - @n pseudo-random bytes from a client in @cli (NULL: the
 * host) to a server at @addr in @srv (NULL: the host), compared byte for
 * byte.  Return: bytes verified (== @n on success).
 */
static long long tcp_check(struct vdestack *srv, const char *addr,
			   struct vdestack *cli, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = mkaddr(addr, 0, &ss);
	int fam = ss.ss_family, one = 1, err = 0;
	int lfd = sock_in(srv, fam, SOCK_STREAM), cfd, afd;
	size_t chunk = 65536, sent = 0, got = 0;
	unsigned char *sb = malloc(chunk), *rb = malloc(chunk),
		      *eb = malloc(chunk);
	double deadline = now_s() + 40;
	socklen_t el = sizeof(err);
	uint64_t seed = 0x6d76740000ULL + n;

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CHECK_OK(bind(lfd, (struct sockaddr *)&ss, sl));
	CHECK_OK(listen(lfd, 1));
	CHECK_OK(getsockname(lfd, (struct sockaddr *)&ss, &sl));
	cfd = sock_in(cli, fam, SOCK_STREAM | SOCK_NONBLOCK);
	CHECK_MSG(connect(cfd, (struct sockaddr *)&ss, sl) == 0 ||
			  errno == EINPROGRESS,
		  "connect to %s: %m", addr);
	CHECK_MSG(wait_ev(lfd, POLLIN, deadline), "no connection to %s", addr);
	afd = CHECK_OK(accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
	CHECK(wait_ev(cfd, POLLOUT, deadline));
	CHECK_OK(getsockopt(cfd, SOL_SOCKET, SO_ERROR, &err, &el));
	CHECK_MSG(!err, "connect to %s: %s", addr, strerror(err));
	while (got < n && now_s() < deadline) {
		struct pollfd p[2] = {{afd, POLLIN, 0},
				      {cfd, sent < n ? POLLOUT : 0, 0}};

		poll(p, 2, 200);
		if (sent < n && (p[1].revents & POLLOUT)) {
			size_t len = n - sent < chunk ? n - sent : chunk;
			ssize_t w;

			fill_pattern(sb, sent, len, seed);
			w = send(cfd, sb, len, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			if (sent == n)
				shutdown(cfd, SHUT_WR);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(afd, rb, chunk, 0);

			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				break;
			}
			fill_pattern(eb, got, (size_t)r, seed);
			if (memcmp(eb, rb, (size_t)r)) {
				note("tcp_check %s: mismatch after %zu bytes",
				     addr, got);
				break;
			}
			got += (size_t)r;
		}
	}
	close(afd);
	close(cfd);
	close(lfd);
	free(sb);
	free(rb);
	free(eb);
	return (long long)got;
}

/*
 * udp_check() - datagrams of several sizes (one above the MTU, so IP
 * fragments) from @cli to a server at @addr in @srv and back, each
 * compared.  Return: 0 if all came back right.
 */
static int udp_check(struct vdestack *srv, const char *addr,
		     struct vdestack *cli)
{
	static const size_t sizes[] = {1, 100, 1200, 4000};
	struct sockaddr_storage ss, from;
	socklen_t sl = mkaddr(addr, 0, &ss), fl;
	int fam = ss.ss_family, bad = 0;
	int a = sock_in(srv, fam, SOCK_DGRAM), b;
	unsigned char out[4000], in[4100];

	CHECK_OK(bind(a, (struct sockaddr *)&ss, sl));
	CHECK_OK(getsockname(a, (struct sockaddr *)&ss, &sl));
	b = sock_in(cli, fam, SOCK_DGRAM);
	CHECK_OK(connect(b, (struct sockaddr *)&ss, sl));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ssize_t r = -1;

		fill_pattern(out, 0, sizes[i], 0x75647000 + i);
		/* the first datagram may wait for neighbour resolution,
		 * which queues only a few: send again if nothing came */
		for (int tries = 0; tries < 5 && r < 0; tries++) {
			CHECK_EQ(send(b, out, sizes[i], 0), sizes[i]);
			fl = sizeof(from);
			if (wait_ev(a, POLLIN, now_s() + 1))
				r = recvfrom(a, in, sizeof(in), MSG_DONTWAIT,
					     (struct sockaddr *)&from, &fl);
		}
		if (r != (ssize_t)sizes[i] || memcmp(in, out, sizes[i])) {
			note("udp to %s: %zu bytes sent, %zd came", addr,
			     sizes[i], r);
			bad = 1;
			break;
		}
		fill_pattern(out, 0, sizes[i], 0x75647100 + i);
		CHECK_EQ(sendto(a, out, sizes[i], 0, (struct sockaddr *)&from,
				fl),
			 sizes[i]);
		r = wait_ev(b, POLLIN, now_s() + 2)
			    ? recv(b, in, sizeof(in), MSG_DONTWAIT)
			    : -1;
		if (r != (ssize_t)sizes[i] || memcmp(in, out, sizes[i])) {
			note("udp back from %s: %zu bytes sent, %zd came", addr,
			     sizes[i], r);
			bad = 1;
			break;
		}
	}
	close(a);
	close(b);
	return bad;
}

/*
 * udp_gso_check() - one UDP_SEGMENT send of @segs datagrams of @size
 * bytes from stack @cli to the host at @addr: each must arrive whole, in
 * order.  The stack hands the TAP one UDP GSO super-frame where the
 * kernels have USO (Linux 6.2), which must cross the macvtap as it is.
 * Return: 0 if all came.
 */
static int udp_reaches(struct vdestack *srv, const char *addr,
		       struct vdestack *cli, int ms);

static int udp_gso_check(struct vdestack *cli, const char *addr, int segs,
			 int size)
{
	struct sockaddr_storage ss;
	socklen_t sl = mkaddr(addr, 0, &ss);
	int a = sock_in(NULL, ss.ss_family, SOCK_DGRAM), b, gso = size;
	int bufsz = 4 * 1024 * 1024;
	unsigned char *out = malloc((size_t)(segs * size)), in[65536];

	setsockopt(a, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	CHECK_OK(bind(a, (struct sockaddr *)&ss, sl));
	CHECK_OK(getsockname(a, (struct sockaddr *)&ss, &sl));
	b = sock_in(cli, ss.ss_family, SOCK_DGRAM);
	CHECK_OK(connect(b, (struct sockaddr *)&ss, sl));
	CHECK_OK(setsockopt(b, SOL_UDP, UDP_SEGMENT, &gso, sizeof(gso)));
	fill_pattern(out, 0, (size_t)(segs * size), 0x75736f00);
	/* neighbour resolution first, with one plain datagram */
	CHECK_EQ(udp_reaches(NULL, addr, cli, 5000), 1);
	CHECK_EQ(send(b, out, (size_t)(segs * size), 0), segs * size);
	for (int i = 0; i < segs; i++) {
		ssize_t r = wait_ev(a, POLLIN, now_s() + 3)
				    ? recv(a, in, sizeof(in), MSG_DONTWAIT)
				    : -1;

		if (r != size || memcmp(in, out + i * size, (size_t)size)) {
			note("udp gso to %s: datagram %d of %d: %zd bytes",
			     addr, i, segs, r);
			free(out);
			close(a);
			close(b);
			return 1;
		}
	}
	free(out);
	close(a);
	close(b);
	return 0;
}

/* Does a datagram from @cli reach @addr in @srv within @ms (5 tries)? */
static int udp_reaches(struct vdestack *srv, const char *addr,
		       struct vdestack *cli, int ms)
{
	struct sockaddr_storage ss;
	socklen_t sl = mkaddr(addr, 0, &ss);
	int a = sock_in(srv, ss.ss_family, SOCK_DGRAM), b, got = 0;
	char c;

	CHECK_OK(bind(a, (struct sockaddr *)&ss, sl));
	CHECK_OK(getsockname(a, (struct sockaddr *)&ss, &sl));
	b = sock_in(cli, ss.ss_family, SOCK_DGRAM);
	for (int i = 0; i < 5 && !got; i++) {
		sendto(b, "x", 1, 0, (struct sockaddr *)&ss, sl);
		got = wait_ev(a, POLLIN, now_s() + ms / 5000.0) &&
		      recv(a, &c, 1, MSG_DONTWAIT) == 1;
	}
	close(a);
	close(b);
	return got;
}

/* MAC of the stack's vde0, "xx:xx:..."; Return: static buffer. */
static const char *stack_mac(struct vdestack *s)
{
	static char text[18];
	int fd = sock_in(s, AF_INET, SOCK_DGRAM);
	unsigned char *m;
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vde0");
	CHECK_OK(ioctl(fd, SIOCGIFHWADDR, &ifr));
	close(fd);
	m = (unsigned char *)ifr.ifr_hwaddr.sa_data;
	snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", m[0],
		 m[1], m[2], m[3], m[4], m[5]);
	return text;
}

/* MAC of an interface of the body's namespace; Return: malloc'd. */
static char *host_mac(const char *ifname)
{
	int fd = sock_in(NULL, AF_INET, SOCK_DGRAM);
	unsigned char *m;
	struct ifreq ifr;
	char *text;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	CHECK_OK(ioctl(fd, SIOCGIFHWADDR, &ifr));
	close(fd);
	m = (unsigned char *)ifr.ifr_hwaddr.sa_data;
	CHECK(asprintf(&text, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		       m[3], m[4], m[5]) > 0);
	return text;
}

/* The MAC the host's neighbour table has for @ip4, "" if none. */
static const char *host_arp(const char *ip4)
{
	static char mac[18];
	char *t = read_file_str("/proc/net/arp"), *line;

	mac[0] = '\0';
	CHECK(t);
	for (line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
		char ip[64], hw[64];

		if (sscanf(line, "%63s %*s %*s %63s", ip, hw) == 2 &&
		    !strcmp(ip, ip4))
			snprintf(mac, sizeof(mac), "%.17s", hw);
	}
	free(t);
	return mac;
}

/*
 * Wait up to 5 s for (flags of vde0 & @mask) == @want: the kernel's link
 * watch may delay each carrier change of the chain vh0 -> macvtap -> vde0
 * by up to a second.
 */
static int flags_wait(struct vdestack *s, int mask, int want)
{
	int f = -1;

	for (double end = now_s() + 5; now_s() < end; sleep_ms(20)) {
		f = stack_ifflags(s, "vde0");
		if (f >= 0 && (f & mask) == want)
			return 1;
	}
	note("vde0 flags 0x%x, want 0x%x under 0x%x", f, want, mask);
	return 0;
}

/* ------------------------------------------------------------- privilege */

ISOLATED_TEST(test_macvtap_unprivileged_creation_fails_with_eperm)
{
	struct vde_backend_info *list;
	size_t n;

	if (geteuid() == 0) {
		/* load the backends while the build tree is readable */
		CHECK_OK(vde_backend_list(&list, &n));
		vde_backend_list_free(list, n);
		CHECK_OK(setgroups(0, NULL));
		CHECK_OK(setresgid(65534, 65534, 65534));
		CHECK_OK(setresuid(65534, 65534, 65534));
	}
	CHECK_ADD_FAILS(vde_addstack("macvtap://lo", NULL), EPERM);
	note("message: %s", vde_stack_errmsg());
	CHECK_MSG(strstr(vde_stack_errmsg(), "CAP_NET_ADMIN"),
		  "the message names the missing capability: %s",
		  vde_stack_errmsg());
}

ISOLATED_TEST(test_macvtap_without_cap_over_ifname_fails_with_eperm)
{
	int before, r;

	lan_setup(0);
	before = macvtap_count();
	/* root of a user namespace of our own: CAP_NET_ADMIN, but not over
	 * vh0, whose namespace belongs to the initial user namespace */
	r = userns_enter(0, 0, 0);
	if (r == USERNS_UNSHARE_FAILED && errno == EINVAL)
		/* a multithreaded process (ThreadSanitizer's runtime keeps a
		 * thread even in fork()ed children) cannot unshare it */
		test_skip("unshare(CLONE_NEWUSER): %m (multithreaded)");
	CHECK_MSG(r == 0, "root of a user namespace of our own: %m");
	CHECK_ADD_FAILS(vde_addstack("macvtap://vh0", NULL), EPERM);
	note("message: %s", vde_stack_errmsg());
	CHECK_MSG(strstr(vde_stack_errmsg(), "CAP_NET_ADMIN") &&
			  strstr(vde_stack_errmsg(), "vh0"),
		  "message names the capability and the interface: %s",
		  vde_stack_errmsg());
	CHECK_EQ(macvtap_count(), before);
}

/* ---------------------------------------------------------- the host */

ISOLATED_TEST(test_macvtap_tcp_udp_ipv4_ipv6_with_the_host)
{
	struct leak_snapshot snap;
	struct vdestack *s;

	lan_setup(0);
	leak_snapshot(&snap);
	s = mvstack("macvtap://vh0", NULL, 0);
	CHECK_EQ(tcp_check(NULL, HOST4, s, 4 * MB), 4 * MB);
	CHECK_EQ(tcp_check(s, "10.66.0.2", NULL, 4 * MB), 4 * MB);
	CHECK_EQ(tcp_check(NULL, HOST6, s, 4 * MB), 4 * MB);
	CHECK_EQ(tcp_check(s, "fd66::2", NULL, 4 * MB), 4 * MB);
	CHECK_EQ(udp_check(NULL, HOST4, s), 0);
	CHECK_EQ(udp_check(s, "10.66.0.2", NULL), 0);
	CHECK_EQ(udp_check(NULL, HOST6, s), 0);
	CHECK_EQ(udp_check(s, "fd66::2", NULL), 0);
	CHECK_EQ(udp_gso_check(s, HOST4, 40, 1200), 0);
	CHECK_EQ(udp_gso_check(s, HOST6, 40, 1200), 0);
	vde_delstack(s);
	CHECK_NO_LEAK(snap);
}

ISOLATED_TEST(test_macvtap_offloaded_frames_cross_whole)
{
	struct vde_stack_stats a, b;
	unsigned long long rxf, rxb, txf, txb, drops;
	struct vdestack *s;

	lan_setup(0);
	s = mvstack("macvtap://vh0", NULL, 0);
	/* frames that came while vde0 was still down were dropped, rightly:
	 * count from here */
	CHECK_EQ(udp_check(NULL, HOST4, s), 0);
	CHECK_OK(vde_stack_stats(s, &a, sizeof(a)));
	CHECK_EQ(tcp_check(NULL, HOST4, s, 8 * MB), 8 * MB);
	CHECK_EQ(tcp_check(s, "10.66.0.2", NULL, 8 * MB), 8 * MB);
	CHECK_OK(vde_stack_stats(s, &b, sizeof(b)));
	rxf = b.rx_frames - a.rx_frames;
	rxb = b.rx_bytes - a.rx_bytes;
	txf = b.tx_frames - a.tx_frames;
	txb = b.tx_bytes - a.tx_bytes;
	drops = b.rx_dropped + b.tx_dropped + b.errors - a.rx_dropped -
		a.tx_dropped - a.errors;
	note("to the stack %llu frames %llu bytes, from it %llu frames %llu "
	     "bytes, dropped or failed %llu",
	     rxf, rxb, txf, txb, drops);
	/* 8 MB each way in frames of at most 1514 bytes would need 5700+
	 * frames each way: super-frames mean far fewer */
	CHECK_MSG(txb / txf > 1514,
		  "from the stack: %llu bytes in %llu frames, no super-frames",
		  txb, txf);
	CHECK_MSG(rxb / rxf > 1514,
		  "to the stack: %llu bytes in %llu frames, no super-frames",
		  rxb, rxf);
	CHECK_EQ(drops, 0);
	vde_delstack(s);
}

/* ----------------------------------------------------- MAC, modes, MTU */

ISOLATED_TEST(test_macvtap_fixed_and_random_mac)
{
	struct vdestack *a, *b;
	const char *m;

	lan_setup(0);
	a = mvstack("macvtap://vh0[mac=02:00:00:00:00:01]", NULL, 0);
	CHECK_STREQ(stack_mac(a), "02:00:00:00:00:01");
	CHECK_EQ(udp_check(NULL, HOST4, a), 0);
	CHECK_STREQ(host_arp("10.66.0.2"), "02:00:00:00:00:01");
	/* the same key in the options string, default mode given twice */
	b = mvstack("macvtap://vh0[mode=bridge]", "mode=bridge,mac=random", 1);
	m = stack_mac(b);
	note("random MAC %s", m);
	CHECK_MSG(strtoul(m, NULL, 16) % 4 == 2,
		  "%s: locally administered and unicast", m);
	CHECK_EQ(udp_check(NULL, HOST4, b), 0);
	CHECK_STREQ(host_arp("10.66.0.3"), m);
	vde_delstack(a);
	vde_delstack(b);
}

ISOLATED_TEST(test_macvtap_mac_set_in_the_stack_reaches_the_lan)
{
	struct vdestack *s;

	lan_setup(0);
	s = mvstack("macvtap://vh0", NULL, 0);
	CHECK_OK(vde_stack_set_mac(s, NULL, "02:00:00:00:00:42"));
	CHECK_EQ(udp_check(NULL, HOST4, s), 0);
	CHECK_STREQ(host_arp("10.66.0.2"), "02:00:00:00:00:42");
	CHECK_STREQ(stack_mac(s), "02:00:00:00:00:42");
	vde_delstack(s);
}

ISOLATED_TEST(test_macvtap_bridge_mode_stacks_reach_each_other)
{
	struct vdestack *a, *b;

	lan_setup(0);
	a = mvstack("macvtap://vh0[mode=bridge]", NULL, 0);
	b = mvstack("macvtap://vh0", NULL, 1);
	CHECK_EQ(tcp_transfer(a, "10.66.0.2", b, MB, 30), MB);
	CHECK_EQ(tcp_transfer(b, "fd66::3", a, MB, 30), MB);
	CHECK_EQ(udp_check(a, "10.66.0.2", b), 0);
	vde_delstack(a);
	vde_delstack(b);
}

ISOLATED_TEST(test_macvtap_private_mode_stacks_do_not_reach_each_other)
{
	struct vdestack *a, *b;

	lan_setup(0);
	a = mvstack("macvtap://vh0[mode=private]", NULL, 0);
	b = mvstack("macvtap://vh0", "mode=private", 1);
	/* both reach the LAN ... */
	CHECK_EQ(udp_check(NULL, HOST4, a), 0);
	CHECK_EQ(udp_check(NULL, HOST4, b), 0);
	/* ... but not each other, in either direction or family */
	CHECK(!udp_reaches(a, "10.66.0.2", b, 1500));
	CHECK(!udp_reaches(b, "10.66.0.3", a, 1500));
	CHECK(!udp_reaches(a, "fd66::2", b, 1500));
	vde_delstack(a);
	vde_delstack(b);
}

ISOLATED_TEST(test_macvtap_vepa_and_passthru_modes)
{
	struct vdestack *s;
	char *hw;

	lan_setup(0);
	s = mvstack("macvtap://vh0[mode=vepa]", NULL, 0);
	CHECK_EQ(tcp_check(NULL, HOST4, s, MB), MB);
	vde_delstack(s);

	hw = host_mac("vh0");
	s = mvstack("macvtap://vh0[mode=passthru]", NULL, 0);
	CHECK_STREQ(stack_mac(s), hw);
	CHECK_EQ(tcp_check(NULL, HOST6, s, MB), MB);
	/* the stack cannot change vh0's address: put back */
	CHECK_OK(vde_stack_set_mac(s, NULL, "02:00:00:00:00:55"));
	for (double end = now_s() + 3;
	     strcmp(stack_mac(s), hw) && now_s() < end; sleep_ms(20))
		;
	CHECK_STREQ(stack_mac(s), hw);
	/* passthru takes the interface alone */
	CHECK_ADD_FAILS(vde_addstack("macvtap://vh0[mode=passthru]", NULL),
			EINVAL);
	note("second passthru: %s", vde_stack_errmsg());
	CHECK(strstr(vde_stack_errmsg(), "alone"));
	CHECK_ADD_FAILS(vde_addstack("macvtap://vh0", NULL), EINVAL);
	note("bridge beside passthru: %s", vde_stack_errmsg());
	vde_delstack(s);
	/* deleted at once: passthru can be had again right away */
	s = mvstack("macvtap://vh0[mode=passthru]", NULL, 0);
	vde_delstack(s);
	CHECK_ADD_FAILS(vde_addstack("macvtap://vh0[mode=passthru/"
				     "mac=02:00:00:00:00:01]",
				     NULL),
			EINVAL);
	note("passthru with mac: %s", vde_stack_errmsg());
	free(hw);
}

ISOLATED_TEST(test_macvtap_mtu_follows_the_interface_and_is_clamped)
{
	struct vdestack *s;

	lan_setup(9000);
	s = mvstack("macvtap://vh0", NULL, 0);
	CHECK_EQ(stack_get_mtu(s, "vde0"), 9000);
	CHECK_EQ(tcp_check(NULL, HOST4, s, 4 * MB), 4 * MB);
	CHECK_EQ(udp_check(s, "10.66.0.2", NULL), 0);
	/* above vh0's MTU: put back */
	stack_set_mtu(s, "vde0", 9100);
	for (double end = now_s() + 3;
	     stack_get_mtu(s, "vde0") != 9000 && now_s() < end; sleep_ms(20))
		;
	CHECK_EQ(stack_get_mtu(s, "vde0"), 9000);
	/* vh0 shrinks: the macvtap follows, and the stack */
	CHECK_EQ(ipf("link set vh0 mtu 4500"), 0);
	for (double end = now_s() + 3;
	     stack_get_mtu(s, "vde0") != 4500 && now_s() < end; sleep_ms(20))
		;
	CHECK_EQ(stack_get_mtu(s, "vde0"), 4500);
	CHECK_EQ(ipf("link set vh0 mtu 9000"), 0);
	vde_delstack(s);

	s = vde_addstack_opt("macvtap://vh0", NULL, "mtu=4000");
	CHECK_MSG(s, "mtu=4000: %s", vde_stack_errmsg());
	CHECK_EQ(stack_get_mtu(s, "vde0"), 4000);
	vde_delstack(s);
	CHECK_ADD_FAILS(vde_addstack_opt("macvtap://vh0", NULL, "mtu=9500"),
			EINVAL);
	note("mtu=9500: %s", vde_stack_errmsg());
	CHECK(strstr(vde_stack_errmsg(), "vh0"));
}

ISOLATED_TEST(test_macvtap_carrier_follows_the_interface)
{
	struct vdestack *s;
	int before;

	lan_setup(0);
	before = macvtap_count();
	s = mvstack("macvtap://vh0", NULL, 0);
	CHECK(flags_wait(s, IFF_RUNNING, IFF_RUNNING));
	/* vp0 down: vh0 loses its carrier, so do the macvtap and vde0 */
	CHECK_EQ(ipf("link set vp0 down"), 0);
	CHECK(flags_wait(s, IFF_RUNNING, 0));
	CHECK_EQ(ipf("link set vp0 up"), 0);
	CHECK(flags_wait(s, IFF_RUNNING, IFF_RUNNING));
	CHECK_EQ(udp_check(NULL, HOST4, s), 0);
	/* vh0 removed: the kernel removes the macvtap, carrier off */
	CHECK_EQ(ipf("link del vh0"), 0);
	CHECK(flags_wait(s, IFF_RUNNING, 0));
	CHECK_EQ(macvtap_wait(before, 3000), before);
	vde_delstack(s);
}

/* ------------------------------------------------------------- lifetime */

ISOLATED_TEST(test_macvtap_removed_by_delstack)
{
	int before, ifs;
	struct vdestack *s;

	lan_setup(0);
	before = macvtap_count();
	ifs = if_count();
	for (int i = 0; i < 3; i++) {
		s = mvstack(i == 1 ? "macvtap://vh0[mac=02:00:00:00:00:07]"
				   : "macvtap://vh0",
			    NULL, 0);
		CHECK_EQ(macvtap_count(), before + 1);
		/* not an interface of the caller's namespace */
		CHECK_EQ(if_count(), ifs);
		vde_delstack(s);
		/* gone when vde_delstack() returns, not some time later */
		CHECK_EQ(macvtap_count(), before);
		CHECK_EQ(if_count(), ifs);
	}
	/* so IFNAME can be taken alone at once */
	s = mvstack("macvtap://vh0[mode=passthru]", NULL, 0);
	vde_delstack(s);
}

/*
 * Round 0: the application idle; round 1: it has a child that neither
 * execs nor exits (it inherited every fd); round 2: its relay is busy.
 */
ISOLATED_TEST(test_macvtap_removed_when_the_application_is_killed)
{
	int before, ifs, p[2], st;
	pid_t app, kid;

	lan_setup(0);
	before = macvtap_count();
	ifs = if_count();
	for (int round = 0; round < 3; round++) {
		CHECK_OK(pipe2(p, O_CLOEXEC));
		app = fork();
		CHECK_OK(app);
		if (app == 0) {
			struct vdestack *s = mvstack("macvtap://vh0", NULL, 0);

			kid = 0;
			if (round == 1 && (kid = fork()) == 0) {
				sleep(30);
				_exit(0);
			}
			if (write(p[1], &kid, sizeof(kid)) != sizeof(kid))
				_exit(1);
			if (round == 2)
				tcp_check(NULL, HOST4, s, 1024 * MB);
			pause();
			_exit(0);
		}
		close(p[1]);
		CHECK_EQ(read(p[0], &kid, sizeof(kid)), sizeof(kid));
		close(p[0]);
		CHECK_EQ(macvtap_count(), before + 1);
		if (round == 2)
			sleep_ms(100);
		CHECK_OK(kill(app, SIGKILL));
		CHECK_EQ(waitpid(app, &st, 0), app);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		/* the kernel's namespace cleanup runs in a workqueue */
		CHECK_EQ(macvtap_wait(before, 10000), before);
		CHECK_EQ(if_count(), ifs);
		if (kid) {
			CHECK_MSG(!pid_gone(kid), "the child still lives");
			kill(kid, SIGKILL);
		}
	}
}

/* -------------------------------------------------------------- errors */

static void bad(const char *vnl, const char *opts, int err, const char *word)
{
	CHECK_ADD_FAILS(vde_addstack_opt(vnl, NULL, opts), err);
	note("%s %s: %s", vnl, opts ? opts : "", vde_stack_errmsg());
	CHECK_MSG(strstr(vde_stack_errmsg(), word), "'%s' not in: %s", word,
		  vde_stack_errmsg());
}

ISOLATED_TEST(test_macvtap_bad_vnl_and_options_fail_cleanly)
{
	struct leak_snapshot snap;
	int before;

	lan_setup(0);
	before = macvtap_count();
	leak_snapshot(&snap);
	bad("macvtap://", NULL, EINVAL, "IFNAME");
	bad("macvtap://nosuch0", NULL, ENODEV, "nosuch0");
	bad("macvtap://lo", NULL, EINVAL, "Ethernet");
	bad("macvtap://vh0[mode=hub]", NULL, EINVAL, "hub");
	bad("macvtap://vh0[mac=01:00:00:00:00:01]", NULL, EINVAL, "unicast");
	bad("macvtap://vh0[mac=02:00:00:00:00]", NULL, EINVAL, "unicast");
	bad("macvtap://vh0[speed=10]", NULL, EINVAL, "speed");
	bad("macvtap://vh0[mode=bridge", NULL, EINVAL, "[k=v/k=v]");
	bad("macvtap://vh0[mode=bridge]", "mode=private", EINVAL, "twice");
	bad("macvtap://vh0", "speed=10", EINVAL, "speed");
	bad("macvtap://vh0", "backend=tap", EINVAL, "macvtap");
	bad("macvtap://waytoolongname0123", NULL, ENAMETOOLONG, "longer");
	CHECK_EQ(macvtap_count(), before);
	CHECK_NO_LEAK(snap);
}

/* ---------------------------------------------------- no /dev/tapN node */

/* A /dev of our own, with only what a stack needs: no /dev/tapN. */
static void private_dev(void)
{
	CHECK_OK(unshare(CLONE_NEWNS));
	CHECK_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	CHECK_OK(mount("vdst-dev", "/dev", "tmpfs", MS_NOSUID, "mode=755"));
	CHECK_OK(mkdir("/dev/net", 0755));
	CHECK_OK(mknod("/dev/net/tun", S_IFCHR | 0666, makedev(10, 200)));
	CHECK_OK(mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3)));
}

static int dev_entries(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/dev");

	CHECK(d);
	while ((de = readdir(d)))
		n++;
	closedir(d);
	return n;
}

ISOLATED_TEST(test_macvtap_without_device_node_makes_a_private_one)
{
	struct vdestack *s;
	int n;

	lan_setup(0);
	private_dev();
	n = dev_entries();
	s = mvstack("macvtap://vh0", NULL, 0);
	CHECK_EQ(dev_entries(), n); /* made, opened, removed */
	CHECK_EQ(tcp_check(NULL, HOST4, s, MB), MB);
	vde_delstack(s);
}

ISOLATED_TEST(test_macvtap_without_device_node_or_cap_mknod_says_why)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	int before;

	lan_setup(0);
	private_dev();
	before = macvtap_count();
	CHECK_OK(syscall(SYS_capget, &h, d));
	d[0].effective &= ~(1u << CAP_MKNOD);
	CHECK_OK(syscall(SYS_capset, &h, d));
	CHECK_ADD_FAILS(vde_addstack("macvtap://vh0", NULL), EPERM);
	note("message: %s", vde_stack_errmsg());
	CHECK(strstr(vde_stack_errmsg(), "CAP_MKNOD"));
	CHECK_EQ(macvtap_count(), before);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_macvtap_unprivileged_creation_fails_with_eperm),
		cmocka_unit_test(
			test_macvtap_without_cap_over_ifname_fails_with_eperm),
		cmocka_unit_test(test_macvtap_tcp_udp_ipv4_ipv6_with_the_host),
		cmocka_unit_test(test_macvtap_offloaded_frames_cross_whole),
		cmocka_unit_test(test_macvtap_fixed_and_random_mac),
		cmocka_unit_test(
			test_macvtap_mac_set_in_the_stack_reaches_the_lan),
		cmocka_unit_test(
			test_macvtap_bridge_mode_stacks_reach_each_other),
		cmocka_unit_test(
			test_macvtap_private_mode_stacks_do_not_reach_each_other),
		cmocka_unit_test(test_macvtap_vepa_and_passthru_modes),
		cmocka_unit_test(
			test_macvtap_mtu_follows_the_interface_and_is_clamped),
		cmocka_unit_test(test_macvtap_carrier_follows_the_interface),
		cmocka_unit_test(test_macvtap_removed_by_delstack),
		cmocka_unit_test(
			test_macvtap_removed_when_the_application_is_killed),
		cmocka_unit_test(test_macvtap_bad_vnl_and_options_fail_cleanly),
		cmocka_unit_test(
			test_macvtap_without_device_node_makes_a_private_one),
		cmocka_unit_test(
			test_macvtap_without_device_node_or_cap_mknod_says_why),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
