// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tapbench.c - throughput and latency of the tap relay between two stacks
 *
 * A developer's tool, not part of the report of bench/run-bench.sh: two
 * stacks of this process joined by a SOCK_SEQPACKET socketpair
 * ("seqpacket://FD", the wire with the least overhead of its own), or by
 * switch:// + vde://, configured with vde_stack_config(), and one of
 *   tcp   TCP bulk A -> B for --seconds after a 1 s warm-up (Mbit/s)
 *   rr    1-byte TCP request/response (transactions/s, mean latency)
 *   udp   UDP datagrams of --size bytes A -> B (delivered/s)
 * The backend counters of both stacks are printed afterwards, so a run
 * that drops frames shows it.
 *
 * Built by scons (bench/SConscript) as build/release/bench/tapbench.
 * Run:   build/release/bench/tapbench tcp --mtu 1500
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vdestack.h>

static int mtu = 1500, seconds = 5, v6, size = 64;
static const char *net = "seqpacket";
static _Atomic int stop;
static _Atomic unsigned long long counted;
static _Atomic int counting;

static void die(const char *what)
{
	fprintf(stderr, "tapbench: %s: %s (%s)\n", what, strerror(errno),
		vde_stack_errmsg());
	exit(1);
}

/* CPU seconds this process used so far (all threads, user + system) */
static double cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static socklen_t addr_of(int b, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		inet_pton(AF_INET6, b ? "fd09::2" : "fd09::1", &s->sin6_addr);
		return sizeof(*s);
	} else {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, b ? "10.9.0.2" : "10.9.0.1", &s->sin_addr);
		return sizeof(*s);
	}
}

/* a connected pair: *c in stack @a, *s in stack @b */
static void tcp_pair(struct vdestack *a, struct vdestack *b, int *c, int *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = addr_of(1, 5301, &ss);
	int l, one = 1, tries;

	l = vde_msocket(b, v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	*c = vde_msocket(a, v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (l < 0 || *c < 0)
		die("vde_msocket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	for (tries = 0; bind(l, (void *)&ss, sl) < 0; tries++) {
		if (errno != EADDRNOTAVAIL || tries > 50)
			die("bind");
		usleep(100000);
	}
	if (listen(l, 1) < 0 || connect(*c, (void *)&ss, sl) < 0)
		die("connect");
	*s = accept(l, NULL, NULL);
	if (*s < 0)
		die("accept");
	close(l);
}

static void *tcp_sink(void *arg)
{
	static char buf[1 << 18];
	int fd = *(int *)arg;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (counting)
			counted += (unsigned long long)n;
	return NULL;
}

static void *tcp_source(void *arg)
{
	static char buf[1 << 17];
	int fd = *(int *)arg;

	memset(buf, 'x', sizeof(buf));
	while (!stop)
		if (write(fd, buf, sizeof(buf)) < 0)
			break;
	shutdown(fd, SHUT_WR);
	return NULL;
}

static void run_tcp(struct vdestack *a, struct vdestack *b)
{
	pthread_t t1, t2;
	int c, s;
	double t0, c0, mbps, cpus;

	tcp_pair(a, b, &c, &s);
	pthread_create(&t2, NULL, tcp_sink, &s);
	pthread_create(&t1, NULL, tcp_source, &c);
	sleep(1);
	counting = 1;
	t0 = now();
	c0 = cpu();
	sleep((unsigned int)seconds);
	counting = 0;
	mbps = counted * 8 / (now() - t0) / 1e6;
	cpus = (cpu() - c0) / (now() - t0);
	printf("tcp %s mtu %d: %.1f Mbit/s, %.2f CPUs, %.0f Mbit/s per CPU\n",
	       v6 ? "IPv6" : "IPv4", mtu, mbps, cpus, mbps / cpus);
	stop = 1;
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	close(c);
	close(s);
}

static void run_rr(struct vdestack *a, struct vdestack *b)
{
	double t0, end, c0;
	long n = 0;
	int c, s, one = 1;
	char x = 'x';

	tcp_pair(a, b, &c, &s);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now();
	c0 = cpu();
	end = t0 + seconds;
	while (now() < end) {
		if (write(c, &x, 1) != 1 || read(s, &x, 1) != 1 ||
		    write(s, &x, 1) != 1 || read(c, &x, 1) != 1)
			die("rr");
		n++;
	}
	printf("rr %s: %.0f trans/s, %.1f us, %.1f us CPU per transaction\n",
	       v6 ? "IPv6" : "IPv4", n / (now() - t0), (now() - t0) / n * 1e6,
	       (cpu() - c0) / n * 1e6);
	close(c);
	close(s);
}

static void *udp_sink(void *arg)
{
	static char buf[65536];
	int fd = *(int *)arg;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (!stop) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (recv(fd, buf, sizeof(buf), 0) > 0 && counting)
			counted++;
	}
	return NULL;
}

static void run_udp(struct vdestack *a, struct vdestack *b)
{
	struct sockaddr_storage ss;
	socklen_t sl = addr_of(1, 5302, &ss);
	static char buf[65536];
	unsigned long long sent = 0;
	int c, s, tries;
	pthread_t t;
	double t0, end;

	s = vde_msocket(b, v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	c = vde_msocket(a, v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || c < 0)
		die("vde_msocket");
	for (tries = 0; bind(s, (void *)&ss, sl) < 0; tries++) {
		if (errno != EADDRNOTAVAIL || tries > 50)
			die("bind");
		usleep(100000);
	}
	if (connect(c, (void *)&ss, sl) < 0)
		die("connect");
	pthread_create(&t, NULL, udp_sink, &s);
	counting = 1;
	t0 = now();
	end = t0 + seconds;
	while (now() < end)
		if (send(c, buf, (size_t)size, 0) > 0)
			sent++;
	usleep(200000);
	counting = 0;
	printf("udp %d bytes: %.0f sent/s, %.0f delivered/s\n", size,
	       sent / (end - t0), counted / (end - t0));
	stop = 1;
	pthread_join(t, NULL);
	close(c);
	close(s);
}

static void print_stats(const char *name, struct vdestack *s)
{
	struct vde_stack_stats st;

	if (vde_stack_stats(s, &st, sizeof(st)) < 0)
		return;
	printf("  %s: rx %llu frames %llu bytes, tx %llu frames %llu bytes, "
	       "dropped rx %llu tx %llu, errors %llu\n",
	       name, (unsigned long long)st.rx_frames,
	       (unsigned long long)st.rx_bytes,
	       (unsigned long long)st.tx_frames,
	       (unsigned long long)st.tx_bytes,
	       (unsigned long long)st.rx_dropped,
	       (unsigned long long)st.tx_dropped,
	       (unsigned long long)st.errors);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mtu", 1, NULL, 'm'}, {"seconds", 1, NULL, 's'},
		{"v6", 0, NULL, '6'},  {"size", 1, NULL, 'z'},
		{"net", 1, NULL, 'n'}, {NULL, 0, NULL, 0},
	};
	char ua[128], ub[128], ca[128], cb[128], dir[] = "/tmp/tapbench.XXXXXX";
	struct vdestack *a, *b;
	const char *mode;
	int o, w[2];

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			mtu = atoi(optarg);
			break;
		case 's':
			seconds = atoi(optarg);
			break;
		case '6':
			v6 = 1;
			break;
		case 'z':
			size = atoi(optarg);
			break;
		case 'n':
			net = optarg;
			break;
		default:
			fprintf(stderr, "usage: tapbench tcp|rr|udp [--mtu N] "
					"[--seconds S] [--v6] [--size B] "
					"[--net seqpacket|switch]\n");
			return 1;
		}
	}
	mode = optind < argc ? argv[optind] : "tcp";
	if (!strcmp(net, "switch")) {
		if (!mkdtemp(dir))
			die("mkdtemp");
		snprintf(ua, sizeof(ua), "switch://%s/sw", dir);
		snprintf(ub, sizeof(ub), "vde://%s/sw", dir);
	} else {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, w) <
		    0)
			die("socketpair");
		snprintf(ua, sizeof(ua), "seqpacket://%d", w[0]);
		snprintf(ub, sizeof(ub), "seqpacket://%d", w[1]);
	}
	a = vde_addstack(ua, NULL);
	if (!a)
		die("vde_addstack");
	b = vde_addstack(ub, NULL);
	if (!b)
		die("vde_addstack");
	snprintf(ca, sizeof(ca), "ip=10.9.0.1/24,ip6=fd09::1/64,mtu=%d", mtu);
	snprintf(cb, sizeof(cb), "ip=10.9.0.2/24,ip6=fd09::2/64,mtu=%d", mtu);
	if (vde_stack_config(a, ca) < 0 || vde_stack_config(b, cb) < 0)
		die("vde_stack_config");
	fprintf(stderr, "tapbench: backend %s, %s\n", vde_stack_backend(a), ua);
	if (!strcmp(mode, "rr"))
		run_rr(a, b);
	else if (!strcmp(mode, "udp"))
		run_udp(a, b);
	else
		run_tcp(a, b);
	print_stats("A", a);
	print_stats("B", b);
	vde_delstack(b);
	vde_delstack(a);
	if (!strcmp(net, "switch"))
		rmdir(dir);
	return 0;
}
