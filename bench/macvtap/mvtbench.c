// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mvtbench.c - TCP throughput of a macvtap stack against the veth limit
 *
 * usage: mvtbench [--seconds S] [--runs N] [--mtu M]   (as root)
 *
 * In a network namespace of its own it builds the LAN of the macvtap
 * tests: veth vh0 <-> vp0, vp0 holding 10.77.0.1/24.  It then measures,
 * alternately, N times each:
 *   macvtap: a stack on macvtap://vh0 (10.77.0.2) <-> a socket on vp0;
 *   veth:    a socket in a second namespace on one end of another veth
 *            pair <-> a socket on the other end: what the kernel does
 *            without us, the limit;
 * TCP bulk, one connection, S seconds, each direction, and prints the
 * medians in Gbit/s and their ratio (macvtap / veth).  A report, not a
 * test: it never judges the numbers.
 *
 * Build and run with bench/macvtap/run.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vdestack.h>

#define CHUNK (256 * 1024)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "mvtbench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		die("'%s' failed", cmd);
}

/**
 * struct flow - one timed TCP stream
 * @fd:		receiving socket
 * @seconds:	window
 * @bytes:	received within the window
 */
struct flow {
	int fd;
	double seconds;
	unsigned long long bytes;
};

static void *receiver(void *arg)
{
	struct flow *f = arg;
	static char buf[CHUNK];
	double end = now() + f->seconds;
	ssize_t n;

	while ((n = read(f->fd, buf, sizeof(buf))) > 0)
		if (now() < end)
			f->bytes += (unsigned long long)n;
	return NULL;
}

/*
 * gbits() - stream from a client @c (unconnected) to a listening @l at
 * @sa for @s seconds.  Return: Gbit/s received.
 */
static double gbits(int l, int c, const struct sockaddr_in *sa, double s)
{
	static char buf[CHUNK];
	struct flow f = {.seconds = s};
	pthread_t th;
	double t0;

	if (connect(c, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		die("connect: %s", strerror(errno));
	f.fd = accept(l, NULL, NULL);
	if (f.fd < 0)
		die("accept: %s", strerror(errno));
	pthread_create(&th, NULL, receiver, &f);
	t0 = now();
	while (now() < t0 + s + 0.1)
		if (write(c, buf, sizeof(buf)) < 0)
			die("write: %s", strerror(errno));
	close(c);
	pthread_join(th, NULL);
	close(f.fd);
	return (double)f.bytes * 8 / s / 1e9;
}

static int listener(int fd, const char *ip, int port, struct sockaddr_in *sa)
{
	int one = 1;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, ip, &sa->sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    listen(fd, 1) < 0)
		die("bind %s:%d: %s", ip, port, strerror(errno));
	return fd;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A second namespace B, with vb (10.78.0.2) facing va (10.78.0.1) in ours. */
static int veth_ns(int mtu)
{
	int p[2], nsfd, here;
	char path[64], c;
	pid_t pid;

	if (pipe(p) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		close(p[0]);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		die("cannot make a second namespace");
	close(p[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	sh("ip link add va mtu %d type veth peer name vb mtu %d netns %d", mtu,
	   mtu, pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	sh("ip link set va up && ip addr add 10.78.0.1/24 dev va");
	if (setns(nsfd, CLONE_NEWNET) < 0)
		die("setns: %s", strerror(errno));
	sh("ip link set lo up && ip link set vb up && "
	   "ip addr add 10.78.0.2/24 dev vb");
	setns(here, CLONE_NEWNET);
	close(here);
	return nsfd;
}

/* A TCP socket in namespace @nsfd (-1: ours). */
static int sock_ns(int nsfd)
{
	int here, fd;

	if (nsfd < 0)
		return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	setns(nsfd, CLONE_NEWNET);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setns(here, CLONE_NEWNET);
	close(here);
	return fd;
}

int main(int argc, char **argv)
{
	double secs = 3, res[4][64];
	int runs = 3, mtu = 1500, nsb, port = 6000, i, k;
	struct vdestack *s;
	struct sockaddr_in sa;
	static const char *const label[4] = {
		"macvtap  stack -> LAN",
		"macvtap  LAN -> stack",
		"veth     A -> B      ",
		"veth     B -> A      ",
	};

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mtu") && i + 1 < argc)
			mtu = atoi(argv[++i]);
		else
			die("usage: mvtbench [--seconds S] [--runs N] [--mtu "
			    "M]");
	}
	if (runs < 1 || runs > 64 || secs <= 0)
		die("--runs 1..64, --seconds > 0");
	if (geteuid() != 0)
		die("needs root (veth pairs and a macvtap)");
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare: %s", strerror(errno));
	sh("ip link set lo up && ip link add vh0 mtu %d type veth peer name "
	   "vp0 mtu %d && ip link set vh0 up && ip link set vp0 up && "
	   "ip addr add 10.77.0.1/24 dev vp0",
	   mtu, mtu);
	nsb = veth_ns(mtu);
	s = vde_addstack("macvtap://vh0", NULL);
	if (!s)
		die("vde_addstack(macvtap://vh0): %s", vde_stack_errmsg());
	if (vde_stack_config(s, "ip=10.77.0.2/24") < 0)
		die("vde_stack_config: %s", vde_stack_errmsg());

	for (k = 0; k < runs; k++) {
		/* the order flips each round, against drift */
		for (int j = 0; j < 4; j++) {
			int t = k % 2 ? 3 - j : j, l, c;

			port++;
			switch (t) {
			case 0:
				l = listener(socket(AF_INET, SOCK_STREAM, 0),
					     "10.77.0.1", port, &sa);
				c = vde_msocket(s, AF_INET, SOCK_STREAM, 0);
				break;
			case 1:
				l = listener(
					vde_msocket(s, AF_INET, SOCK_STREAM, 0),
					"10.77.0.2", port, &sa);
				c = socket(AF_INET, SOCK_STREAM, 0);
				break;
			case 2:
				l = listener(sock_ns(nsb), "10.78.0.2", port,
					     &sa);
				c = sock_ns(-1);
				break;
			default:
				l = listener(sock_ns(-1), "10.78.0.1", port,
					     &sa);
				c = sock_ns(nsb);
				break;
			}
			res[t][k] = gbits(l, c, &sa, secs);
			close(l);
		}
	}
	printf("TCP bulk, MTU %d, %d x %.1f s, median Gbit/s:\n", mtu, runs,
	       secs);
	for (i = 0; i < 4; i++)
		printf("  %s  %7.2f\n", label[i], median(res[i], runs));
	printf("  ratio macvtap/veth: stack -> LAN %.2f, LAN -> stack %.2f\n",
	       median(res[0], runs) / median(res[2], runs),
	       median(res[1], runs) / median(res[3], runs));
	vde_delstack(s);
	close(nsb);
	return 0;
}
