// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_defects.c - one regression test per defect of libvdestack 0.1.2
 * (DESIGN.md section 1, "Upstream defects we must not have")
 *
 * Each test is written against the observable rule, so it fails (or times
 * out) with Debian's libvdestack0 0.1.2: build it with -DVDESTACK_UPSTREAM
 * and link it against the system library to see that.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static struct vdestack *stack_on_wire(int *peer, const char *cidr)
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
	if (cidr)
		CHECK_EQ(stack_up(s, cidr), 0);
	return s;
}

static int count_tun_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	CHECK(d);
	while ((de = readdir(d))) {
		char path[300], target[PATH_MAX];
		ssize_t l;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		l = readlink(path, target, sizeof(target) - 1);
		if (l > 0) {
			target[l] = 0;
			n += !strcmp(target, "/dev/net/tun");
		}
	}
	closedir(d);
	return n;
}

/* 1: vde_stackcmd on a stack with no network never returns. */
ISOLATED_TEST_T(test_defect01_stackcmd_on_stack_without_network_returns, 20)
{
	struct vdestack *s;

	require_stacks();
	s = addstack(NULL, NULL);
	CHECK_MSG(s, "vde_addstack(NULL): %m");
	CHECK_EQ(vde_stackcmd(s, "/bin/true"), 0);
	CHECK_EQ(vde_stackcmd(s, "/bin/false"), 1);
	CHECK_EQ(vde_stackcmd(s, "/bin/ip link set lo up"), 0);
	vde_delstack(s);
}

/* 2: vde_delstack leaks the tap fd and never calls vde_close. */
ISOLATED_TEST_T(test_defect02_delstack_closes_tap_and_vde_connection, 20)
{
	struct leak_snapshot before;
	struct vdestack *s;
	char *d, *u, buf[16];
	int peer;

	require_network();
	leak_snapshot(&before);
	s = stack_on_wire(&peer, NULL);
	vde_delstack(s);
	CHECK_MSG(count_tun_fds() == 0, "a /dev/net/tun fd is still open");
	/* vde_close() closed the stack's end: the peer sees EOF */
	CHECK_MSG(recv(peer, buf, sizeof(buf), MSG_DONTWAIT) == 0,
		  "seqpacket peer sees no EOF after vde_delstack (%m)");
	close(peer);
	CHECK_NO_LEAK(before);

	d = make_tmpdir();
	if (asprintf(&u, "switch://%s/sw", d) < 0)
		abort();
	s = addstack(u, NULL);
	CHECK_MSG(s, "vde_addstack(%s): %m", u);
	vde_delstack(s);
	s = addstack(u, NULL);
	CHECK_MSG(s, "%s cannot be re-created after vde_delstack: %m", u);
	vde_delstack(s);
	CHECK_EQ(count_tun_fds(), 0);
	CHECK_NO_LEAK(before);
	remove_tree(d);
}

/* 3: a tap creation failure is not reported (and the next call hangs). */
ISOLATED_TEST_T(test_defect03_tap_failure_is_reported, 20)
{
	struct leak_snapshot before;
	struct vdestack *s;
	int w[2], err;
	char *u;

	require_network();
	CHECK_OK(wire_pair(w));
	leak_snapshot(&before);
	u = seqpacket_url(w[0]);
	/* "lo" exists in every new namespace and is not a tap: TUNSETIFF
	 * fails there */
	errno = 0;
	s = addstack(u, "lo");
	err = errno;
	CHECK_MSG(!s, "vde_addstack(%s, \"lo\") returned a stack", u);
	CHECK_MSG(err != 0, "no errno");
	if (!fd_is_open(w[0]))
		before.fds--;
	CHECK_NO_LEAK(before);
}

/* 4: the helper shares the creating thread's TLS. */
struct tls_arg {
	struct vdestack *s;
	pthread_barrier_t bar;
	char *url;
	int errno_seen;
};

static void *tls_thread(void *arg)
{
	struct tls_arg *t = arg;

	t->s = addstack(t->url, NULL);
	errno = 4242;
	pthread_barrier_wait(&t->bar); /* stack created */
	pthread_barrier_wait(&t->bar); /* main made the agent fail */
	t->errno_seen = errno;
	return NULL;
}

ISOLATED_TEST_T(test_defect04_agent_does_not_share_creator_tls, 20)
{
	struct tls_arg t = {0};
	pthread_attr_t attr;
	pthread_t th;
	size_t sz = 1 << 20;
	void *stk;
	int w[2], fd;

	require_network();
	CHECK_OK(wire_pair(w));
	t.url = seqpacket_url(w[0]);
	pthread_barrier_init(&t.bar, NULL, 2);
	/* our own stack for the thread: glibc puts its TLS there, and we
	 * unmap it once the thread is gone */
	stk = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	CHECK(stk != MAP_FAILED);
	pthread_attr_init(&attr);
	CHECK_EQ(pthread_attr_setstack(&attr, stk, sz), 0);
	CHECK_EQ(pthread_create(&th, &attr, tls_thread, &t), 0);
	pthread_barrier_wait(&t.bar);
	CHECK_MSG(t.s, "vde_addstack in a thread failed");
	/* failures inside the agent must not land in the thread's errno */
	CHECK_ERRNO(vde_msocket(t.s, 12345, SOCK_STREAM, 0), EAFNOSUPPORT);
	CHECK_ERRNO(vde_msocket(t.s, AF_INET, 99, 0), 0);
	CHECK_EQ(vde_stackcmd(t.s, "/bin/false"), 1);
	pthread_barrier_wait(&t.bar);
	pthread_join(th, NULL);
	CHECK_MSG(t.errno_seen == 4242,
		  "the creating thread's errno changed to %d (%s)",
		  t.errno_seen, strerror(t.errno_seen));

	/* the creating thread is gone and its TLS unmapped */
	CHECK_OK(munmap(stk, sz));
	fd = CHECK_OK(vde_msocket(t.s, AF_INET, SOCK_DGRAM, 0));
	close(fd);
	CHECK_ERRNO(vde_msocket(t.s, 12345, SOCK_STREAM, 0), EAFNOSUPPORT);
	CHECK_EQ(vde_stackcmd(t.s, "/bin/true"), 0);
	CHECK_EQ(stack_up(t.s, "10.0.0.1/24"), 0);
	vde_delstack(t.s);
	close(w[1]);
}

/* 5: not fork-safe. */
ISOLATED_TEST_T(test_defect05_msocket_and_stackcmd_work_in_forked_child, 20)
{
	struct vdestack *s = stack_on_wire(NULL, "10.0.0.1/24");
	uint64_t ns = stack_netns(s);
	char *d = make_tmpdir(), *f = path_in(d, "from-child");
	int before, st, fd;
	pid_t pid;

	CHECK(ns);
	before = count_fds();
	pid = CHECK_OK(fork());
	if (pid == 0) {
		struct sockaddr_in sin = {.sin_family = AF_INET};

		fd = vde_msocket(s, AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			_exit(10);
		if (sock_netns(fd) != ns)
			_exit(11);
		sin.sin_addr.s_addr = htonl(0x0a000001);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			_exit(12);
		if (stackcmdf(s, "/usr/bin/touch %s", f) != 0)
			_exit(13);
		if (!file_exists(f))
			_exit(14);
		if (vde_stackcmd(s, "/bin/false") != 1)
			_exit(15);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "child: %s %d (10 msocket, 11 not in stack, 12 bind, "
		  "13/14 stackcmd, 15 status)",
		  WIFEXITED(st) ? "exit" : "signal",
		  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	CHECK_MSG(count_fds() == before,
		  "the parent's fd table changed: %d -> %d", before,
		  count_fds());
	fd = CHECK_OK(vde_msocket(s, AF_INET, SOCK_DGRAM, 0));
	CHECK_EQ(sock_netns(fd), ns);
	close(fd);
	CHECK_EQ(vde_stackcmd(s, "/bin/true"), 0);
	vde_delstack(s);
	remove_tree(d);
}

/* 6: signal death reported as 0; exec failure looks like exit 2. */
ISOLATED_TEST_T(test_defect06_signal_death_and_exec_failure_are_distinct, 20)
{
	struct vdestack *s = stack_on_wire(NULL, NULL);

	CHECK_EQ(vde_stackcmd(s, "/bin/sh -c 'kill -9 $$'"), 128 + 9);
	CHECK_EQ(vde_stackcmd(s, "/bin/sh -c 'kill -SEGV $$'"), 128 + 11);
	CHECK_EQ(vde_stackcmd(s, "/nonexistent/vdestack-test"), 127);
	CHECK_EQ(vde_stackcmd(s, "/bin/sh -c 'exit 2'"), 2);
	vde_delstack(s);
}

/* 7: MTU above 9216 accepted, frames silently truncated. */
static int udp_roundtrip(struct vdestack *a, struct vdestack *b, size_t len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int rx = vde_msocket(b, AF_INET, SOCK_DGRAM, 0);
	int tx = vde_msocket(a, AF_INET, SOCK_DGRAM, 0);
	int pmtu = IP_PMTUDISC_DO, ok = 0;
	unsigned char *sbuf = malloc(len), *rbuf = malloc(len + 1);
	socklen_t sl = sizeof(sin);

	CHECK(rx >= 0 && tx >= 0);
	sin.sin_addr.s_addr = htonl(0x0a000002);
	CHECK_OK(bind(rx, (struct sockaddr *)&sin, sizeof(sin)));
	CHECK_OK(getsockname(rx, (struct sockaddr *)&sin, &sl));
	setsockopt(tx, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	fill_pattern(sbuf, 0, len, len);
	for (int i = 0; i < 5 && !ok; i++) {
		struct pollfd p = {rx, POLLIN, 0};

		if (sendto(tx, sbuf, len, 0, (struct sockaddr *)&sin,
			   sizeof(sin)) != (ssize_t)len) {
			note("sendto %zu bytes: %m", len);
			break;
		}
		if (poll(&p, 1, 1000) == 1) {
			ssize_t r = recv(rx, rbuf, len + 1, 0);
			ok = r == (ssize_t)len && !memcmp(sbuf, rbuf, len);
			if (!ok)
				note("received %zd of %zu bytes", r, len);
		}
	}
	close(rx);
	close(tx);
	free(sbuf);
	free(rbuf);
	return ok;
}

ISOLATED_TEST_T(test_defect07_mtu_above_9216_never_truncates_silently, 30)
{
	struct vdestack *a, *b;
	int w[2], mtu;
	char *u;

	require_network();
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	a = addstack(u, NULL);
	free(u);
	u = seqpacket_url(w[1]);
	b = addstack(u, NULL);
	free(u);
	CHECK(a && b);
	CHECK_EQ(stack_up(a, "10.0.0.1/24"), 0);
	CHECK_EQ(stack_up(b, "10.0.0.2/24"), 0);

	/* 9216 is VDE's limit and must work, full size, intact */
	CHECK_EQ(stack_set_mtu(a, "vde0", 9216), 0);
	CHECK_EQ(stack_set_mtu(b, "vde0", 9216), 0);
	CHECK_EQ(stack_get_mtu(a, "vde0"), 9216);
	CHECK_MSG(udp_roundtrip(a, b, 9216 - 28),
		  "a 9216-byte IP packet did not arrive intact");

	/* above: refused or clamped ... */
	stack_set_mtu(a, "vde0", 9500);
	stack_set_mtu(b, "vde0", 9500);
	mtu = stack_get_mtu(a, "vde0");
	CHECK(mtu > 0);
	if (mtu <= 9216)
		goto out;
	/* ... or a 9400-byte packet arrives whole or is counted dropped */
	note("MTU 9500 accepted (read back %d)", mtu);
#if HAVE_EXTENSIONS
	struct vde_stack_stats st0, st1;
	CHECK_OK(vde_stack_stats(a, &st0, sizeof(st0)));
	if (!udp_roundtrip(a, b, 9400)) {
		CHECK_OK(vde_stack_stats(a, &st1, sizeof(st1)));
		CHECK_MSG(st1.tx_dropped + st1.errors >
				  st0.tx_dropped + st0.errors,
			  "9400-byte packet lost and not counted as dropped");
	}
#else
	CHECK_MSG(udp_roundtrip(a, b, 9400),
		  "MTU 9500 accepted and a 9400-byte packet was lost");
#endif
out:
	vde_delstack(a);
	vde_delstack(b);
}

/* 8: a vanished VDE switch is never noticed. */
ISOLATED_TEST_T(test_defect08_vanished_switch_sets_no_carrier, 30)
{
	struct vswitch sw;
	struct vdestack *s;
	char *d, *swdir, *out = NULL;
	int seen = 0;

	require_network();
	d = make_tmpdir();
	swdir = path_in(d, "vs");
	if (vswitch_start(&sw, swdir) < 0) {
		remove_tree(d);
		test_skip("vde_switch (package vde2) not usable");
	}
	s = addstack(sw.url, NULL);
	CHECK_MSG(s, "vde_addstack(%s): %m", sw.url);
	CHECK_EQ(stack_up(s, "10.0.0.1/24"), 0);
	out = stack_ip_output(s, d, "link show vde0");
	CHECK(out);
	CHECK_MSG(!strstr(out, "NO-CARRIER"), "no carrier before: %s", out);
	free(out);

	kill(sw.pid, SIGKILL);
	waitpid(sw.pid, NULL, 0);
	sw.pid = 0;
	for (int i = 0; i < 50 && !seen; i++) {
		out = stack_ip_output(s, d, "link show vde0");
		seen = out && strstr(out, "NO-CARRIER");
		if (!seen)
			sleep_ms(100);
		else
			note("after %d ms: %s", i * 100, out);
		free(out);
	}
	CHECK_MSG(seen, "vde0 still has carrier 5 s after the switch died");
	vde_delstack(s);
	close(sw.stdin_fd);
	remove_tree(d);
}

/* 9: vde_recv results 1 ("no frame") and -1 are written to the tap. */
static uint64_t link_counter(struct vdestack *s, const char *dir,
			     const char *col)
{
	char *out = stack_ip_output(s, dir, "-s link show vde0");
	char *rx, *hdr_end, *p;
	uint64_t v = UINT64_MAX;
	int idx = -1, i = 0;

	if (!out)
		return v;
	rx = strstr(out, "RX:");
	if (rx && (hdr_end = strchr(rx, '\n'))) {
		char *tok, *save = NULL;
		char *hdr = strndup(rx + 3, hdr_end - rx - 3);

		for (tok = strtok_r(hdr, " \t", &save); tok;
		     tok = strtok_r(NULL, " \t", &save), i++)
			if (!strcmp(tok, col))
				idx = i;
		free(hdr);
		p = hdr_end + 1;
		for (i = 0; idx >= 0 && i <= idx; i++) {
			char *e;
			unsigned long long x = strtoull(p, &e, 10);

			if (e == p)
				break;
			if (i == idx)
				v = x;
			p = e;
		}
	}
	free(out);
	return v;
}

static int wait_arp_reply(int peer, int ms)
{
	unsigned char f[9300];
	double end = now_s() + ms / 1000.0;

	while (now_s() < end) {
		struct pollfd p = {peer, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, 100) != 1)
			continue;
		n = recv(peer, f, sizeof(f), 0);
		if (n >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
		    !memcmp(f + 28, "\x0a\x00\x00\x01", 4))
			return 1;
	}
	return 0;
}

ISOLATED_TEST_T(test_defect09_runt_vde_messages_never_reach_the_tap, 30)
{
	int peer;
	struct vdestack *s = stack_on_wire(&peer, "10.0.0.1/24");
	char *d = make_tmpdir();
	unsigned char arp[60] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,		/* dst */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02,		/* src */
		0x08, 0x06,					/* ARP */
		0x00, 0x01, 0x08, 0x00, 6,    4,    0x00, 0x01, /* request */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02,		/* sha */
		10,   0,    0,	  2,				/* spa */
		0,    0,    0,	  0,	0,    0,		/* tha */
		10,   0,    0,	  1,				/* tpa */
	};
	uint64_t rx0, rx1, err0, err1;

	/* the relay works at all */
	CHECK_EQ(send(peer, arp, sizeof(arp), 0), sizeof(arp));
	CHECK_MSG(wait_arp_reply(peer, 3000), "no ARP reply at all");
	rx0 = link_counter(s, d, "packets");
	err0 = link_counter(s, d, "errors");
	CHECK(rx0 != UINT64_MAX && err0 != UINT64_MAX);
#if HAVE_EXTENSIONS
	struct vde_stack_stats st0, st1;
	CHECK_OK(vde_stack_stats(s, &st0, sizeof(st0)));
#endif

	/* a 1-byte and a 0-byte message: "no frame" for libvdeplug */
	CHECK_EQ(send(peer, "x", 1, 0), 1);
	CHECK_EQ(send(peer, "", 0, 0), 0);
	sleep_ms(200);
	CHECK_EQ(send(peer, arp, sizeof(arp), 0), sizeof(arp));
	CHECK_MSG(wait_arp_reply(peer, 3000),
		  "the stack stopped relaying after a runt message");
	rx1 = link_counter(s, d, "packets");
	err1 = link_counter(s, d, "errors");
	CHECK_MSG(rx1 - rx0 == 1, "vde0 received %llu frames, want 1 (ARP)",
		  (unsigned long long)(rx1 - rx0));
	CHECK_EQ(err1, err0);
#if HAVE_EXTENSIONS
	CHECK_OK(vde_stack_stats(s, &st1, sizeof(st1)));
	CHECK_MSG(st1.rx_dropped > st0.rx_dropped,
		  "runt message not counted in rx_dropped (%llu -> %llu)",
		  (unsigned long long)st0.rx_dropped,
		  (unsigned long long)st1.rx_dropped);
#endif
	vde_delstack(s);
	close(peer);
	remove_tree(d);
}

/* 10: one mutex per stack held for the whole of vde_stackcmd. */
struct slowcmd {
	struct vdestack *s;
	char *cmd;
	_Atomic int done; /* polled by the main thread */
	int rc;
};

static void *slowcmd_main(void *arg)
{
	struct slowcmd *c = arg;

	c->rc = vde_stackcmd(c->s, c->cmd);
	c->done = 1;
	return NULL;
}

ISOLATED_TEST_T(test_defect10_msocket_not_blocked_by_long_stackcmd, 30)
{
	struct vdestack *s = stack_on_wire(NULL, NULL);
	struct slowcmd c = {.s = s};
	char *d = make_tmpdir(), *started = path_in(d, "started");
	pthread_t t;
	double t0, t1;

	if (asprintf(&c.cmd,
		     "/bin/sh -c '/usr/bin/touch %s && "
		     "exec /bin/sleep 3'",
		     started) < 0)
		abort();
	CHECK_EQ(pthread_create(&t, NULL, slowcmd_main, &c), 0);
	for (int i = 0; i < 500 && !file_exists(started); i++)
		sleep_ms(10);
	CHECK_MSG(file_exists(started), "the command did not start");
	t0 = now_s();
	int fd = vde_msocket(s, AF_INET, SOCK_STREAM, 0);
	t1 = now_s();
	CHECK_MSG(fd >= 0, "vde_msocket: %m");
	close(fd);
	CHECK_MSG(!c.done,
		  "vde_msocket returned only after the command "
		  "ended (%.2f s)",
		  t1 - t0);
	pthread_join(t, NULL);
	CHECK_EQ(c.rc, 0);
	vde_delstack(s);
	remove_tree(d);
}

/* 11: commands inherit every non-CLOEXEC fd of the application. */
ISOLATED_TEST_T(test_defect11_commands_see_only_fds_0_1_2, 20)
{
	struct vdestack *s = stack_on_wire(NULL, NULL);
	char *d = make_tmpdir();
	struct probe p;
	int fd, pp[2];

	/* deliberately inheritable fds of the application */
	fd = CHECK_OK(open("/dev/null", O_RDONLY));
	CHECK_OK(dup2(fd, 40));
	CHECK_OK(pipe(pp));
	CHECK_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
	CHECK_EQ(run_probe(s, d, NULL, &p), 0);
	CHECK(p.argc >= 0);
	for (int i = 0; i < p.nfds; i++)
		if (p.fds[i] > 2)
			note("command inherited fd %d", p.fds[i]);
	CHECK_EQ(p.nfds, 3);
	for (int i = 0; i < p.nfds; i++)
		CHECK(p.fds[i] <= 2);
	vde_delstack(s);
	remove_tree(d);
}

/* 12: the helper polls kill(parent, 0) every 10 s. */
ISOLATED_TEST_T(test_defect12_agents_die_within_1s_of_application, 30)
{
	char *d = make_tmpdir(), *pidf = path_in(d, "cmdpid");
	pid_t app, pids[64];
	int p[2], n = 0, st;
	double t0;

	require_network();
	CHECK_OK(pipe2(p, O_CLOEXEC));
	app = CHECK_OK(fork());
	if (app == 0) {
		struct vdestack *s1, *s2;
		struct slowcmd c = {0};
		pthread_t t;
		pid_t kids[62];
		int w[2], k;
		char *u;

		s1 = addstack(NULL, NULL);
		if (wire_pair(w) < 0)
			_exit(1);
		u = seqpacket_url(w[0]);
		s2 = addstack(u, NULL);
		if (!s1 || !s2 || stack_up(s2, "10.0.0.1/24") != 0)
			_exit(2);
		/* a command still running when the application dies */
		c.s = s2;
		if (asprintf(&c.cmd,
			     "/bin/sh -c 'echo $$ > %s.tmp && "
			     "/bin/mv %s.tmp %s && exec /bin/sleep 30'",
			     pidf, pidf, pidf) < 0)
			_exit(3);
		pthread_create(&t, NULL, slowcmd_main, &c);
		for (int i = 0; i < 500 && !file_exists(pidf); i++)
			sleep_ms(10);
		k = list_children(kids, 62);
		if (k > 62)
			k = 62;
		if (write(p[1], &k, sizeof(k)) != sizeof(k) ||
		    write(p[1], kids, k * sizeof(pid_t)) !=
			    (ssize_t)(k * sizeof(pid_t)))
			_exit(4);
		pause();
		_exit(0);
	}
	close(p[1]);
	{
		struct pollfd pf = {p[0], POLLIN, 0};

		CHECK_MSG(poll(&pf, 1, 20000) == 1,
			  "the application did not report its agents");
	}
	CHECK_MSG(read(p[0], &n, sizeof(n)) == sizeof(n),
		  "the application failed before reporting");
	CHECK(n > 0 && n <= 62);
	CHECK_EQ(read(p[0], pids, n * sizeof(pid_t)), n * sizeof(pid_t));
	{
		char *text = read_file_str(pidf);

		CHECK_MSG(text, "the command did not start");
		pids[n++] = atoi(text);
		free(text);
	}
	note("application %d: %d agent(s) + command %d", app, n - 1,
	     pids[n - 1]);

	kill(app, SIGKILL);
	CHECK_EQ(waitpid(app, &st, 0), app);
	t0 = now_s();
	for (;;) {
		int alive = 0;

		for (int i = 0; i < n; i++)
			alive += !pid_gone(pids[i]);
		if (!alive)
			break;
		if (now_s() - t0 > 1.0) {
			for (int i = 0; i < n; i++)
				if (!pid_gone(pids[i]))
					note("pid %d still alive", pids[i]);
			for (int i = 0; i < n; i++)
				kill(pids[i], SIGKILL);
			check_fail(__FILE__, __LINE__,
				   "%d process(es) outlived the application "
				   "by more than 1 s",
				   alive);
		}
		sleep_ms(10);
	}
	note("all gone after %.0f ms", (now_s() - t0) * 1000);
	remove_tree(d);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_defect01_stackcmd_on_stack_without_network_returns),
		cmocka_unit_test(
			test_defect02_delstack_closes_tap_and_vde_connection),
		cmocka_unit_test(test_defect03_tap_failure_is_reported),
		cmocka_unit_test(
			test_defect04_agent_does_not_share_creator_tls),
		cmocka_unit_test(
			test_defect05_msocket_and_stackcmd_work_in_forked_child),
		cmocka_unit_test(
			test_defect06_signal_death_and_exec_failure_are_distinct),
		cmocka_unit_test(
			test_defect07_mtu_above_9216_never_truncates_silently),
		cmocka_unit_test(test_defect08_vanished_switch_sets_no_carrier),
		cmocka_unit_test(
			test_defect09_runt_vde_messages_never_reach_the_tap),
		cmocka_unit_test(
			test_defect10_msocket_not_blocked_by_long_stackcmd),
		cmocka_unit_test(test_defect11_commands_see_only_fds_0_1_2),
		cmocka_unit_test(
			test_defect12_agents_die_within_1s_of_application),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
