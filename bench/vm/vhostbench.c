// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vhostbench.c - packets per second through vhost-net and tap, same run
 *
 * DOC: Theory of Operation
 *
 * Two stacks of one backend joined by a seqpacket socketpair (the fastest
 * in-process wire; both backends then batch the VDE side with
 * recvmmsg/sendmmsg), 10.77.0.1 and 10.77.0.2.  A sender thread in one
 * stack, a receiver thread in the other:
 *
 *   udp   64-byte datagrams as fast as the sender can write them; the
 *         result is datagrams received per second (what the relay moved,
 *         not what the stack dropped at its own queue);
 *   tcp   one bulk TCP stream; the result is payload Mbit/s and the
 *         frames per second VDE carried (the sending stack's tx_frames:
 *         with offloads the stack itself sends fewer, larger packets).
 *
 * Each measurement warms up for a second, then counts over --seconds.
 * Backends alternate (tap, vhost-net, tap, ...) for --rounds rounds so
 * drift of the machine hits both alike; the median of each is reported,
 * and the ratio vhost-net / tap.  Meant for the vmtest VM (see
 * run-vm-bench.sh); it runs anywhere vhost-net is usable.
 *
 * Output: one "result" line per measurement and one "ratio" line per
 * test, key=value, for scripts.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vdestack.h>

#define ADDR_A "10.77.0.1"
#define ADDR_B "10.77.0.2"
#define PORT 5301
#define MAX_ROUNDS 15

static const char *const backends[] = {"tap", "vhost-net"};

struct cfg {
	double seconds;
	int rounds, mtu, payload, verbose;
	const char *vhost_opts; /* appended to backend=vhost-net */
};

struct run {
	int sfd, rfd;
	_Atomic int stop, counting;
	_Atomic uint64_t count; /* datagrams or bytes received */
	int udp;
	int payload;
};

/* Idle and total jiffies of all CPUs (/proc/stat): was the run CPU-bound? */
static void cpu_times(unsigned long long *idle, unsigned long long *total)
{
	unsigned long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "re");
	int i, n = 0;

	*idle = *total = 0;
	if (!f)
		return;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
		   &v[8], &v[9]);
	fclose(f);
	for (i = 0; i < n && i < 8; i++)
		*total += v[i];
	*idle = v[3] + v[4];
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "vhostbench: %s: %s (%s)\n", what, strerror(errno),
		vde_stack_errmsg());
	exit(1);
}

static void *sender(void *arg)
{
	struct run *r = arg;
	static char buf[65536];

	memset(buf, 0x5a, sizeof(buf));
	while (!atomic_load(&r->stop)) {
		ssize_t n = send(r->sfd, buf,
				 r->udp ? (size_t)r->payload : sizeof(buf),
				 MSG_NOSIGNAL);

		/* a UDP flood meets ENOBUFS at full queues: keep going */
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN &&
		    errno != EINTR && errno != ECONNREFUSED)
			break;
	}
	return NULL;
}

static void *receiver(void *arg)
{
	struct run *r = arg;
	static char buf[65536];

	while (!atomic_load(&r->stop)) {
		ssize_t n = recv(r->rfd, buf, sizeof(buf), 0);

		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			break;
		}
		if (atomic_load(&r->counting))
			atomic_fetch_add(&r->count, r->udp ? 1 : (uint64_t)n);
	}
	return NULL;
}

/* --verbose: where frames were lost, for one stack */
static void diag(struct vdestack *s, const char *who)
{
	struct vde_stack_stats st;
	struct ifaddrs *ifa, *i;
	char cmd[160], path[64];
	FILE *f;

	vde_stack_stats(s, &st, sizeof(st));
	fprintf(stderr,
		"  %s relay: rx %llu frames, tx %llu frames, dropped rx %llu "
		"tx %llu, errors %llu\n",
		who, (unsigned long long)st.rx_frames,
		(unsigned long long)st.tx_frames,
		(unsigned long long)st.rx_dropped,
		(unsigned long long)st.tx_dropped,
		(unsigned long long)st.errors);
	if (vde_stack_getifaddrs(s, &ifa) == 0) {
		for (i = ifa; i; i = i->ifa_next) {
			const struct rtnl_link_stats *k = i->ifa_data;

			if (!k || !i->ifa_addr ||
			    i->ifa_addr->sa_family != AF_PACKET ||
			    strcmp(i->ifa_name, "vde0"))
				continue;
			fprintf(stderr,
				"  %s TAP: rx %u tx %u packets, dropped rx %u "
				"tx %u\n",
				who, k->rx_packets, k->tx_packets,
				k->rx_dropped, k->tx_dropped);
		}
		vde_stack_freeifaddrs(ifa);
	}
	/* /proc/net/snmp shows the netns of the process reading it */
	snprintf(path, sizeof(path), "/tmp/vhostbench-snmp.%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "/bin/cp /proc/net/snmp %s", path);
	if (vde_stackcmd(s, cmd) == 0 && (f = fopen(path, "re"))) {
		char line[512];
		int n = 0;

		/* the second "Tcp:" line has the values; RetransSegs is the
		 * 12th of them */
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "Tcp:", 4) && ++n == 2) {
				char *p = line + 4;
				int k;

				for (k = 1; k < 12 && p; k++)
					p = strchr(p + 1, ' ');
				if (p)
					fprintf(stderr,
						"  %s TCP RetransSegs %ld\n",
						who, strtol(p, NULL, 10));
			}
		fclose(f);
	}
	unlink(path);
}

/**
 * measure() - one measurement on a fresh pair of @backend stacks
 * @c:		settings
 * @backend:	"tap" or "vhost-net"
 * @udp:	UDP flood (else TCP bulk)
 * @rate:	set to datagrams/s (UDP) or Mbit/s (TCP)
 * @fps:	set to frames/s VDE carried from the sender's stack
 * @idle:	set to the share of CPU time idle meanwhile, in percent
 */
static void measure(const struct cfg *c, const char *backend, int udp,
		    double *rate, double *fps, double *idle)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(PORT)};
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	struct vde_stack_stats s0, s1;
	struct vdestack *a, *b;
	char url[64], opts[160], cfg[64];
	pthread_t ts, tr;
	struct run r;
	unsigned long long i0, i1, j0, j1;
	double t0, t1;
	int w[2], lfd = -1, one = 1;

	memset(&r, 0, sizeof(r));
	r.udp = udp;
	r.payload = c->payload;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, w) < 0)
		die("socketpair");
	snprintf(opts, sizeof(opts), "backend=%s%s%s", backend,
		 strcmp(backend, "tap") && c->vhost_opts ? "," : "",
		 strcmp(backend, "tap") && c->vhost_opts ? c->vhost_opts : "");
	snprintf(url, sizeof(url), "seqpacket://%d", w[0]);
	a = vde_addstack_opt(url, NULL, opts);
	if (!a)
		die(opts);
	snprintf(url, sizeof(url), "seqpacket://%d", w[1]);
	b = vde_addstack_opt(url, NULL, opts);
	if (!b)
		die(opts);
	snprintf(cfg, sizeof(cfg), "ip=" ADDR_A "/24,mtu=%d", c->mtu);
	if (vde_stack_config(a, cfg) < 0)
		die(cfg);
	snprintf(cfg, sizeof(cfg), "ip=" ADDR_B "/24,mtu=%d", c->mtu);
	if (vde_stack_config(b, cfg) < 0)
		die(cfg);

	/* receiver in a, sender in b */
	inet_pton(AF_INET, ADDR_A, &sa.sin_addr);
	if (udp) {
		int big = 8 << 20;

		r.rfd = vde_msocket(a, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		r.sfd = vde_msocket(b, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (r.rfd < 0 || r.sfd < 0)
			die("vde_msocket");
		setsockopt(r.rfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		if (bind(r.rfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    connect(r.sfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("bind/connect");
	} else {
		lfd = vde_msocket(a, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r.sfd = vde_msocket(b, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || r.sfd < 0)
			die("vde_msocket");
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(lfd, 1) < 0 ||
		    connect(r.sfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("bind/listen/connect");
		r.rfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (r.rfd < 0)
			die("accept");
	}
	/* threads must notice stop even when nothing arrives */
	setsockopt(r.rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(r.sfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pthread_create(&tr, NULL, receiver, &r);
	pthread_create(&ts, NULL, sender, &r);
	usleep(1000000); /* warm-up: ARP, TCP window */
	vde_stack_stats(b, &s0, sizeof(s0));
	cpu_times(&i0, &j0);
	atomic_store(&r.counting, 1);
	t0 = now();
	usleep((useconds_t)(c->seconds * 1e6));
	atomic_store(&r.counting, 0);
	t1 = now();
	cpu_times(&i1, &j1);
	vde_stack_stats(b, &s1, sizeof(s1));
	*idle = j1 > j0 ? 100.0 * (double)(i1 - i0) / (double)(j1 - j0) : 0;
	atomic_store(&r.stop, 1);
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	if (c->verbose) {
		diag(b, "sender");
		diag(a, "receiver");
	}
	*rate = udp ? atomic_load(&r.count) / (t1 - t0)
		    : atomic_load(&r.count) * 8 / (t1 - t0) / 1e6;
	*fps = (double)(s1.tx_frames - s0.tx_frames) / (t1 - t0);
	close(r.sfd);
	close(r.rfd);
	if (lfd >= 0)
		close(lfd);
	vde_delstack(a);
	vde_delstack(b);
}

static int dcmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dcmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void bench(const struct cfg *c, int udp)
{
	double rate[2][MAX_ROUNDS], fps[2][MAX_ROUNDS], mr[2], mf[2], idle;
	const char *name = udp ? "udp" : "tcp";
	int i, k;

	for (i = 0; i < c->rounds; i++)
		for (k = 0; k < 2; k++) {
			measure(c, backends[k], udp, &rate[k][i], &fps[k][i],
				&idle);
			printf("result test=%s backend=%s round=%d mtu=%d "
			       "%s=%.1f vde_fps=%.0f idle=%.1f%%\n",
			       name, backends[k], i + 1, c->mtu,
			       udp ? "pps" : "mbit", rate[k][i], fps[k][i],
			       idle);
			fflush(stdout);
		}
	for (k = 0; k < 2; k++) {
		mr[k] = median(rate[k], c->rounds);
		mf[k] = median(fps[k], c->rounds);
	}
	printf("ratio test=%s mtu=%d payload=%d tap_%s=%.1f vhost_%s=%.1f "
	       "ratio=%.2f tap_vde_fps=%.0f vhost_vde_fps=%.0f "
	       "fps_ratio=%.2f\n",
	       name, c->mtu, udp ? c->payload : 0, udp ? "pps" : "mbit", mr[0],
	       udp ? "pps" : "mbit", mr[1], mr[0] > 0 ? mr[1] / mr[0] : 0,
	       mf[0], mf[1], mf[0] > 0 ? mf[1] / mf[0] : 0);
	fflush(stdout);
}

static void usage(int st)
{
	fprintf(st ? stderr : stdout,
		"usage: vhostbench [--seconds S] [--rounds N] [--mtu M] "
		"[--payload B] [--vhost-opts K=V,...] [--verbose] "
		"udp|tcp|all\n");
	exit(st);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"seconds", required_argument, NULL, 's'},
		{"rounds", required_argument, NULL, 'r'},
		{"mtu", required_argument, NULL, 'm'},
		{"payload", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"vhost-opts", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cfg c = {.seconds = 3, .rounds = 3, .mtu = 1500, .payload = 64};
	const char *what;
	int o;

	while ((o = getopt_long(argc, argv, "s:r:m:p:vo:h", lo, NULL)) != -1) {
		switch (o) {
		case 's':
			c.seconds = atof(optarg);
			break;
		case 'r':
			c.rounds = atoi(optarg);
			break;
		case 'm':
			c.mtu = atoi(optarg);
			break;
		case 'p':
			c.payload = atoi(optarg);
			break;
		case 'o':
			c.vhost_opts = optarg;
			break;
		case 'v':
			c.verbose = 1;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc - 1 || c.rounds < 1 || c.rounds > MAX_ROUNDS ||
	    c.seconds <= 0 || c.payload < 1 || c.payload > 65000)
		usage(2);
	what = argv[optind];
	if (!strcmp(what, "udp") || !strcmp(what, "all"))
		bench(&c, 1);
	if (!strcmp(what, "tcp") || !strcmp(what, "all"))
		bench(&c, 0);
	if (strcmp(what, "udp") && strcmp(what, "tcp") && strcmp(what, "all"))
		usage(2);
	return 0;
}
