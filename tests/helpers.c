// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * helpers.c - fixtures shared by the namespace integration tests
 *
 * See helpers.h for the theory of operation (isolated bodies, subreaper,
 * probe mode).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static int in_child;
static char self_path[PATH_MAX];
/* Per-test directory holding every make_tmpdir() of the body. */
static char test_tmp_root[PATH_MAX];

static const char *tmp_base(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t == '/' ? t : "/tmp";
}

static const char *ip_cmd(void)
{
	static const char *const cand[] = {"/bin/ip", "/sbin/ip",
					   "/usr/sbin/ip", "/usr/bin/ip"};
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return "/bin/ip";
}

/* ---------------------------------------------------------------- probe */

uint64_t stdio_id(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return 0;
	return ((uint64_t)st.st_dev << 32) ^ (uint64_t)st.st_ino;
}

static unsigned long long status_hex(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long v = ~0ULL;
	size_t kl = strlen(key);

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtoull(line + kl + 1, NULL, 16);
	fclose(f);
	return v;
}

/*
 * probe_main() - what a command run by vde_stackcmd() sees
 *
 * The fd list is taken before the output file is opened, excluding the
 * directory fd used to read it.
 */
static int probe_main(int argc, char **argv)
{
	int fds[64], nfds = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	struct stat st;
	FILE *f;

	if (!d)
		return 3;
	while ((de = readdir(d)) && nfds < 64) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);
		if (fd != dirfd(d))
			fds[nfds++] = fd;
	}
	closedir(d);

	f = fopen(argv[2], "w");
	if (!f)
		return 4;
	fprintf(f, "uid=%u\neuid=%u\ngid=%u\negid=%u\n", getuid(), geteuid(),
		getgid(), getegid());
	fprintf(f, "capamb=%llx\ncapeff=%llx\n", status_hex("CapAmb"),
		status_hex("CapEff"));
	fprintf(f, "netns=%llu\n",
		stat("/proc/self/ns/net", &st) == 0
			? (unsigned long long)st.st_ino
			: 0ULL);
	for (int i = 0; i < 3; i++)
		fprintf(f, "stdio%d=%llu\n", i,
			(unsigned long long)stdio_id(i));
	for (int i = 0; i < nfds; i++)
		fprintf(f, "fd=%d\n", fds[i]);
	for (int i = 3; i < argc; i++)
		fprintf(f, "arg=%s\n", argv[i]);
	return fclose(f) == 0 ? 0 : 5;
}

static void probe_parse(const char *text, struct probe *p)
{
	const char *l = text;

	memset(p, 0, sizeof(*p));
	p->capamb = p->capeff = ~0ULL;
	while (l && *l) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char *line = strndup(l, n);

		if (!strncmp(line, "uid=", 4))
			p->uid = strtoul(line + 4, NULL, 10);
		else if (!strncmp(line, "euid=", 5))
			p->euid = strtoul(line + 5, NULL, 10);
		else if (!strncmp(line, "gid=", 4))
			p->gid = strtoul(line + 4, NULL, 10);
		else if (!strncmp(line, "egid=", 5))
			p->egid = strtoul(line + 5, NULL, 10);
		else if (!strncmp(line, "capamb=", 7))
			p->capamb = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "capeff=", 7))
			p->capeff = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "netns=", 6))
			p->netns = strtoull(line + 6, NULL, 10);
		else if (!strncmp(line, "stdio", 5) && line[6] == '=')
			p->stdio_id[line[5] - '0'] =
				strtoull(line + 7, NULL, 10);
		else if (!strncmp(line, "fd=", 3) && p->nfds < 64)
			p->fds[p->nfds++] = atoi(line + 3);
		else if (!strncmp(line, "arg=", 4) && p->argc < 32) {
			p->argv[p->argc++] = strdup(line + 4);
		}
		free(line);
		l = e ? e + 1 : NULL;
	}
}

int run_probe(struct vdestack *s, const char *dir, const char *args,
	      struct probe *p)
{
	static int seq;
	char name[32];
	char *file, *text;
	int rc;

	snprintf(name, sizeof(name), "probe.%d", seq++);
	file = path_in(dir, name);
	rc = stackcmdf(s, "'%s' --probe '%s'%s%s", self_exe(), file,
		       args && *args ? " " : "", args ? args : "");
	text = read_file_str(file);
	memset(p, 0, sizeof(*p));
	p->argc = -1;
	if (text) {
		probe_parse(text, p);
		free(text);
	}
	free(file);
	return rc;
}

/* ------------------------------------------------------------ isolation */

void helpers_init(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--probe"))
		_exit(probe_main(argc, argv));
	if (!realpath("/proc/self/exe", self_path))
		snprintf(self_path, sizeof(self_path), "%s", argv[0]);
	/* Orphans of a test body (agents, commands) come back to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* run only matching tests, e.g. VDESTACK_TEST_FILTER='*defect04*' */
	if (getenv("VDESTACK_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VDESTACK_TEST_FILTER"));
	alarm(120);
}

const char *self_exe(void)
{
	return self_path;
}

void check_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!in_child) {
		print_error("%s:%d: %s\n", file, line, msg);
		_fail(file, line);
	}
	fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, msg);
	fflush(NULL);
	_exit(1);
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "  SKIP: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	fflush(NULL);
	if (in_child)
		_exit(HELPERS_SKIP);
	skip();
	exit(HELPERS_SKIP);
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "  note: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* Kill and reap everything that was reparented to us. */
static void reap_orphans(void)
{
	pid_t pids[256];
	int n, st;

	for (int round = 0; round < 50; round++) {
		n = list_children(pids, 256);
		if (n == 0)
			return;
		if (n > 256) /* the count may exceed what was stored */
			n = 256;
		for (int i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		for (int i = 0; i < n; i++)
			waitpid(pids[i], &st, 0);
	}
}

int run_isolated(void (*body)(void), const char *name, int timeout_s)
{
	pid_t pid;
	int st = 0, rc;
	double deadline;

	fflush(NULL);
	alarm(120);
	snprintf(test_tmp_root, sizeof(test_tmp_root), "%s/vdst-XXXXXX",
		 tmp_base());
	if (!mkdtemp(test_tmp_root))
		test_tmp_root[0] = '\0';
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		pid_t parent = getppid();

		/* if the runner dies (timeout(1), alarm), so does the body;
		 * its agents notice by EOF */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(1);
		/* cmocka catches these and longjmps back into its loop:
		 * a crashing body would go on running the other tests. */
		static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL,
					   SIGFPE,  SIGSYS, SIGABRT};
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		setpgid(0, 0);
		in_child = 1;
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		body();
		fflush(NULL);
		_exit(0);
	}
	setpgid(pid, pid);
	deadline = now_s() + timeout_s;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			st = -1;
			break;
		}
		if (now_s() > deadline) {
			fprintf(stderr, "  FAIL %s: timed out after %d s\n",
				name, timeout_s);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			st = -2;
			break;
		}
		sleep_ms(10);
	}
	kill(-pid, SIGKILL);
	reap_orphans();
	if (test_tmp_root[0])
		remove_tree(test_tmp_root);
	test_tmp_root[0] = '\0';
	if (st == -2)
		return -2;
	if (st == -1)
		return -1;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "  FAIL %s: killed by signal %d (%s)\n", name,
			WTERMSIG(st), strsignal(WTERMSIG(st)));
		return 128 + WTERMSIG(st);
	}
	rc = WEXITSTATUS(st);
	return rc;
}

int run_table_group(CMUnitTestFunction runner, const void *table, size_t nrows,
		    size_t row_size, const struct CMUnitTest *others,
		    size_t nothers)
{
	/* cmocka names the group after the array: "tests", as elsewhere */
	struct CMUnitTest tests[nrows + nothers];
	size_t i;

	for (i = 0; i < nrows; i++) {
		const char *row = (const char *)table + i * row_size;

		tests[i] = (struct CMUnitTest){
			.name = *(const char *const *)row,
			.test_func = runner,
			.initial_state = (void *)row,
		};
	}
	memcpy(tests + nrows, others, nothers * sizeof(*others));
	return cmocka_run_group_tests(tests, NULL, NULL);
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---------------------------------------------------------- environment */

int userns_available(void)
{
	int st;
	/*
	 * Ask the way the library does: clone() new namespaces for a new
	 * process.  (unshare() refuses CLONE_NEWUSER to a multithreaded
	 * process, and ThreadSanitizer keeps a thread even in fork()ed
	 * children.)
	 */
	pid_t pid = (pid_t)syscall(SYS_clone,
				   CLONE_NEWUSER | CLONE_NEWNET | SIGCHLD, 0,
				   NULL, NULL, 0);

	if (pid < 0)
		return 0;
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int tun_available(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

void require_stacks(void)
{
	if (!userns_available())
		test_skip("user+net namespaces unavailable (%s)",
			  "unshare(CLONE_NEWUSER|CLONE_NEWNET) fails");
}

void require_network(void)
{
	require_stacks();
	if (!tun_available())
		test_skip("/dev/net/tun not accessible: %m");
}

/* ------------------------------------------------------ process counting */

int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], buf[1024];
	int fd, n;
	char *p;

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
	if (!p || sscanf(p + 1, " %c %d", state, ppid) != 2)
		return -1;
	return 0;
}

int list_children(pid_t *pids, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char state;
		pid_t pid, ppid;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		pid = atoi(de->d_name);
		if (proc_stat(pid, &state, &ppid) == 0 && ppid == self) {
			if (n < max)
				pids[n] = pid;
			n++;
		}
	}
	closedir(d);
	return n;
}

int count_children(void)
{
	pid_t pids[256];

	return list_children(pids, 256);
}

int pid_gone(pid_t pid)
{
	char state;
	pid_t ppid;

	if (proc_stat(pid, &state, &ppid) < 0)
		return 1;
	return state == 'Z' || state == 'X';
}

static void *nothing(void *arg)
{
	return arg;
}

void leak_snapshot(struct leak_snapshot *s)
{
	static int warmed;

	/*
	 * Sanitizer runtimes (ThreadSanitizer) start a background thread
	 * with the process's first pthread_create(): start it before
	 * counting, so it is not taken for a thread the library leaked.
	 */
#if defined(__SANITIZE_THREAD__)
	if (!warmed) {
		pthread_t t;
		int i;

		if (pthread_create(&t, NULL, nothing, NULL) == 0)
			pthread_join(t, NULL);
		/* the joined thread may linger in /proc for a moment */
		for (i = 0; i < 100 && count_threads() > 2; i++)
			sleep_ms(2);
		warmed = 1;
	}
#else
	(void)warmed;
	(void)nothing;
#endif
	s->fds = count_fds();
	s->threads = count_threads();
	s->children = count_children();
}

/* ---------------------------------------------------------------- files */

char *make_tmpdir(void)
{
	char *t;

	if (test_tmp_root[0]) {
		if (asprintf(&t, "%s/d-XXXXXX", test_tmp_root) < 0)
			abort();
	} else if (asprintf(&t, "%s/vdst-XXXXXX", tmp_base()) < 0) {
		abort();
	}
	if (!mkdtemp(t))
		check_fail(__FILE__, __LINE__, "mkdtemp: %m");
	return t;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? 0 : 0;
	unlink(path);
	return 0;
}

void remove_tree(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

int file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

char *read_file_str(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	buf[len] = 0;
	fclose(f);
	return buf;
}

int write_file_str(const char *path, const char *s, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	if (chmod(path, mode) < 0)
		return -1;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* ---------------------------------------------------------------- wires */

int wire_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

char *seqpacket_url(int fd)
{
	char *u;

	if (asprintf(&u, "seqpacket://%d", fd) < 0)
		abort();
	return u;
}

void free_udp_ports(int *ports, int n)
{
	int fds[16];

	for (int i = 0; i < n && i < 16; i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_addr.s_addr =
						  htonl(INADDR_LOOPBACK)};
		socklen_t sl = sizeof(sin);

		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 ||
		    bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &sl) < 0)
			check_fail(__FILE__, __LINE__, "udp port: %m");
		ports[i] = ntohs(sin.sin_port);
	}
	for (int i = 0; i < n && i < 16; i++)
		close(fds[i]);
}

int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

void close_if_same(int fd, uint64_t id)
{
	if (fd >= 0 && id && fd_is_open(fd) && stdio_id(fd) == id)
		close(fd);
}

/* ----------------------------------------------------------- vde_switch */

int vswitch_start(struct vswitch *sw, const char *dir)
{
	int p[2];
	char *ctl;

	memset(sw, 0, sizeof(*sw));
	if (access("/usr/bin/vde_switch", X_OK) < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	sw->pid = fork();
	if (sw->pid < 0)
		return -1;
	if (sw->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(p[0], 0);
		dup2(null, 1);
		dup2(null, 2);
		execl("/usr/bin/vde_switch", "vde_switch", "--sock", dir,
		      (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	sw->stdin_fd = p[1];
	sw->dir = strdup(dir);
	if (asprintf(&sw->url, "vde://%s", dir) < 0)
		abort();
	ctl = path_in(dir, "ctl");
	for (int i = 0; i < 500 && !file_exists(ctl); i++)
		sleep_ms(10);
	if (!file_exists(ctl)) {
		free(ctl);
		vswitch_stop(sw);
		return -1;
	}
	free(ctl);
	return 0;
}

void vswitch_stop(struct vswitch *sw)
{
	int st;

	if (sw->pid > 0) {
		kill(sw->pid, SIGTERM);
		close(sw->stdin_fd);
		for (int i = 0; i < 200; i++) {
			if (waitpid(sw->pid, &st, WNOHANG) == sw->pid) {
				sw->pid = 0;
				break;
			}
			sleep_ms(10);
		}
		if (sw->pid > 0) {
			kill(sw->pid, SIGKILL);
			waitpid(sw->pid, &st, 0);
		}
	}
	sw->pid = 0;
	free(sw->url);
	sw->url = NULL;
	free(sw->dir);
	sw->dir = NULL;
}

/* --------------------------------------------------------------- stacks */

struct vdestack *addstack(const char *vdenet, const char *ifname)
{
	return vde_addstack((char *)vdenet, (char *)ifname);
}

int stackcmdf(struct vdestack *s, const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	rc = vde_stackcmd(s, cmd);
	free(cmd);
	return rc;
}

int stack_up_if(struct vdestack *s, const char *ifname, const char *cidr)
{
	const char *ip = ip_cmd();

	return stackcmdf(s,
			 "%s link set lo up; %s link set %s up; "
			 "%s addr add %s dev %s%s",
			 ip, ip, ifname, ip, cidr, ifname,
			 strchr(cidr, ':') ? " nodad" : "");
}

int stack_up(struct vdestack *s, const char *cidr)
{
	return stack_up_if(s, "vde0", cidr);
}

int stack_set_mtu(struct vdestack *s, const char *ifname, int mtu)
{
	return stackcmdf(s, "%s link set %s mtu %d", ip_cmd(), ifname, mtu);
}

static int stack_ifreq(struct vdestack *s, const char *ifname,
		       unsigned long req, struct ifreq *ifr)
{
	int fd = vde_msocket(s, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -1;
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", ifname);
	r = ioctl(fd, req, ifr);
	close(fd);
	return r;
}

int stack_get_mtu(struct vdestack *s, const char *ifname)
{
	struct ifreq ifr;

	if (stack_ifreq(s, ifname, SIOCGIFMTU, &ifr) < 0)
		return -1;
	return ifr.ifr_mtu;
}

int stack_ifflags(struct vdestack *s, const char *ifname)
{
	struct ifreq ifr;

	if (stack_ifreq(s, ifname, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	return ifr.ifr_flags & 0xffff;
}

char *stack_ip_output(struct vdestack *s, const char *dir, const char *args)
{
	char *file = path_in(dir, "ip.out");
	char *text;
	int rc;

	unlink(file);
	rc = stackcmdf(s, "/bin/sh -c '%s %s > %s 2>&1'", ip_cmd(), args, file);
	text = read_file_str(file);
	if (rc != 0)
		note("ip %s: status %d: %s", args, rc, text ? text : "");
	free(file);
	return text;
}

uint64_t sock_netns(int fd)
{
	struct stat st;
	int ns = ioctl(fd, SIOCGSKNS);

	if (ns < 0)
		return 0;
	if (fstat(ns, &st) < 0)
		st.st_ino = 0;
	close(ns);
	return st.st_ino;
}

uint64_t stack_netns(struct vdestack *s)
{
	int fd = vde_msocket(s, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint64_t ino;

	if (fd < 0)
		return 0;
	ino = sock_netns(fd);
	close(fd);
	return ino;
}

uint64_t host_netns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return 0;
	return st.st_ino;
}

void pair_seqpacket(struct pair *p)
{
	char *u0, *u1;

	memset(p, 0, sizeof(*p));
	CHECK_OK(wire_pair(p->wire));
	p->wire_id[0] = stdio_id(p->wire[0]);
	p->wire_id[1] = stdio_id(p->wire[1]);
	u0 = seqpacket_url(p->wire[0]);
	u1 = seqpacket_url(p->wire[1]);
	p->a = addstack(u0, NULL);
	CHECK_MSG(p->a, "vde_addstack(%s): %m", u0);
	p->b = addstack(u1, NULL);
	CHECK_MSG(p->b, "vde_addstack(%s): %m", u1);
	free(u0);
	free(u1);
	CHECK_EQ(stack_up(p->a, "10.0.0.1/24"), 0);
	CHECK_EQ(stack_up(p->b, "10.0.0.2/24"), 0);
}

void pair_free(struct pair *p)
{
	vde_delstack(p->a);
	vde_delstack(p->b);
	/* Our library closes the wire with vde_close(); upstream does not. */
	close_if_same(p->wire[0], p->wire_id[0]);
	close_if_same(p->wire[1], p->wire_id[1]);
	memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------- TCP transfer */

static inline uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void fill_pattern(unsigned char *buf, size_t off, size_t len, uint64_t seed)
{
	size_t i = 0;

	while (i < len) {
		size_t x = off + i;
		uint64_t w = splitmix64(seed ^ (x >> 3));

		for (unsigned b = x & 7; b < 8 && i < len; b++, i++)
			buf[i] = (unsigned char)(w >> (b * 8));
	}
}

static int parse_addr(const char *addr, int port, struct sockaddr_storage *ss,
		      socklen_t *sl)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*sl = sizeof(*sin);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*sl = sizeof(*sin6);
		return AF_INET6;
	}
	return -1;
}

static int wait_fd(int fd, short ev, double deadline)
{
	struct pollfd pfd = {fd, ev, 0};
	int ms = (int)((deadline - now_s()) * 1000);

	if (ms < 0)
		return 0;
	return poll(&pfd, 1, ms) == 1;
}

long long tcp_transfer(struct vdestack *srv, const char *srv_addr,
		       struct vdestack *cli, size_t n, int timeout_s)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fam = parse_addr(srv_addr, 0, &ss, &sl);
	int lfd = -1, cfd = -1, afd = -1, one = 1, err = 0;
	socklen_t el = sizeof(err);
	double deadline = now_s() + timeout_s;
	size_t sent = 0, verified = 0;
	int shut = 0;
	const size_t chunk = 65536;
	unsigned char *sbuf = malloc(chunk), *rbuf = malloc(chunk),
		      *ebuf = malloc(chunk);
	uint64_t seed = 0x5eed0000ULL + n;
	long long ret = -1;

	if (fam < 0) {
		note("tcp_transfer: bad address %s", srv_addr);
		goto out;
	}
	lfd = vde_msocket(srv, fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		note("tcp_transfer: server vde_msocket: %m");
		goto out;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sl) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&ss, &sl) < 0) {
		note("tcp_transfer: bind/listen on %s: %m", srv_addr);
		goto out;
	}
	cfd = vde_msocket(cli, fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0) {
		note("tcp_transfer: client vde_msocket: %m");
		goto out;
	}
	fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK);
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	if (connect(cfd, (struct sockaddr *)&ss, sl) < 0 &&
	    errno != EINPROGRESS) {
		note("tcp_transfer: connect: %m");
		goto out;
	}
	if (!wait_fd(lfd, POLLIN, deadline) ||
	    (afd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) <
		    0) {
		note("tcp_transfer: no connection within %d s (%m)", timeout_s);
		goto out;
	}
	if (!wait_fd(cfd, POLLOUT, deadline) ||
	    getsockopt(cfd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
		note("tcp_transfer: connect failed: %s", strerror(err));
		goto out;
	}
	ret = 0;
	while (verified < n) {
		struct pollfd pfd[2] = {{afd, POLLIN, 0},
					{cfd, sent < n ? POLLOUT : 0, 0}};
		int ms = (int)((deadline - now_s()) * 1000);

		if (ms <= 0) {
			note("tcp_transfer: timeout, %zu of %zu bytes "
			     "verified, %zu sent",
			     verified, n, sent);
			break;
		}
		if (poll(pfd, 2, ms) < 0 && errno != EINTR)
			break;
		if (sent < n && (pfd[1].revents & (POLLOUT | POLLERR))) {
			size_t len = n - sent < chunk ? n - sent : chunk;
			ssize_t w;

			fill_pattern(sbuf, sent, len, seed);
			w = send(cfd, sbuf, len, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN) {
				note("tcp_transfer: send: %m");
				break;
			}
			if (w > 0)
				sent += w;
		}
		if (sent == n && !shut) {
			shutdown(cfd, SHUT_WR);
			shut = 1;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(afd, rbuf, chunk, 0);

			if (r == 0) {
				note("tcp_transfer: EOF after %zu bytes",
				     verified);
				break;
			}
			if (r < 0) {
				if (errno == EAGAIN)
					continue;
				note("tcp_transfer: recv: %m");
				break;
			}
			fill_pattern(ebuf, verified, r, seed);
			if (memcmp(ebuf, rbuf, r)) {
				ssize_t i = 0;

				while (ebuf[i] == rbuf[i])
					i++;
				note("tcp_transfer: mismatch at byte %zu",
				     verified + i);
				verified += i;
				break;
			}
			verified += r;
		}
	}
	ret = verified;
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	free(sbuf);
	free(rbuf);
	free(ebuf);
	return ret;
}
