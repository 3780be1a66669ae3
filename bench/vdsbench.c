// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vdsbench.c - benchmark of the libvdestack seed API
 *
 * DOC: Theory of Operation
 *
 * One program, built twice from this source: once against Debian's
 * libvdestack 0.1.2 and once against ours.  The comparable part uses only the
 * five seed functions (vde_addstack, vde_delstack, vde_stackcmd, vde_msocket,
 * vde_default_stack) and configures stacks with vde_stackcmd("/bin/ip ..."),
 * the only configuration upstream offers.
 *
 * Each subcommand measures one thing and prints one result line of
 * key=value pairs, starting with "metric=", for bench/run-bench.sh to parse.
 *
 * Data-path metrics (tcp, rr, udp) use two stacks in this process, A
 * (10.77.0.1) and B (10.77.0.2), joined by one of:
 *   seqpacket  a socketpair, "seqpacket://FD" on each side;
 *   switch     "switch://DIR/sw" on A (the libvdeplug in-process switch)
 *              and "vde://DIR/sw" on B;
 *   ptp        "ptp://DIR/ptp" on both sides;
 *   veth       no libvdestack at all: two plain network namespaces joined by
 *              a veth pair, the kernel's limit (needs CAP_SYS_ADMIN and
 *              CAP_NET_ADMIN, i.e. root).
 * Sender and receiver are threads of this process; sockets are made before
 * the threads start.  A measurement warms up, then counts what the receiver
 * got over a fixed window, so a stalled link reads as a low number, not as
 * a hang.
 *
 * The cpu metric is the tcp loop with a sender paced to a fixed rate: it
 * reads the CPU time spent over the same window by this process and its
 * helper processes (getrusage() and /proc/PID/task/TID/schedstat) and by the
 * whole machine (/proc/stat: kernel threads included, but also whatever
 * else runs), and divides each by the megabytes received.  The value is the
 * first: on a shared machine the second is mostly other people's work.
 *
 * Upstream 0.1.2 shares the creating thread's TLS with its helper and
 * crashes if that thread exits: every stack is created by the main thread.
 * It also hangs on several errors: a watchdog thread prints
 * "status=hang where=..." and exits 3 when the run exceeds --timeout, or
 * when a step makes no progress for --stall seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <dlfcn.h>
#include <ftw.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

#include <vdestack.h>

extern char **environ;

#define ADDR_A "10.77.0.1"
#define ADDR_B "10.77.0.2"
#define PORT_TCP 5201
#define PORT_UDP 5202
#define IO_TIMEOUT_MS 200

/* Command-line settings shared by all subcommands. */
struct cfg {
	const char *net;
	int mtu;
	double seconds;
	double rate_mbit;
	long iterations;
	long resident_mib;
	long stacks;
	long max;
	double timeout;
	double stall;
	int size;
	long nofile;
};

static struct cfg cfg = {
	.net = "seqpacket",
	.mtu = 1500,
	.seconds = 5,
	.rate_mbit = 100,
	.iterations = 0,
	.resident_mib = 0,
	.stacks = 50,
	.max = 2000,
	.timeout = 50,
	.stall = 0,
	.size = 64,
	.nofile = 0,
};

static const char *metric = "none";
static const char *backend = "-";
static const char *ip_path;
static char tmpdir[PATH_MAX];

/* ---- time, output, failure ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* sleep_until() - sleep until now() reads @t. */
static void sleep_until(double t)
{
	struct timespec ts = {(time_t)t, (long)((t - (time_t)t) * 1e9)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/*
 * lib_path() - the file that provides vde_addstack in this process, so the
 * driver can check that each binary ran against the library it meant.
 */
static const char *lib_path(void)
{
	static char path[PATH_MAX];
	Dl_info info;

	if (!dladdr((void *)vde_addstack, &info) || !info.dli_fname)
		return "unknown";
	if (!realpath(info.dli_fname, path))
		snprintf(path, sizeof(path), "%s", info.dli_fname);
	return path;
}

/*
 * emit() - print the result line: "metric=NAME net=.. <fields> status=ok".
 * @fmt: printf format of the metric-specific key=value fields
 */
static void emit(const char *fmt, ...)
{
	char body[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	printf("metric=%s net=%s %s backend=%s status=ok lib=%s\n", metric,
	       cfg.net, body, backend, lib_path());
	fflush(stdout);
}

/*
 * fail() - print "status=error reason=..." and exit 2.  Never returns.
 * @fmt: printf format of the reason (no quotes or newlines)
 */
static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	printf("metric=%s net=%s status=error reason=\"%s\" lib=%s\n", metric,
	       cfg.net, reason, lib_path());
	fflush(stdout);
	_exit(2);
}

/* ---- watchdog ---- */

static struct {
	pthread_mutex_t lock;
	char where[160];
	char partial[160];
	double start;
	double last_progress;
} wd = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*
 * wd_step() - record what the main thread is about to do (for a hang
 * report) and that it made progress.
 * @fmt: printf format of the step description
 */
static void __attribute__((format(printf, 1, 2))) wd_step(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&wd.lock);
	va_start(ap, fmt);
	vsnprintf(wd.where, sizeof(wd.where), fmt, ap);
	va_end(ap);
	wd.last_progress = now();
	pthread_mutex_unlock(&wd.lock);
}

/*
 * wd_partial() - key=value fields to print with a hang report (e.g. how
 * many stacks were made before the one that hung).
 * @fmt: printf format
 */
static void __attribute__((format(printf, 1, 2)))
wd_partial(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&wd.lock);
	va_start(ap, fmt);
	vsnprintf(wd.partial, sizeof(wd.partial), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&wd.lock);
}

static void *wd_thread(void *arg)
{
	char line[600];
	int n;

	for (;;) {
		double t;
		int total, stalled;

		sleep_s(0.2);
		t = now();
		pthread_mutex_lock(&wd.lock);
		total = t - wd.start > cfg.timeout;
		stalled = cfg.stall > 0 && t - wd.last_progress > cfg.stall;
		if (total || stalled) {
			n = snprintf(line, sizeof(line),
				     "metric=%s net=%s status=hang "
				     "where=\"%s\" after_s=%.1f %s lib=%s\n",
				     metric, cfg.net, wd.where, t - wd.start,
				     wd.partial, lib_path());
			/* No stdio here: the main thread may hold its lock. */
			if (write(STDOUT_FILENO, line, n) < 0)
				_exit(4);
			_exit(3);
		}
		pthread_mutex_unlock(&wd.lock);
	}
	return NULL;
}

static void wd_start(void)
{
	pthread_t t;

	wd.start = wd.last_progress = now();
	snprintf(wd.where, sizeof(wd.where), "start");
	if (pthread_create(&t, NULL, wd_thread, NULL))
		fail("pthread_create(watchdog) failed");
	pthread_detach(t);
}

/* ---- helpers ---- */

static const char *find_ip(void)
{
	static const char *const cand[] = {"/bin/ip", "/sbin/ip",
					   "/usr/sbin/ip", "/usr/bin/ip"};
	size_t i;

	for (i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return NULL;
}

/*
 * stack_cmd() - vde_stackcmd() with printf formatting; failure is fatal.
 * @s:   stack
 * @fmt: command line (absolute path, no shell)
 */
static void __attribute__((format(printf, 2, 3)))
stack_cmd(struct vdestack *s, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rv;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	wd_step("vde_stackcmd(\\\"%s\\\")", cmd);
	rv = vde_stackcmd(s, cmd);
	if (rv != 0)
		fail("vde_stackcmd(%s) returned %d", cmd, rv);
}

/*
 * resident() - allocate and touch @mib MiB in 4 KiB pages (no THP), to model
 * an application with a large resident heap.
 * @mib: size; 0 does nothing
 */
static void resident(long mib)
{
	size_t len = (size_t)mib << 20, off;
	char *p;

	if (mib <= 0)
		return;
	wd_step("touching %ld MiB", mib);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		fail("mmap(%ld MiB): %s", mib, strerror(errno));
	madvise(p, len, MADV_NOHUGEPAGE);
	for (off = 0; off < len; off += 4096)
		p[off] = 1;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* set_nofile() - set the soft RLIMIT_NOFILE to @n (-1: the hard limit). */
static void set_nofile(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur =
		n < 0 || (rlim_t)n > rl.rlim_max ? rl.rlim_max : (rlim_t)n;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail("setrlimit(RLIMIT_NOFILE, %ld): %s", n, strerror(errno));
}

static long nofile(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void tmpdir_make(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/vdsbench.XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		fail("mkdtemp(%s): %s", tmpdir, strerror(errno));
}

static void tmpdir_remove(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = 0;
}

/*
 * note_backend() - remember which forwarding backend @s uses, for the
 * result line.  Only our library can say (VDESTACK_VERSION is defined by our
 * header alone); this is reporting, outside the comparable part.
 */
static void note_backend(struct vdestack *s)
{
#ifdef VDESTACK_VERSION
	const char *b = vde_stack_backend(s);

	backend = b ? b : "?";
#else
	backend = "upstream";
#endif
}

/*
 * single_stack() - one stack on a socketpair whose other end this process
 * keeps (and never reads), for the control-path metrics.
 * @peer: set to the kept end; close it after vde_delstack()
 *
 * Return: the stack; failure is fatal.  The stack owns the fd it was given
 * (the seqpacket plugin closes it in vde_close()), so it is never closed
 * here.
 */
static struct vdestack *single_stack(int *peer)
{
	char url[64];
	struct vdestack *s;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair: %s", strerror(errno));
	snprintf(url, sizeof(url), "seqpacket://%d", sv[0]);
	wd_step("vde_addstack(%s)", url);
	s = vde_addstack(url, NULL);
	if (!s)
		fail("vde_addstack(%s): %s", url, strerror(errno));
	note_backend(s);
	*peer = sv[1];
	return s;
}

/* ---- two endpoints: stacks or veth namespaces ---- */

/* Two endpoints A and B with one interface each, addresses ADDR_A/ADDR_B. */
struct pair {
	int veth;
	struct vdestack *s[2];
	int ns[2];
	int hostns;
};

/*
 * run_ip_in() - run "ip ARGS..." inside network namespace @nsfd.
 * @nsfd: namespace fd, or -1 for the current one
 * @fmt:  arguments, split at blanks
 */
static void __attribute__((format(printf, 2, 3)))
run_ip_in(int nsfd, const char *fmt, ...)
{
	char line[512], *argv[32], *save = NULL, *tok;
	int argc = 0, status;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	wd_step("ip %s", line);
	argv[argc++] = (char *)ip_path;
	for (tok = strtok_r(line, " ", &save); tok && argc < 31;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		execv(ip_path, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fail("ip %s: failed (status 0x%x)", fmt, status);
}

/*
 * new_netns() - a fresh anonymous network namespace, as an fd.
 * @hostns: fd of the namespace to return to
 *
 * Context: main thread; it enters the new namespace only for the moment of
 * unshare() and returns to @hostns.  Nothing is named, so the namespaces die
 * with their last fd or socket.
 */
static int new_netns(int hostns)
{
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		fail("veth reference needs root: unshare(CLONE_NEWNET): %s",
		     strerror(errno));
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open netns: %s", strerror(errno));
	if (setns(hostns, CLONE_NEWNET) < 0)
		fail("setns(host): %s", strerror(errno));
	return fd;
}

static void pair_open_veth(struct pair *p)
{
	char peerns[64];
	int flags, i;

	p->veth = 1;
	p->hostns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->hostns < 0)
		fail("open netns: %s", strerror(errno));
	p->ns[0] = new_netns(p->hostns);
	p->ns[1] = new_netns(p->hostns);
	/* ip opens the peer namespace by path: give it a non-CLOEXEC dup. */
	flags = fcntl(p->ns[1], F_GETFD);
	fcntl(p->ns[1], F_SETFD, flags & ~FD_CLOEXEC);
	snprintf(peerns, sizeof(peerns), "/proc/self/fd/%d", p->ns[1]);
	run_ip_in(p->ns[0], "link add vdsb0 type veth peer name vdsb1 netns %s",
		  peerns);
	fcntl(p->ns[1], F_SETFD, flags);
	for (i = 0; i < 2; i++) {
		run_ip_in(p->ns[i], "link set lo up");
		run_ip_in(p->ns[i], "link set vdsb%d mtu %d", i, cfg.mtu);
		run_ip_in(p->ns[i], "addr add %s/24 dev vdsb%d",
			  i ? ADDR_B : ADDR_A, i);
		run_ip_in(p->ns[i], "link set vdsb%d up", i);
	}
}

static void pair_open(struct pair *p)
{
	char url[2][PATH_MAX + 16];
	int sv[2], i;

	memset(p, 0, sizeof(*p));
	p->ns[0] = p->ns[1] = p->hostns = -1;
	if (!strcmp(cfg.net, "veth")) {
		pair_open_veth(p);
		return;
	}
	if (!strcmp(cfg.net, "seqpacket")) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) <
		    0)
			fail("socketpair: %s", strerror(errno));
		/* Each stack owns its end from now on (see single_stack()). */
		snprintf(url[0], sizeof(url[0]), "seqpacket://%d", sv[0]);
		snprintf(url[1], sizeof(url[1]), "seqpacket://%d", sv[1]);
	} else if (!strcmp(cfg.net, "switch")) {
		tmpdir_make();
		snprintf(url[0], sizeof(url[0]), "switch://%s/sw", tmpdir);
		snprintf(url[1], sizeof(url[1]), "vde://%s/sw", tmpdir);
	} else if (!strcmp(cfg.net, "ptp")) {
		tmpdir_make();
		snprintf(url[0], sizeof(url[0]), "ptp://%s/ptp", tmpdir);
		snprintf(url[1], sizeof(url[1]), "ptp://%s/ptp", tmpdir);
	} else {
		fail("unknown --net %s (seqpacket, switch, ptp, veth)",
		     cfg.net);
	}
	for (i = 0; i < 2; i++) {
		wd_step("vde_addstack(%s)", url[i]);
		p->s[i] = vde_addstack(url[i], NULL);
		if (!p->s[i])
			fail("vde_addstack(%s): %s", url[i], strerror(errno));
		note_backend(p->s[i]);
	}
	for (i = 0; i < 2; i++) {
		stack_cmd(p->s[i], "%s link set lo up", ip_path);
		stack_cmd(p->s[i], "%s link set vde0 mtu %d", ip_path, cfg.mtu);
		stack_cmd(p->s[i], "%s addr add %s/24 dev vde0", ip_path,
			  i ? ADDR_B : ADDR_A);
		stack_cmd(p->s[i], "%s link set vde0 up", ip_path);
	}
}

/*
 * pair_socket() - a socket in endpoint @side, with IO_TIMEOUT_MS send and
 * receive timeouts so that worker loops notice the stop flag.
 * @p:    endpoints
 * @side: 0 (A) or 1 (B)
 * @type: SOCK_STREAM or SOCK_DGRAM
 */
static int pair_socket(struct pair *p, int side, int type)
{
	struct timeval tv = {0, IO_TIMEOUT_MS * 1000};
	int fd;

	wd_step("socket in endpoint %c", 'A' + side);
	if (p->veth) {
		if (setns(p->ns[side], CLONE_NEWNET) < 0)
			fail("setns: %s", strerror(errno));
		fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
		if (setns(p->hostns, CLONE_NEWNET) < 0)
			fail("setns(host): %s", strerror(errno));
	} else {
		fd = vde_msocket(p->s[side], AF_INET, type | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		fail("socket in endpoint %c: %s", 'A' + side, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void pair_close(struct pair *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (p->s[i]) {
			wd_step("vde_delstack(%c)", 'A' + i);
			vde_delstack(p->s[i]);
		}
		if (p->ns[i] >= 0)
			close(p->ns[i]);
	}
	if (p->hostns >= 0)
		close(p->hostns);
	tmpdir_remove();
}

static struct sockaddr_in sin_of(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port)};

	inet_pton(AF_INET, addr, &sa.sin_addr);
	return sa;
}

/*
 * tcp_connect() - a connected TCP pair: client in A, accepted socket in B.
 * @p:   endpoints
 * @cli: set to the client socket
 * @srv: set to the accepted socket
 *
 * Retries for 10 s: the first SYN may wait for ARP while links come up.
 */
static void tcp_connect(struct pair *p, int *cli, int *srv)
{
	struct sockaddr_in sa = sin_of(ADDR_B, PORT_TCP);
	int one = 1, lfd, fd = -1;
	double t0 = now();

	lfd = pair_socket(p, 1, SOCK_STREAM);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4) < 0)
		fail("bind/listen %s: %s", ADDR_B, strerror(errno));
	for (;;) {
		fd = pair_socket(p, 0, SOCK_STREAM);
		wd_step("connect %s:%d", ADDR_B, PORT_TCP);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (now() - t0 > 10)
			fail("connect %s: %s", ADDR_B, strerror(errno));
		close(fd);
		sleep_s(0.1);
	}
	wd_step("accept");
	while ((*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		if ((errno != EAGAIN && errno != EINTR) || now() - t0 > 10)
			fail("accept: %s", strerror(errno));
	close(lfd);
	*cli = fd;
}

/* ---- CPU accounting ---- */

#define CPU_WATCH_MAX 256

/* CPU time used up to one moment. */
struct cpu_use {
	double t;
	unsigned long long busy;  /* /proc/stat, all CPUs: not idle, ticks */
	unsigned long long total; /* all ticks, idle and iowait included */
	double self_s;		  /* this process, all its threads */
	double pid_s[CPU_WATCH_MAX];
};

/*
 * A measuring window and the other processes it watches: pid[0..nhelpers)
 * are this process's descendants (helpers), pid[nhelpers..n) the ksoftirqd
 * threads (softirq work the kernel deferred, ours or anyone's).
 */
struct cpu_window {
	long n, nhelpers;
	pid_t pid[CPU_WATCH_MAX];
	struct cpu_use start, end;
};

static long descendants(pid_t *out, long max);

/* cpu_watch() - list the processes @w watches: call before the window. */
static void cpu_watch(struct cpu_window *w)
{
	char path[64], comm[32];
	struct dirent *de;
	DIR *d;
	int fd;

	w->n = w->nhelpers = descendants(w->pid, CPU_WATCH_MAX);
	d = opendir("/proc");
	if (!d)
		fail("opendir /proc: %s", strerror(errno));
	while ((de = readdir(d)) && w->n < CPU_WATCH_MAX) {
		pid_t pid = atoi(de->d_name);
		ssize_t len;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (len > 10 && !strncmp(comm, "ksoftirqd/", 10))
			w->pid[w->n++] = pid;
	}
	closedir(d);
}

/*
 * proc_runtime_s() - CPU seconds all live threads of process @pid have run
 * so far: the scheduler's runtime in ns, not the 10 ms ticks of
 * /proc/PID/stat (a helper may use only a few ticks in a window).
 *
 * Return: seconds, or -1 if the process is gone.
 */
static double proc_runtime_s(pid_t pid)
{
	unsigned long long ns;
	char path[96];
	struct dirent *de;
	double s = 0;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat",
			 pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			s += ns / 1e9;
		fclose(f);
	}
	closedir(d);
	return s;
}

/*
 * cpu_sample() - read the CPU time used so far by the machine, this process
 * and the helpers of @w into @u.
 */
static void cpu_sample(const struct cpu_window *w, struct cpu_use *u)
{
	/* user nice system idle iowait irq softirq steal (guest is in user) */
	unsigned long long v[8] = {0};
	struct rusage ru;
	FILE *f;
	long i;
	int n;

	u->t = now();
	for (i = 0; i < w->n; i++)
		u->pid_s[i] = proc_runtime_s(w->pid[i]);
	f = fopen("/proc/stat", "re");
	if (!f)
		fail("/proc/stat: %s", strerror(errno));
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 4)
		fail("/proc/stat: no cpu line");
	u->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	u->busy = u->total - v[3] - v[4];
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		fail("getrusage: %s", strerror(errno));
	u->self_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * cpu_spent() - CPU seconds watched processes @from..@to-1 of @w used in
 * the window.
 * @gone: incremented for each that was gone at either end (not counted)
 */
static double cpu_spent(const struct cpu_window *w, long from, long to,
			long *gone)
{
	double s = 0;
	long i;

	for (i = from; i < to; i++) {
		if (w->start.pid_s[i] < 0 || w->end.pid_s[i] < 0)
			(*gone)++;
		else
			s += w->end.pid_s[i] - w->start.pid_s[i];
	}
	return s;
}

/* ---- data-path workers ---- */

static atomic_int stop;
static atomic_ullong counted;
static atomic_ullong sent;

static int transient(ssize_t n)
{
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			 errno == EINTR || errno == ENOBUFS);
}

static void *tcp_sender(void *arg)
{
	static char buf[128 * 1024];
	int fd = *(int *)arg;

	memset(buf, 0x5a, sizeof(buf));
	while (!stop) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);

		if (n < 0 && !transient(n))
			break;
	}
	return NULL;
}

#define PACE_CHUNK (64 * 1024)
#define PACE_SLACK 0.05

/*
 * paced_sender() - TCP sender of PACE_CHUNK sends at --rate-mbit on
 * average: it sleeps until the bytes sent so far are due.  After a stall
 * it catches up at most PACE_SLACK seconds' worth in a burst; a link that
 * cannot keep up shows as a lower achieved rate, not as a longer burst.
 */
static void *paced_sender(void *arg)
{
	static char buf[PACE_CHUNK];
	double bps = cfg.rate_mbit * 1e6 / 8, t0 = now();
	unsigned long long done = 0;
	int fd = *(int *)arg;

	memset(buf, 0x5a, sizeof(buf));
	while (!stop) {
		double due = t0 + done / bps, t = now();
		ssize_t n;

		if (due > t) {
			sleep_until(due);
			continue;
		}
		if (t - due > PACE_SLACK)
			t0 += t - due - PACE_SLACK;
		n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
		if (n > 0)
			done += n;
		else if (!transient(n))
			break;
	}
	return NULL;
}

static void *tcp_receiver(void *arg)
{
	static char buf[256 * 1024];
	int fd = *(int *)arg;

	while (!stop) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n > 0)
			counted += n;
		else if (n == 0 || !transient(n))
			break;
	}
	return NULL;
}

/* rr_client() - 1-byte request, wait for the 1-byte answer, count. */
static void *rr_client(void *arg)
{
	int fd = *(int *)arg;
	char c = 'q';

	while (!stop) {
		ssize_t n = send(fd, &c, 1, MSG_NOSIGNAL);

		if (n < 0) {
			if (transient(n))
				continue;
			break;
		}
		for (;;) {
			n = recv(fd, &c, 1, 0);
			if (n == 1 || !transient(n) || stop)
				break;
		}
		if (n != 1)
			break;
		counted++;
	}
	return NULL;
}

static void *rr_server(void *arg)
{
	int fd = *(int *)arg;
	char c;

	while (!stop) {
		ssize_t n = recv(fd, &c, 1, 0);

		if (transient(n))
			continue;
		if (n != 1)
			break;
		do
			n = send(fd, &c, 1, MSG_NOSIGNAL);
		while (transient(n) && !stop);
		if (n != 1)
			break;
	}
	return NULL;
}

#define UDP_BATCH 64

static void *udp_sender(void *arg)
{
	static char buf[UDP_BATCH][2048];
	struct mmsghdr msg[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	int fd = *(int *)arg, i;

	memset(msg, 0, sizeof(msg));
	for (i = 0; i < UDP_BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = cfg.size;
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (!stop) {
		int n = sendmmsg(fd, msg, UDP_BATCH, 0);

		if (n > 0)
			sent += n;
		else if (!transient(n) && errno != ECONNREFUSED)
			break;
	}
	return NULL;
}

static void *udp_receiver(void *arg)
{
	static char buf[UDP_BATCH][2048];
	struct mmsghdr msg[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	int fd = *(int *)arg, i;

	memset(msg, 0, sizeof(msg));
	for (i = 0; i < UDP_BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (!stop) {
		int n = recvmmsg(fd, msg, UDP_BATCH, MSG_WAITFORONE, NULL);

		if (n > 0)
			counted += n;
		else if (!transient(n))
			break;
	}
	return NULL;
}

/*
 * measure() - run two workers, count over a window after a warm-up.
 * @fa, @fb: worker functions, given &fds[0] and &fds[1]
 * @fds:     their sockets
 * @rate:    set to counted units per second over the window
 * @srate:   set to sent units per second (the udp sender), or 0
 * @cpu:     if not NULL, the CPU time at the start and end of the window
 */
static void measure(void *(*fa)(void *), void *(*fb)(void *), int fds[2],
		    double *rate, double *srate, struct cpu_window *cpu)
{
	double warm = cfg.seconds * 0.2 > 1 ? 1 : cfg.seconds * 0.2;
	unsigned long long c0, c1, s0, s1;
	pthread_t ta, tb;
	double t0, t1;

	stop = 0;
	counted = sent = 0;
	if (pthread_create(&ta, NULL, fa, &fds[0]) ||
	    pthread_create(&tb, NULL, fb, &fds[1]))
		fail("pthread_create failed");
	wd_step("warm-up");
	sleep_s(warm);
	c0 = counted;
	s0 = sent;
	t0 = now();
	if (cpu)
		cpu_sample(cpu, &cpu->start);
	wd_step("measuring");
	sleep_s(cfg.seconds);
	c1 = counted;
	s1 = sent;
	t1 = now();
	if (cpu)
		cpu_sample(cpu, &cpu->end);
	stop = 1;
	wd_step("joining workers");
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	*rate = (c1 - c0) / (t1 - t0);
	*srate = (s1 - s0) / (t1 - t0);
}

/* ---- subcommands ---- */

/* A TCP connection A->B between two endpoints. */
struct tcp_run {
	struct pair p;
	int fds[2];
};

/*
 * tcp_run() - open the endpoints, connect A->B, measure a bulk transfer.
 * @r:      set up here; close with tcp_run_close() after emit()
 * @sender: worker for A (tcp_sender or paced_sender)
 * @cpu:    as for measure()
 *
 * Return: bytes per second received by B over the window.
 */
static double tcp_run(struct tcp_run *r, void *(*sender)(void *),
		      struct cpu_window *cpu)
{
	double rate, srate;
	int one = 1;

	pair_open(&r->p);
	tcp_connect(&r->p, &r->fds[0], &r->fds[1]);
	setsockopt(r->fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cpu)
		cpu_watch(cpu);
	measure(sender, tcp_receiver, r->fds, &rate, &srate, cpu);
	return rate;
}

static void tcp_run_close(struct tcp_run *r)
{
	close(r->fds[0]);
	close(r->fds[1]);
	pair_close(&r->p);
}

static int cmd_tcp(void)
{
	struct tcp_run r;
	double rate = tcp_run(&r, tcp_sender, NULL);

	emit("mtu=%d seconds=%g value=%.1f unit=Mbit/s", cfg.mtu, cfg.seconds,
	     rate * 8 / 1e6);
	tcp_run_close(&r);
	return 0;
}

/*
 * cmd_cpu() - CPU milliseconds per megabyte (10^6 bytes) received, TCP A->B
 * paced at --rate-mbit.
 *
 * value (proc_): this process, all its threads (softirq work done in their
 * context included), plus its helper processes.  sys_: the whole machine's
 * busy time from /proc/stat, which also catches kernel threads, but with
 * anyone else's work in it: sys_busy_pct and others_pct say how much.  On
 * a shared machine that swamps a 100 Mbit/s load, hence not the value.
 * ksoftirqd_: what those threads ran, ours or not.
 */
static int cmd_cpu(void)
{
	static struct cpu_window w;
	double rate, mb_s, sys_s, total_s, self_s, help_s, ksirq_s;
	struct tcp_run r;
	long gone = 0;

	if (cfg.rate_mbit <= 0)
		fail("--rate-mbit must be positive");
	rate = tcp_run(&r, paced_sender, &w);
	if (rate <= 0)
		fail("nothing received in the window");
	/* per MB = per second / (MB per second), both over the window */
	mb_s = rate / 1e6 * (w.end.t - w.start.t);
	sys_s = (w.end.busy - w.start.busy) / (double)sysconf(_SC_CLK_TCK);
	total_s = (w.end.total - w.start.total) / (double)sysconf(_SC_CLK_TCK);
	self_s = w.end.self_s - w.start.self_s;
	help_s = cpu_spent(&w, 0, w.nhelpers, &gone);
	ksirq_s = cpu_spent(&w, w.nhelpers, w.n, &gone);
	emit("mtu=%d rate_mbit=%g seconds=%g value=%.3f unit=ms/MB "
	     "achieved_mbps=%.1f proc_ms_per_mb=%.3f self_ms_per_mb=%.3f "
	     "helpers_ms_per_mb=%.3f helpers=%ld sys_ms_per_mb=%.3f "
	     "ksoftirqd_ms_per_mb=%.3f gone=%ld sys_busy_pct=%.1f "
	     "others_pct=%.1f",
	     cfg.mtu, cfg.rate_mbit, cfg.seconds,
	     (self_s + help_s) * 1e3 / mb_s, rate * 8 / 1e6,
	     (self_s + help_s) * 1e3 / mb_s, self_s * 1e3 / mb_s,
	     help_s * 1e3 / mb_s, w.nhelpers,
	     sys_s * 1e3 / mb_s, ksirq_s * 1e3 / mb_s, gone,
	     total_s > 0 ? sys_s / total_s * 100 : NAN,
	     total_s > 0 ? (sys_s - self_s - help_s) / total_s * 100 : NAN);
	tcp_run_close(&r);
	return 0;
}

static int cmd_rr(void)
{
	struct pair p;
	int fds[2], one = 1;
	double rate, srate;

	pair_open(&p);
	tcp_connect(&p, &fds[0], &fds[1]);
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	measure(rr_client, rr_server, fds, &rate, &srate, NULL);
	emit("mtu=%d seconds=%g value=%.0f unit=trans/s latency_us=%.1f",
	     cfg.mtu, cfg.seconds, rate, rate > 0 ? 1e6 / rate : INFINITY);
	close(fds[0]);
	close(fds[1]);
	pair_close(&p);
	return 0;
}

static int cmd_udp(void)
{
	struct sockaddr_in sb = sin_of(ADDR_B, PORT_UDP);
	int fds[2], bufsz = 4 << 20;
	double rate, srate;
	struct pair p;

	if (cfg.size < 1 || cfg.size > 2048)
		fail("--size must be 1..2048");
	pair_open(&p);
	fds[1] = pair_socket(&p, 1, SOCK_DGRAM);
	setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (bind(fds[1], (struct sockaddr *)&sb, sizeof(sb)) < 0)
		fail("bind %s: %s", ADDR_B, strerror(errno));
	fds[0] = pair_socket(&p, 0, SOCK_DGRAM);
	if (connect(fds[0], (struct sockaddr *)&sb, sizeof(sb)) < 0)
		fail("connect %s: %s", ADDR_B, strerror(errno));
	measure(udp_sender, udp_receiver, fds, &rate, &srate, NULL);
	emit("mtu=%d size=%d seconds=%g value=%.0f unit=pkt/s sent_pps=%.0f",
	     cfg.mtu, cfg.size, cfg.seconds, rate, srate);
	close(fds[0]);
	close(fds[1]);
	pair_close(&p);
	return 0;
}

/*
 * time_sockets() - microseconds of one socket()+close() pair: the median of
 * ten batch means (a ping-pong with a helper is sensitive to where the
 * scheduler puts it; one batch per placement does not sway the result).
 * @s: stack for vde_msocket(), or NULL for socket() (the library's own
 *     socket(), which forwards to libc's or to the default stack)
 * @n: iterations
 */
static double time_sockets(struct vdestack *s, long n)
{
	long per = n / 10 > 0 ? n / 10 : 1, b, i;
	double batch[10];

	for (b = 0; b < 10; b++) {
		double t0 = now();

		for (i = 0; i < per; i++) {
			int fd = s ? vde_msocket(s, AF_INET, SOCK_STREAM, 0)
				   : socket(AF_INET, SOCK_STREAM, 0);

			if (fd < 0)
				fail("%s: %s", s ? "vde_msocket" : "socket",
				     strerror(errno));
			close(fd);
		}
		batch[b] = (now() - t0) / per * 1e6;
	}
	return median(batch, 10);
}

static int cmd_msocket(void)
{
	long n = cfg.iterations ? cfg.iterations : 5000;
	double us, host_us, dflt_us;
	struct vdestack *s;
	int peer;

	s = single_stack(&peer);
	wd_step("vde_msocket warm-up");
	time_sockets(s, 100);
	wd_step("vde_msocket loop");
	us = time_sockets(s, n);
	wd_step("socket loop");
	time_sockets(NULL, 100);
	host_us = time_sockets(NULL, n);
	wd_step("socket loop with vde_default_stack");
	vde_default_stack(s);
	dflt_us = time_sockets(NULL, n);
	vde_default_stack(NULL);
	emit("iterations=%ld value=%.2f unit=us host_us=%.2f "
	     "default_stack_us=%.2f",
	     n, us, host_us, dflt_us);
	wd_step("vde_delstack");
	vde_delstack(s);
	close(peer);
	return 0;
}

static int ns_floor_child(void *arg)
{
	char *argv[] = {"/bin/true", NULL};

	if (arg)
		execve(argv[0], argv, environ);
	return 0;
}

/*
 * ns_floor_ms() - median time to create (and reap) a process in new user and
 * network namespaces, the way posix_spawn() does (CLONE_VM|CLONE_VFORK): the
 * kernel's floor for vde_addstack().
 * @n:    iterations
 * @exec: also execve("/bin/true") in the child, as an exec'd agent must
 */
static double ns_floor_ms(long n, int exec)
{
	static char stk[64 * 1024] __attribute__((aligned(16)));
	double *v, r;
	long i;

	if (n <= 0 || !(v = calloc(n, sizeof(*v))))
		return NAN;
	for (i = 0; i < n; i++) {
		double t0 = now();
		pid_t pid = clone(ns_floor_child, stk + sizeof(stk),
				  CLONE_VM | CLONE_VFORK | CLONE_NEWUSER |
					  CLONE_NEWNET | SIGCHLD,
				  exec ? (void *)1 : NULL);

		if (pid < 0 || waitpid(pid, NULL, 0) < 0) {
			free(v);
			return NAN;
		}
		v[i] = (now() - t0) * 1e3;
	}
	r = median(v, n);
	free(v);
	return r;
}

static int cmd_addstack(void)
{
	long n = cfg.iterations ? cfg.iterations : 100, i;
	double *v, *va, *vd, t0, total, floor_ms, exec_ms;
	int none = !strcmp(cfg.net, "none");

	if (!none && strcmp(cfg.net, "seqpacket"))
		fail("addstack: --net must be seqpacket or none");
	/* Upstream leaks two fds per stack (defect 2): do not run out. */
	raise_nofile();
	resident(cfg.resident_mib);
	v = calloc(n, sizeof(*v));
	va = calloc(n, sizeof(*va));
	vd = calloc(n, sizeof(*vd));
	if (!v || !va || !vd)
		fail("out of memory");
	t0 = now();
	for (i = 0; i < n; i++) {
		double t = now(), tm;
		struct vdestack *s;
		int peer = -1;

		wd_partial("done=%ld", i);
		if (none) {
			wd_step("vde_addstack(NULL) #%ld", i);
			s = vde_addstack(NULL, NULL);
			if (!s)
				fail("vde_addstack(NULL): %s", strerror(errno));
			note_backend(s);
		} else {
			s = single_stack(&peer);
		}
		tm = now();
		wd_step("vde_delstack #%ld", i);
		vde_delstack(s);
		if (peer >= 0)
			close(peer);
		v[i] = (now() - t) * 1e3;
		va[i] = (tm - t) * 1e3;
		vd[i] = (now() - tm) * 1e3;
	}
	total = now() - t0;
	wd_step("namespace floor");
	floor_ms = ns_floor_ms(n < 50 ? n : 50, 0);
	exec_ms = ns_floor_ms(n < 50 ? n : 50, 1);
	emit("iterations=%ld resident_mib=%ld value=%.3f unit=ms mean_ms=%.3f "
	     "add_ms=%.3f del_ms=%.3f ns_floor_ms=%.3f ns_exec_floor_ms=%.3f",
	     n, cfg.resident_mib, median(v, n), total / n * 1e3, median(va, n),
	     median(vd, n), floor_ms, exec_ms);
	free(v);
	free(va);
	free(vd);
	return 0;
}

static int cmd_stackcmd(void)
{
	long n = cfg.iterations ? cfg.iterations : 200, i;
	char *argv[] = {"/bin/true", NULL};
	double *v, *h;
	struct vdestack *s;
	int peer, rv;

	resident(cfg.resident_mib);
	v = calloc(n, sizeof(*v));
	h = calloc(n, sizeof(*h));
	if (!v || !h)
		fail("out of memory");
	s = single_stack(&peer);
	for (i = -5; i < n; i++) {
		double t = now();

		wd_step("vde_stackcmd(/bin/true) #%ld", i);
		rv = vde_stackcmd(s, "/bin/true");
		if (rv != 0)
			fail("vde_stackcmd(/bin/true) returned %d", rv);
		if (i >= 0)
			v[i] = (now() - t) * 1e3;
	}
	/* Reference: the same program spawned by the application itself. */
	for (i = -5; i < n; i++) {
		double t = now();
		pid_t pid;

		wd_step("posix_spawn(/bin/true) #%ld", i);
		if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) ||
		    waitpid(pid, NULL, 0) < 0)
			fail("posix_spawn(/bin/true) failed");
		if (i >= 0)
			h[i] = (now() - t) * 1e3;
	}
	emit("iterations=%ld resident_mib=%ld value=%.3f unit=ms spawn_ms=%.3f",
	     n, cfg.resident_mib, median(v, n), median(h, n));
	wd_step("vde_delstack");
	vde_delstack(s);
	close(peer);
	free(v);
	free(h);
	return 0;
}

/* ---- resource accounting ---- */

/* What this process and its descendants use. */
struct usage {
	double pss_kib;
	long threads;
	long procs;
	long child_tasks;
	double kmem_kib;
	long fds;
};

/* read_kv() - the number after "@key" in file @path, or -1. */
static double read_kv(const char *path, const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	double v = -1;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen)) {
			v = strtod(line + klen, NULL);
			break;
		}
	fclose(f);
	return v;
}

static pid_t ppid_of(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	return (pid_t)strtol(p + 4, NULL, 10); /* ") S PPID" */
}

/*
 * descendants() - pids of every descendant process of this one.
 * @out: array to fill
 * @max: its size
 *
 * Return: how many.
 */
static long descendants(pid_t *out, long max)
{
	long nall = 0, cap = 4096, n = 0, i, j;
	pid_t(*all)[2] = malloc(cap * sizeof(*all));
	struct dirent *de;
	DIR *d;

	d = opendir("/proc");
	if (!d || !all)
		fail("opendir /proc: %s", strerror(errno));
	while ((de = readdir(d))) {
		pid_t pid = atoi(de->d_name), pp;

		if (pid <= 0 || (pp = ppid_of(pid)) < 0)
			continue;
		if (nall == cap) {
			cap *= 2;
			all = realloc(all, cap * sizeof(*all));
			if (!all)
				fail("out of memory");
		}
		all[nall][0] = pid;
		all[nall][1] = pp;
		nall++;
	}
	closedir(d);
	out[n++] = getpid();
	for (i = 0; i < n; i++)
		for (j = 0; j < nall && n < max; j++)
			if (all[j][1] == out[i])
				out[n++] = all[j][0];
	free(all);
	for (i = 1; i < n; i++)
		out[i - 1] = out[i];
	return n - 1;
}

/*
 * same_mm() - whether @pid shares this process's memory (upstream's helper
 * is a CLONE_VM child: its pages are ours, count them once).
 */
static int same_mm(pid_t pid)
{
	long r = syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0);

	if (r >= 0)
		return r == 0;
	return 0;
}

static long count_fds(void)
{
	struct dirent *de;
	long n = 0;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void usage_sample(struct usage *u)
{
	static pid_t pids[65536];
	char path[64];
	long n, i;

	memset(u, 0, sizeof(*u));
	u->pss_kib = read_kv("/proc/self/smaps_rollup", "Pss:");
	u->threads = read_kv("/proc/self/status", "Threads:");
	u->fds = count_fds();
	n = descendants(pids, 65536);
	for (i = 0; i < n; i++) {
		double t, pss;

		snprintf(path, sizeof(path), "/proc/%d/status", pids[i]);
		t = read_kv(path, "Threads:");
		if (t < 0)
			continue;
		u->procs++;
		u->child_tasks += t;
		if (same_mm(pids[i]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pids[i]);
		pss = read_kv(path, "Pss:");
		if (pss < 0) {
			snprintf(path, sizeof(path), "/proc/%d/status",
				 pids[i]);
			pss = read_kv(path, "VmRSS:");
		}
		if (pss > 0)
			u->pss_kib += pss;
	}
	u->kmem_kib = read_kv("/proc/meminfo", "Slab:") +
		      read_kv("/proc/meminfo", "KernelStack:") +
		      read_kv("/proc/meminfo", "PageTables:") +
		      read_kv("/proc/meminfo", "Percpu:");
}

/*
 * stacks_make() - make stacks on seqpacket pairs (stack 2k and 2k+1 share a
 * socketpair) or with no network, checking each with vde_msocket().
 * @v:      array of stacks
 * @max:    how many to make at most
 * @budget: seconds to spend at most (0: no limit)
 * @reason: set to why it stopped before @max ("" if it did not)
 * @rlen:   size of @reason
 *
 * Return: how many stacks were made and answered.
 */
static long stacks_make(struct vdestack **v, long max, double budget,
			char *reason, size_t rlen)
{
	int none = !strcmp(cfg.net, "none"), spare = -1, mine = -1, fd;
	double t0 = now();
	long n;

	reason[0] = 0;
	if (!none && strcmp(cfg.net, "seqpacket"))
		fail("--net must be seqpacket or none here");
	for (n = 0; n < max; n++) {
		char url[64];
		int sv[2];

		wd_partial("value=%ld", n);
		if (budget > 0 && now() - t0 > budget) {
			snprintf(reason, rlen, "time-budget");
			break;
		}
		if (read_kv("/proc/meminfo", "MemAvailable:") < 1 << 20) {
			snprintf(reason, rlen, "memory-guard(<1GiB-available)");
			break;
		}
		if (!none && spare < 0) {
			if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
				       0, sv) < 0) {
				snprintf(reason, rlen, "socketpair:%s",
					 strerrorname_np(errno));
				break;
			}
			mine = sv[0];
			spare = sv[1];
		} else if (!none) {
			mine = spare;
			spare = -1;
		}
		snprintf(url, sizeof(url), "seqpacket://%d", mine);
		wd_step("vde_addstack #%ld", n);
		v[n] = vde_addstack(none ? NULL : url, NULL);
		if (v[n])
			note_backend(v[n]);
		if (!v[n]) {
			/* Who owns @mine now is unspecified: leave it. */
			snprintf(reason, rlen, "vde_addstack:%s",
				 strerrorname_np(errno));
			break;
		}
		wd_step("vde_msocket on stack #%ld", n);
		fd = vde_msocket(v[n], AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(reason, rlen, "vde_msocket:%s",
				 strerrorname_np(errno));
			wd_step("vde_delstack #%ld (failed vde_msocket)", n);
			vde_delstack(v[n]);
			break;
		}
		close(fd);
	}
	if (spare >= 0)
		close(spare);
	return n;
}

static void stacks_free(struct vdestack **v, long n)
{
	while (n-- > 0) {
		wd_step("vde_delstack #%ld", n);
		vde_delstack(v[n]);
	}
}

static int cmd_idle(void)
{
	long n = cfg.stacks, made;
	struct vdestack **v = calloc(n, sizeof(*v));
	struct usage a, b;
	char reason[128];

	if (!v)
		fail("out of memory");
	raise_nofile();
	sleep_s(0.3);
	usage_sample(&a);
	made = stacks_make(v, n, 0, reason, sizeof(reason));
	if (made < n)
		fail("only %ld of %ld stacks: %s", made, n, reason);
	wd_step("settling");
	sleep_s(1);
	usage_sample(&b);
	emit("stacks=%ld pss_kib_per_stack=%.1f threads_per_stack=%.2f "
	     "procs_per_stack=%.2f tasks_per_stack=%.2f "
	     "kmem_kib_per_stack=%.1f "
	     "fds_per_stack=%.2f value=%.1f unit=KiB",
	     n, (b.pss_kib - a.pss_kib) / n,
	     (double)(b.threads - a.threads) / n,
	     (double)(b.procs - a.procs) / n,
	     (double)(b.threads + b.child_tasks - a.threads - a.child_tasks) /
		     n,
	     (b.kmem_kib - a.kmem_kib) / n, (double)(b.fds - a.fds) / n,
	     (b.pss_kib - a.pss_kib) / n);
	stacks_free(v, n);
	free(v);
	return 0;
}

static int cmd_maxstacks(void)
{
	struct vdestack **v = calloc(cfg.max, sizeof(*v));
	double t0 = now(), t1;
	char reason[128];
	long n;

	if (!v)
		fail("out of memory");
	if (cfg.nofile)
		set_nofile(cfg.nofile);
	n = stacks_make(v, cfg.max, cfg.seconds, reason, sizeof(reason));
	t1 = now();
	wd_partial("value=%ld reason=%s deleting=1", n,
		   reason[0] ? reason : "cap");
	stacks_free(v, n);
	emit("value=%ld unit=stacks max=%ld nofile=%ld reason=%s create_s=%.1f "
	     "delete_s=%.1f",
	     n, cfg.max, nofile(), reason[0] ? reason : "cap", t1 - t0,
	     now() - t1);
	free(v);
	return 0;
}

/* ---- command line ---- */

static const struct subcmd {
	const char *name;
	int (*fn)(void);
	const char *metric;
	const char *help;
} subcmds[] = {
	{"tcp", cmd_tcp, "tcp_mbps",
	 "TCP bulk throughput A->B (--net, --mtu, --seconds)"},
	{"cpu", cmd_cpu, "cpu_ms_per_mb",
	 "CPU ms per MB, TCP A->B paced (--net, --rate-mbit, --seconds)"},
	{"rr", cmd_rr, "tcp_rr",
	 "TCP request/response rate, 1-byte messages (--net, --seconds)"},
	{"udp", cmd_udp, "udp_pps",
	 "UDP packets/s delivered A->B (--net, --size 64, --seconds)"},
	{"msocket", cmd_msocket, "msocket_us",
	 "vde_msocket+close vs socket+close (--iterations)"},
	{"addstack", cmd_addstack, "addstack_ms",
	 "vde_addstack+vde_delstack (--net seqpacket|none, --resident-mib)"},
	{"stackcmd", cmd_stackcmd, "stackcmd_ms",
	 "vde_stackcmd(\"/bin/true\") (--iterations, --resident-mib)"},
	{"idle", cmd_idle, "idle",
	 "memory/threads per idle stack (--stacks N, --net seqpacket|none)"},
	{"maxstacks", cmd_maxstacks, "maxstacks",
	 "stacks one process can hold (--max, --seconds, --nofile)"},
};

static const struct option longopts[] = {
	{"net", required_argument, NULL, 'n'},
	{"mtu", required_argument, NULL, 'm'},
	{"seconds", required_argument, NULL, 's'},
	{"iterations", required_argument, NULL, 'i'},
	{"resident-mib", required_argument, NULL, 'r'},
	{"stacks", required_argument, NULL, 'k'},
	{"max", required_argument, NULL, 'x'},
	{"size", required_argument, NULL, 'z'},
	{"timeout", required_argument, NULL, 't'},
	{"stall", required_argument, NULL, 'S'},
	{"nofile", required_argument, NULL, 'N'},
	{"rate-mbit", required_argument, NULL, 'R'},
	{"help", no_argument, NULL, 'h'},
	{0}};

static const char *const opthelp[] = {
	"seqpacket|switch|ptp|veth|none (default seqpacket)",
	"interface MTU (default 1500)",
	"measuring window, or time budget of maxstacks (default 5)",
	"loop count of msocket/addstack/stackcmd",
	"touch this many MiB before measuring (default 0)",
	"stacks for idle (default 50)",
	"cap for maxstacks (default 2000)",
	"UDP payload bytes (default 64)",
	"watchdog: report a hang after this many seconds (default 50)",
	"watchdog: report a hang after a step stalls this long (default off)",
	"maxstacks: soft RLIMIT_NOFILE to set first, N or max",
	"cpu: sender's pace in Mbit/s (default 100)",
	"this text",
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vdsbench SUBCOMMAND [OPTIONS]\n\nsubcommands:\n");
	for (i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		fprintf(f, "  %-10s %s\n", subcmds[i].name, subcmds[i].help);
	fprintf(f, "\noptions:\n");
	for (i = 0; longopts[i].name; i++)
		fprintf(f, "  --%-14s %s\n", longopts[i].name, opthelp[i]);
	fprintf(f, "\nPrints one line: metric=NAME ... value=V unit=U "
		   "status=ok|error|hang.\nExit status: 0 ok, 1 usage, "
		   "2 error, 3 hang (watchdog).\n");
}

int main(int argc, char **argv)
{
	const struct subcmd *sc = NULL;
	size_t i;
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2;
	}
	for (i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		if (!strcmp(argv[1], subcmds[i].name))
			sc = &subcmds[i];
	if (!sc) {
		usage(stderr);
		return 1;
	}
	metric = sc->metric;
	while ((c = getopt_long(argc - 1, argv + 1, "", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			cfg.net = optarg;
			break;
		case 'm':
			cfg.mtu = atoi(optarg);
			break;
		case 's':
			cfg.seconds = atof(optarg);
			break;
		case 'i':
			cfg.iterations = atol(optarg);
			break;
		case 'r':
			cfg.resident_mib = atol(optarg);
			break;
		case 'k':
			cfg.stacks = atol(optarg);
			break;
		case 'x':
			cfg.max = atol(optarg);
			break;
		case 'z':
			cfg.size = atoi(optarg);
			break;
		case 't':
			cfg.timeout = atof(optarg);
			break;
		case 'S':
			cfg.stall = atof(optarg);
			break;
		case 'N':
			cfg.nofile = strcmp(optarg, "max") ? atol(optarg) : -1;
			break;
		case 'R':
			cfg.rate_mbit = atof(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind + 1 < argc) {
		usage(stderr);
		return 1;
	}
	if (cfg.stacks < 1 || cfg.max < 1 || cfg.seconds <= 0 ||
	    cfg.iterations < 0) {
		usage(stderr);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	ip_path = find_ip();
	if (!ip_path)
		fail("ip(8) not found in /bin, /sbin, /usr/sbin, /usr/bin");
	setvbuf(stdout, NULL, _IOLBF, 0);
	wd_start();
	return sc->fn();
}
