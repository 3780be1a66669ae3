// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wirebench.c - what the VDE wire alone costs the kernel, per frame
 *
 * A developer's tool, not part of bench/run-bench.sh's report, and not
 * linked with any libvdestack: it moves Ethernet-sized datagrams through
 * the same kind of socket the relay uses for a VDE network, as fast as
 * the kernel allows, with the relay's own calls (sendmmsg()/recvmmsg() in
 * bursts, a 2 MB send buffer), and nothing else: no TAP, no TCP, no
 * copy in user space.  What it reports is a ceiling for any relay on
 * that wire, and the CPU each frame costs there:
 *   --wire seqpacket   an AF_UNIX SOCK_SEQPACKET socketpair (seqpacket://)
 *   --wire ptp         two AF_UNIX datagram sockets bound to names, the
 *                      sender naming the peer in every message (ptp://)
 * One thread sends, the main thread receives; each blocks when it must,
 * so the CPU time is the wire's work, not spinning.
 *
 * Built by scons (bench/SConscript) as build/release/bench/wirebench.
 * Run:   build/release/bench/wirebench --wire seqpacket --size 1514
 * Output: one line of key=value pairs: frames_per_s, gbit_s (frame
 * bytes), cpu_ns_per_frame (user+system time of both threads per frame
 * received) and cpus_busy (that time over the window).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 256
#define FRAME_MAX 65536

static int size = 1514, batch = 64, seconds = 3, ptp;
static int txfd, rxfd;
static struct sockaddr_un me, peer;
static _Atomic int stop;
static char dir[] = "/tmp/wirebench.XXXXXX";

/* the ptp names and their directory, at any exit */
static void cleanup(void)
{
	if (me.sun_path[0])
		unlink(me.sun_path);
	if (peer.sun_path[0])
		unlink(peer.sun_path);
	if (me.sun_path[0])
		rmdir(dir);
}

static void fail(const char *what)
{
	fprintf(stderr, "wirebench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		fail("getrusage");
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void *sender(void *arg)
{
	static char frame[FRAME_MAX];
	struct mmsghdr msgs[BATCH_MAX];
	struct iovec iov = {.iov_base = frame, .iov_len = (size_t)size};
	int k;

	(void)arg;
	memset(frame, 0x5a, sizeof(frame));
	memset(msgs, 0, sizeof(msgs));
	for (k = 0; k < batch; k++) {
		msgs[k].msg_hdr.msg_iov = &iov;
		msgs[k].msg_hdr.msg_iovlen = 1;
		if (ptp) {
			msgs[k].msg_hdr.msg_name = &peer;
			msgs[k].msg_hdr.msg_namelen = sizeof(peer);
		}
	}
	while (!atomic_load(&stop))
		if (sendmmsg(txfd, msgs, (unsigned int)batch, 0) < 0 &&
		    errno != EINTR && errno != ENOBUFS && errno != EAGAIN)
			fail("sendmmsg");
	return NULL;
}

/* the two ends of the wire: txfd sends to rxfd */
static void open_wire(void)
{
	int sv[2], sz = 2 << 20;

	if (!ptp) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
			fail("socketpair");
		txfd = sv[0];
		rxfd = sv[1];
	} else {
		if (!mkdtemp(dir))
			fail("mkdtemp");
		atexit(cleanup);
		me.sun_family = peer.sun_family = AF_UNIX;
		snprintf(peer.sun_path, sizeof(peer.sun_path), "%s/b", dir);
		snprintf(me.sun_path, sizeof(me.sun_path), "%s/a", dir);
		txfd = socket(AF_UNIX, SOCK_DGRAM, 0);
		rxfd = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (txfd < 0 || rxfd < 0)
			fail("socket");
		if (bind(txfd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
		    bind(rxfd, (struct sockaddr *)&peer, sizeof(peer)) < 0)
			fail("bind");
	}
	/* as the relay does (tap.c WIRE_SNDBUF), capped by wmem_max */
	if (setsockopt(txfd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(txfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: wirebench [--wire seqpacket|ptp] [--size BYTES] "
		   "[--batch N] [--seconds S]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"wire", required_argument, NULL, 'w'},
		{"size", required_argument, NULL, 's'},
		{"batch", required_argument, NULL, 'b'},
		{"seconds", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static char buf[BATCH_MAX][FRAME_MAX];
	static struct mmsghdr msgs[BATCH_MAX];
	static struct iovec iov[BATCH_MAX];
	unsigned long long frames = 0, bytes = 0;
	double t0 = 0, c0 = 0, t1, c1;
	int o, k, n, measuring = 0;
	pthread_t th;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'w':
			if (strcmp(optarg, "seqpacket") && strcmp(optarg, "ptp")) {
				usage(stderr);
				return 1;
			}
			ptp = !strcmp(optarg, "ptp");
			break;
		case 's':
			size = atoi(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		case 't':
			seconds = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc || size < 60 || size > FRAME_MAX || batch < 1 ||
	    batch > BATCH_MAX || seconds < 1) {
		usage(stderr);
		return 1;
	}
	open_wire();
	for (k = 0; k < batch; k++) {
		iov[k].iov_base = buf[k];
		iov[k].iov_len = FRAME_MAX;
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
	}
	errno = pthread_create(&th, NULL, sender, NULL);
	if (errno)
		fail("pthread_create");
	/* half a second to warm up, then the window */
	t1 = now_s() + 0.5;
	for (;;) {
		n = recvmmsg(rxfd, msgs, (unsigned int)batch, MSG_WAITFORONE,
			     NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("recvmmsg");
		if (measuring) {
			frames += (unsigned int)n;
			for (k = 0; k < n; k++)
				bytes += msgs[k].msg_len;
		}
		if (now_s() < t1)
			continue;
		if (measuring)
			break;
		measuring = 1;
		t0 = now_s();
		c0 = cpu_s();
		t1 = t0 + seconds;
	}
	t1 = now_s();
	c1 = cpu_s();
	atomic_store(&stop, 1);
	/* unblock a sender waiting for room */
	while (recv(rxfd, buf[0], FRAME_MAX, MSG_DONTWAIT) > 0)
		;
	shutdown(rxfd, SHUT_RDWR);
	close(rxfd);
	pthread_join(th, NULL);
	printf("metric=wire net=%s size=%d batch=%d seconds=%d "
	       "frames_per_s=%.0f gbit_s=%.2f cpu_ns_per_frame=%.0f "
	       "cpus_busy=%.2f\n",
	       ptp ? "ptp" : "seqpacket", size, batch, seconds,
	       (double)frames / (t1 - t0),
	       (double)bytes * 8 / (t1 - t0) / 1e9,
	       frames ? (c1 - c0) * 1e9 / (double)frames : 0.0,
	       (c1 - c0) / (t1 - t0));
	return 0;
}
