// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_msocket.c - vde_msocket(): every domain and type, flags, threads,
 * fork, and concurrency with vde_stackcmd()
 *
 * "In the stack" is checked with SIOCGSKNS: the socket's network namespace
 * must be the stack's, never the host's.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

struct kind {
	int domain, type, protocol;
	const char *name;
	int so_protocol; /* what SO_PROTOCOL reads back, -1: any */
};

static const struct kind kinds[] = {
	{AF_INET, SOCK_STREAM, 0, "inet stream", IPPROTO_TCP},
	{AF_INET, SOCK_DGRAM, 0, "inet dgram", IPPROTO_UDP},
	{AF_INET, SOCK_RAW, IPPROTO_ICMP, "inet raw icmp", IPPROTO_ICMP},
	{AF_INET, SOCK_RAW, IPPROTO_UDP, "inet raw udp", IPPROTO_UDP},
	{AF_INET6, SOCK_STREAM, 0, "inet6 stream", IPPROTO_TCP},
	{AF_INET6, SOCK_DGRAM, 0, "inet6 dgram", IPPROTO_UDP},
	{AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, "inet6 raw icmpv6",
	 IPPROTO_ICMPV6},
	/* htons(ETH_P_ALL), htons(ETH_P_IP); SO_PROTOCOL is not kept */
	{AF_PACKET, SOCK_RAW, 0x0300, "packet raw", -1},
	{AF_PACKET, SOCK_DGRAM, 0x0008, "packet dgram", -1},
	{AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, "netlink route", NETLINK_ROUTE},
	{AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE, "netlink route dgram",
	 NETLINK_ROUTE},
	{AF_UNIX, SOCK_STREAM, 0, "unix stream", 0},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static int sockopt(int fd, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) < 0)
		return -1;
	return v;
}

/* @fd is a socket of kind @k in the namespace @ns; "" or a reason. */
static const char *check_socket(int fd, const struct kind *k, uint64_t ns)
{
	struct stat st;

	if (fd < 0)
		return "vde_msocket failed";
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return "not a socket";
	if (sockopt(fd, SO_DOMAIN) != k->domain)
		return "wrong domain";
	if ((sockopt(fd, SO_TYPE) & 0xf) != k->type)
		return "wrong type";
	if (k->so_protocol >= 0 && sockopt(fd, SO_PROTOCOL) != k->so_protocol)
		return "wrong protocol";
	if (sock_netns(fd) != ns)
		return "not in the stack's network namespace";
	return "";
}

static struct vdestack *stack_on_wire(int *peer)
{
	struct vdestack *s;
	int w[2];
	char *u;

	require_network();
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = addstack(u, NULL);
	CHECK_MSG(s, "vde_addstack(%s): %m", u);
	free(u);
	if (peer)
		*peer = w[1];
	return s;
}

static void each_kind(struct vdestack *s)
{
	uint64_t ns = stack_netns(s);

	CHECK(ns != 0);
	CHECK(ns != host_netns());
	for (size_t i = 0; i < NKINDS; i++) {
		const struct kind *k = &kinds[i];
		int fd = vde_msocket(s, k->domain, k->type, k->protocol);
		const char *why = check_socket(fd, k, ns);

		CHECK_MSG(!*why, "%s: %s (%m)", k->name, why);
		close(fd);
	}
}

ISOLATED_TEST(test_msocket_every_domain_and_type_lives_in_stack)
{
	struct vdestack *s = stack_on_wire(NULL);

	each_kind(s);
	vde_delstack(s);
}

ISOLATED_TEST(test_msocket_every_domain_and_type_on_stack_without_network)
{
	struct vdestack *s;

	require_stacks();
	s = addstack(NULL, NULL);
	CHECK_MSG(s, "vde_addstack(NULL): %m");
	each_kind(s);
	vde_delstack(s);
}

ISOLATED_TEST(test_msocket_raw_icmp_socket_sends_in_stack)
{
	struct vdestack *s = stack_on_wire(NULL);
	struct sockaddr_in dst = {.sin_family = AF_INET};
	unsigned char icmp[8] = {8, 0, 0xf7, 0xff, 0, 0, 0, 0};
	int fd;

	/* an ICMP echo on the stack's lo through a raw socket */
	CHECK_EQ(vde_stackcmd(s, "/bin/ip link set lo up"), 0);
	fd = CHECK_OK(vde_msocket(s, AF_INET, SOCK_RAW, IPPROTO_ICMP));
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(sendto(fd, icmp, sizeof(icmp), 0, (struct sockaddr *)&dst,
			sizeof(dst)),
		 sizeof(icmp));
	close(fd);
	vde_delstack(s);
}

ISOLATED_TEST(test_msocket_bad_arguments_fail_with_errno)
{
	struct vdestack *s = stack_on_wire(NULL);

	CHECK_ERRNO(vde_msocket(s, 12345, SOCK_STREAM, 0), EAFNOSUPPORT);
	CHECK_ERRNO(vde_msocket(s, AF_INET, 99, 0), 0);
	CHECK_ERRNO(vde_msocket(s, AF_INET, SOCK_STREAM, IPPROTO_UDP), 0);
	/* a failure does not break the stack */
	int fd = CHECK_OK(vde_msocket(s, AF_INET, SOCK_DGRAM, 0));
	close(fd);
	vde_delstack(s);
}

ISOLATED_TEST(test_msocket_null_stack_is_einval)
{
	require_stacks();
	errno = 0;
	int r = vde_msocket(NULL, AF_INET, SOCK_DGRAM, 0);
	CHECK_MSG(r == -1 && (errno == EINVAL || errno == EBADF),
		  "vde_msocket(NULL): %d errno %d", r, errno);
}

ISOLATED_TEST(test_msocket_honours_cloexec_and_nonblock)
{
	struct vdestack *s = stack_on_wire(NULL);
	static const int flags[] = {0, SOCK_CLOEXEC, SOCK_NONBLOCK,
				    SOCK_CLOEXEC | SOCK_NONBLOCK};

	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < 4; i++) {
			int type = (d ? SOCK_STREAM : SOCK_DGRAM) | flags[i];
			int fd = CHECK_OK(vde_msocket(s, AF_INET, type, 0));
			int fdf = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);

			CHECK_MSG(!!(fdf & FD_CLOEXEC) ==
					  !!(flags[i] & SOCK_CLOEXEC),
				  "flags %#x: FD_CLOEXEC is %d", flags[i],
				  !!(fdf & FD_CLOEXEC));
			CHECK_MSG(!!(fl & O_NONBLOCK) ==
					  !!(flags[i] & SOCK_NONBLOCK),
				  "flags %#x: O_NONBLOCK is %d", flags[i],
				  !!(fl & O_NONBLOCK));
			CHECK_EQ(sockopt(fd, SO_TYPE),
				 d ? SOCK_STREAM : SOCK_DGRAM);
			close(fd);
		}
	}
	vde_delstack(s);
}

struct hammer {
	struct vdestack *s;
	pthread_barrier_t *bar;
	uint64_t ns;
	int id;
	int bad;
	char why[128];
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;

	pthread_barrier_wait(h->bar);
	for (int i = 0; i < 100 && !h->bad; i++) {
		/* each thread and round asks for a different kind, so
		 * crossed replies show up as a wrong domain or type */
		const struct kind *k = &kinds[(h->id + i) % NKINDS];
		int fd = vde_msocket(h->s, k->domain, k->type | SOCK_CLOEXEC,
				     k->protocol);
		const char *why = check_socket(fd, k, h->ns);

		if (*why) {
			h->bad = 1;
			snprintf(h->why, sizeof(h->why),
				 "thread %d round %d "
				 "%s: %s",
				 h->id, i, k->name, why);
		}
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

ISOLATED_TEST(test_msocket_from_8_threads_concurrently)
{
	struct vdestack *s = stack_on_wire(NULL);
	pthread_t t[8];
	struct hammer h[8];
	pthread_barrier_t bar;
	int fds = count_fds();

	pthread_barrier_init(&bar, NULL, 8);
	for (int i = 0; i < 8; i++) {
		h[i] = (struct hammer){
			.s = s, .bar = &bar, .id = i, .ns = stack_netns(s)};
		CHECK_EQ(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 8; i++)
		CHECK_MSG(!h[i].bad, "%s", h[i].why);
	/* spare sockets of the library's pool (at most 16 per kind, 4
	 * kinds) stay with the stack until it is deleted */
	CHECK(count_fds() <= fds + 64);
	vde_delstack(s);
}

ISOLATED_TEST(test_msocket_pool_is_released_by_delstack)
{
	struct leak_snapshot before;
	struct vdestack *s;

	require_stacks();
	leak_snapshot(&before);
	s = addstack(NULL, NULL);
	CHECK(s != NULL);
	for (int i = 0; i < 200; i++) {
		int fd = vde_msocket(s, i & 1 ? AF_INET6 : AF_INET,
				     i & 2 ? SOCK_DGRAM : SOCK_STREAM, 0);

		CHECK_MSG(fd >= 0, "call %d: %m", i);
		CHECK_EQ(sock_netns(fd), stack_netns(s));
		close(fd);
	}
	vde_delstack(s);
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_msocket_after_stackcmd_sees_new_sysctls)
{
	struct vdestack *s;
	int fd, buf;
	socklen_t len = sizeof(buf);

	require_stacks();
	s = addstack(NULL, NULL);
	CHECK(s != NULL);
	/* fill the pool for IPv4 stream sockets */
	for (int i = 0; i < 40; i++)
		close(CHECK_OK(vde_msocket(s, AF_INET, SOCK_STREAM, 0)));
	/* a new default TCP receive buffer inside the stack ... */
	if (vde_stackcmd(s, "/bin/sh -c 'echo 4096 100000 6291456 > "
			    "/proc/sys/net/ipv4/tcp_rmem'") != 0) {
		vde_delstack(s);
		test_skip("cannot write net.ipv4.tcp_rmem in the stack");
	}
	/* ... is what the next socket has: no stale pooled socket */
	fd = CHECK_OK(vde_msocket(s, AF_INET, SOCK_STREAM, 0));
	CHECK_OK(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, &len));
	CHECK_EQ(buf, 100000);
	close(fd);
	vde_delstack(s);
}

ISOLATED_TEST(test_msocket_in_forked_child_returns_child_fd)
{
	struct vdestack *s = stack_on_wire(NULL);
	uint64_t ns = stack_netns(s);
	int before, st;
	pid_t pid;

	CHECK_EQ(stack_up(s, "10.0.0.1/24"), 0);
	before = count_fds();
	pid = fork();
	CHECK_OK(pid);
	if (pid == 0) {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		int fd = vde_msocket(s, AF_INET, SOCK_DGRAM, 0);

		if (*check_socket(fd, &kinds[1], ns)) {
			fprintf(stderr, "child: %s\n",
				check_socket(fd, &kinds[1], ns));
			_exit(1);
		}
		/* 10.0.0.1 exists only in the stack */
		sin.sin_addr.s_addr = htonl(0x0a000001);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			_exit(2);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x",
		  st);
	CHECK_MSG(count_fds() == before, "parent fd table changed: %d -> %d",
		  before, count_fds());
	/* the parent's stack still works */
	int fd = CHECK_OK(vde_msocket(s, AF_INET, SOCK_DGRAM, 0));
	CHECK_EQ(sock_netns(fd), ns);
	close(fd);
	vde_delstack(s);
}

struct slowcmd {
	struct vdestack *s;
	const char *cmd;
	_Atomic int done; /* polled by the main thread */
	int rc;
};

static void *slowcmd_main(void *arg)
{
	struct slowcmd *c = arg;

	c->rc = vde_stackcmd(c->s, (char *)c->cmd);
	c->done = 1;
	return NULL;
}

ISOLATED_TEST(test_msocket_not_blocked_by_running_stackcmd)
{
	struct vdestack *s = stack_on_wire(NULL);
	struct slowcmd c = {0};
	pthread_t t;
	char *d = make_tmpdir(), *started = path_in(d, "started"), *cmd;

	if (asprintf(&cmd,
		     "/bin/sh -c '/usr/bin/touch %s && "
		     "exec /bin/sleep 3'",
		     started) < 0)
		abort();
	c.s = s;
	c.cmd = cmd;
	CHECK_EQ(pthread_create(&t, NULL, slowcmd_main, &c), 0);
	for (int i = 0; i < 500 && !file_exists(started) && !c.done; i++)
		sleep_ms(10);
	CHECK_MSG(file_exists(started), "the command did not start");
	for (size_t i = 0; i < NKINDS; i++) {
		int fd = vde_msocket(s, kinds[i].domain, kinds[i].type,
				     kinds[i].protocol);

		CHECK_MSG(fd >= 0, "%s: %m", kinds[i].name);
		close(fd);
	}
	CHECK_MSG(!c.done, "vde_msocket waited for the command to end");
	pthread_join(t, NULL);
	CHECK_EQ(c.rc, 0);
	vde_delstack(s);
	remove_tree(d);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_msocket_every_domain_and_type_lives_in_stack),
		cmocka_unit_test(
			test_msocket_every_domain_and_type_on_stack_without_network),
		cmocka_unit_test(test_msocket_raw_icmp_socket_sends_in_stack),
		cmocka_unit_test(test_msocket_bad_arguments_fail_with_errno),
		cmocka_unit_test(test_msocket_null_stack_is_einval),
		cmocka_unit_test(test_msocket_honours_cloexec_and_nonblock),
		cmocka_unit_test(test_msocket_from_8_threads_concurrently),
		cmocka_unit_test(test_msocket_pool_is_released_by_delstack),
		cmocka_unit_test(test_msocket_after_stackcmd_sees_new_sysctls),
		cmocka_unit_test(test_msocket_in_forked_child_returns_child_fd),
		cmocka_unit_test(test_msocket_not_blocked_by_running_stackcmd),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
