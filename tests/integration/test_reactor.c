// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_reactor.c - the tap backend's relay threads (reactors)
 *
 * The process's tap stacks share reactor threads, named "vdestack-tap":
 * one while they are idle or lightly used, a second one (up to one per
 * CPU) once a reactor is kept busy, none after the last stack is gone.
 * These tests count those threads in /proc/self/task, and check that
 * stacks deleted while frames are in flight, and stacks created in a
 * fork()ed child, behave.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "helpers.h"

/*
 * Threads of this process named "vdestack-tap"; with @running, how many of
 * them are running (state R) rather than sleeping.
 */
static int tap_threads_in(int *running)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	CHECK(d);
	while ((de = readdir(d))) {
		char path[300], *comm;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 de->d_name);
		comm = read_file_str(path);
		if (comm && !strcmp(comm, "vdestack-tap\n")) {
			n++;
			free(comm);
			snprintf(path, sizeof(path),
				 "/proc/self/task/%s/stat", de->d_name);
			comm = read_file_str(path);
			if (running && comm && strstr(comm, ") R "))
				(*running)++;
		}
		free(comm);
	}
	closedir(d);
	return n;
}

static int tap_threads(void)
{
	return tap_threads_in(NULL);
}

static int cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (int)n;
}

ISOLATED_TEST(test_reactor_idle_stacks_share_one_thread)
{
	struct leak_snapshot before;
	struct pair p[5];

	require_network();
	leak_snapshot(&before);
	CHECK_EQ(tap_threads(), 0);
	for (int i = 0; i < 5; i++) {
		pair_seqpacket(&p[i]);
		CHECK_EQ(tap_threads(), 1);
	}
	CHECK_EQ(count_threads(), before.threads + 1);
	/* the first pairs' thread is the one the last pair works on */
	CHECK_EQ(tcp_transfer(p[4].a, "10.0.0.1", p[4].b, 1 << 20, 30),
		 1 << 20);
	for (int i = 0; i < 5; i++)
		pair_free(&p[i]);
	CHECK_EQ(tap_threads(), 0);
	CHECK_NO_LEAK(before);
}

/* A TCP connection from stack A of @p (*@c) to stack B (*@s), port 7. */
static void tcp_connect_pair(struct pair *p, int *c, int *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(7)};
	int l, one = 1;

	inet_pton(AF_INET, "10.0.0.2", &a.sin_addr);
	l = vde_msocket(p->b, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*c = vde_msocket(p->a, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(l >= 0 && *c >= 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CHECK_OK(bind(l, (struct sockaddr *)&a, sizeof(a)));
	CHECK_OK(listen(l, 1));
	CHECK_OK(connect(*c, (struct sockaddr *)&a, sizeof(a)));
	*s = accept(l, NULL, NULL);
	CHECK(*s >= 0);
	close(l);
}

/*
 * A bulk flow A -> B until told to stop: whatever the socket takes, read
 * and dropped, no pattern and no comparison, so that the application's
 * threads cost little (under a sanitizer too) and the relay is the limit.
 */
struct flow {
	int c, s;
	atomic_int stop;
	long long bytes;
};

static void *flow_main(void *arg)
{
	static char out[1 << 18], in[1 << 18];
	struct flow *f = arg;

	while (!atomic_load(&f->stop)) {
		struct pollfd pf[2] = {{.fd = f->c, .events = POLLOUT},
				       {.fd = f->s, .events = POLLIN}};
		ssize_t r;

		if (poll(pf, 2, 100) < 0)
			break;
		if (pf[0].revents & POLLOUT)
			(void)!send(f->c, out, sizeof(out), MSG_DONTWAIT);
		while (pf[1].revents & POLLIN &&
		       (r = recv(f->s, in, sizeof(in), MSG_DONTWAIT)) > 0)
			f->bytes += r;
	}
	return NULL;
}

ISOLATED_TEST_T(test_reactor_bulk_flow_spreads_over_cpus, 180)
{
	struct leak_snapshot before;
	struct flow f = {.c = -1};
	int want = cpus() < 2 ? 1 : 2, most = 0;
	struct pair p;
	pthread_t th;
	double end;

	require_network();
	leak_snapshot(&before);
	pair_seqpacket(&p);
	CHECK_EQ(tap_threads(), 1);
	tcp_connect_pair(&p, &f.c, &f.s);
	CHECK_EQ(pthread_create(&th, NULL, flow_main, &f), 0);
	/* until the second thread shows up, 30 s at most */
	for (end = now_s() + 30; most < want && now_s() < end;) {
		int n = tap_threads();

		if (n > most)
			most = n;
		sleep_ms(5);
	}
	atomic_store(&f.stop, 1);
	pthread_join(th, NULL);
	close(f.c);
	close(f.s);
	note("%d CPUs: %d reactor threads during the flow (%lld MB moved)",
	     cpus(), most, f.bytes >> 20);
	CHECK(f.bytes > 0);
	/* one stack each on two threads; never more than two stacks need */
	CHECK_EQ(most, want);
	/* and the pair still carries bytes exactly, the other way too */
	CHECK_EQ(tcp_transfer(p.b, "10.0.0.2", p.a, 4 << 20, 30), 4 << 20);
	pair_free(&p);
	CHECK_EQ(tap_threads(), 0);
	CHECK_NO_LEAK(before);
}

/* A connected UDP socket in @s to @dst:9; non-blocking. */
static int udp_to(struct vdestack *s, const char *src, const char *dst)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
	int fd = vde_msocket(s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	CHECK_MSG(fd >= 0, "vde_msocket: %m");
	CHECK_EQ(inet_pton(AF_INET, src, &a.sin_addr), 1);
	CHECK_OK(bind(fd, (struct sockaddr *)&a, sizeof(a)));
	CHECK_EQ(inet_pton(AF_INET, dst, &a.sin_addr), 1);
	CHECK_OK(connect(fd, (struct sockaddr *)&a, sizeof(a)));
	return fd;
}

/* One datagram @fa -> @fb and one back, within 10 s.  Return: 0 or -1. */
static int ping_pong(int fa, int fb)
{
	int from[2] = {fa, fb}, to[2] = {fb, fa};
	char c = 'x';

	for (int k = 0; k < 2; k++) {
		double end = now_s() + 10;

		for (;;) {
			if (now_s() > end)
				return -1;
			send(from[k], &c, 1, 0);
			sleep_ms(10);
			if (recv(to[k], &c, 1, 0) == 1)
				break;
		}
		while (recv(to[k], &c, 1, 0) == 1) /* the retries */
			;
	}
	return 0;
}

ISOLATED_TEST_T(test_reactor_delete_during_udp_flood_leaves_nothing, 180)
{
	struct leak_snapshot before;
	static char buf[1400];

	require_network();
	leak_snapshot(&before);
	for (int i = 0; i < 20; i++) {
		struct pair p;
		double end;
		long sent = 0, got = 0;
		int fa, fb;

		pair_seqpacket(&p);
		fa = udp_to(p.a, "10.0.0.1", "10.0.0.2");
		fb = udp_to(p.b, "10.0.0.2", "10.0.0.1");
		/* neighbours known first: a datagram crosses each way */
		CHECK_EQ(ping_pong(fa, fb), 0);
		/* both ways, long enough for a reactor to spill (10 ms
		 * windows) in some rounds and not in others */
		end = now_s() + 0.005 * (i % 10 + 1);
		while (now_s() < end) {
			if (send(fa, buf, sizeof(buf), 0) > 0)
				sent++;
			if (send(fb, buf, sizeof(buf), 0) > 0)
				sent++;
			while (recv(fb, buf, sizeof(buf), 0) > 0)
				got++;
		}
		if (i == 0)
			note("round 0: %ld datagrams sent, %ld received", sent,
			     got);
		/* frames are in the TAPs, the wire and the reactors now */
		vde_delstack(p.a);
		vde_delstack(p.b);
		close_if_same(p.wire[0], p.wire_id[0]);
		close_if_same(p.wire[1], p.wire_id[1]);
		close(fa);
		close(fb);
		CHECK_MSG(sent > 0, "round %d: nothing sent", i);
		CHECK_EQ(tap_threads(), 0);
	}
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_reactor_new_stack_in_forked_child_works)
{
	struct leak_snapshot before;
	struct pair p;
	int status;
	pid_t pid;

	require_network();
#if defined(__SANITIZE_THREAD__)
	/* it takes the child's new reactor for the parent's, whose id it
	 * reuses ("dup thread with used id"): threads after a fork() of a
	 * threaded process are beyond ThreadSanitizer */
	test_skip("threads in a fork()ed child of a threaded process");
#endif
	leak_snapshot(&before);
	pair_seqpacket(&p);
	CHECK_EQ(tap_threads(), 1);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* the parent's reactor did not come along: a new one */
		struct pair q;

		pair_seqpacket(&q);
		if (tap_threads() != 1 ||
		    tcp_transfer(q.a, "10.0.0.1", q.b, 1 << 20, 30) != 1 << 20)
			_exit(1);
		pair_free(&q);
		_exit(tap_threads() == 0 ? 0 : 2);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child: status 0x%x", status);
	/* and the parent's stacks went on meanwhile */
	CHECK_EQ(tcp_transfer(p.a, "10.0.0.1", p.b, 1 << 20, 30), 1 << 20);
	pair_free(&p);
	CHECK_NO_LEAK(before);
}

/* @n one-byte exchanges over TCP between the stacks of @p. */
static void tcp_ping_pong(struct pair *p, int n)
{
	int c, s, one = 1;
	char x = 'x';

	tcp_connect_pair(p, &c, &s);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int i = 0; i < n; i++) {
		CHECK_EQ(send(c, &x, 1, 0), 1);
		CHECK_EQ(recv(s, &x, 1, 0), 1);
		CHECK_EQ(send(s, &x, 1, 0), 1);
		CHECK_EQ(recv(c, &x, 1, 0), 1);
	}
	close(s);
	close(c);
}

/*
 * Request/response traffic makes the reactor spin briefly before it sleeps
 * (the answer usually comes within microseconds); once the traffic stops
 * it must sleep again, not poll on.
 */
ISOLATED_TEST(test_reactor_sleeps_once_traffic_stops)
{
	struct leak_snapshot before;
	int running = 0, samples = 100;
	struct pair p;

	require_network();
	leak_snapshot(&before);
	pair_seqpacket(&p);
	tcp_ping_pong(&p, 3000);
	sleep_ms(50);
	for (int i = 0; i < samples; i++) {
		CHECK_EQ(tap_threads_in(&running), 1);
		sleep_ms(2);
	}
	note("reactor seen running in %d of %d samples", running, samples);
	/* a reactor polling on would be seen running in most of them */
	CHECK(running <= samples / 10);
	/* and it still wakes up for traffic */
	tcp_ping_pong(&p, 10);
	pair_free(&p);
	CHECK_NO_LEAK(before);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reactor_idle_stacks_share_one_thread),
		cmocka_unit_test(test_reactor_bulk_flow_spreads_over_cpus),
		cmocka_unit_test(
			test_reactor_delete_during_udp_flood_leaves_nothing),
		cmocka_unit_test(test_reactor_new_stack_in_forked_child_works),
		cmocka_unit_test(test_reactor_sleeps_once_traffic_stops),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
