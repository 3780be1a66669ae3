/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * helpers.h - fixtures shared by the namespace integration tests
 *
 * DOC: Theory of Operation
 *
 * Every test body runs in a child process of the cmocka runner (see
 * ISOLATED_TEST()): a hang, a crash or a leaked agent in one test cannot
 * take the others down, and each body starts from a process with no stacks,
 * no extra threads and a known fd table, so leak checks compare exact
 * numbers.  The runner process is a child subreaper: whatever a body leaves
 * behind (agents, commands, a daemonised vde_switch) is reparented to it and
 * killed and reaped when the body ends, and so is the body's directory of
 * make_tmpdir()s.  A body dies with the runner (PR_SET_PDEATHSIG).
 *
 * Time limits: each body has its own (ISOLATED_TEST_T(), 60 s by default);
 * on top, helpers_init() sets alarm(120) and every test re-arms it, so a
 * hang anywhere, even in the runner, fails instead of blocking.
 * VDESTACK_TEST_FILTER='*name*' runs only the matching tests.
 *
 * Inside a body, CHECK() and friends print the failed condition and end the
 * child with status 1; exit status 77 means "skipped".  The runner turns
 * that into a cmocka failure or skip for the named test.
 *
 * The test binary doubles as a probe command for vde_stackcmd(): started as
 * "<binary> --probe FILE args...", it writes its argv, ids, ambient
 * capabilities, open fds and network namespace to FILE and exits 0, so a
 * test can see exactly what a command run by the library got.
 *
 * Built with -DVDESTACK_UPSTREAM the helpers use only the five upstream
 * functions, so the same tests can run against Debian's libvdestack 0.1.2.
 */
#ifndef TESTS_HELPERS_H
#define TESTS_HELPERS_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <sys/types.h>
#include <cmocka.h>
#include <vdestack.h>

#include "userns.h"

#define HELPERS_SKIP 77

/* Main of every test binary: probe mode, alarm(120), subreaper. */
void helpers_init(int argc, char **argv);

/* Run @body in a child process with a @timeout_s limit; Return: 0 pass. */
int run_isolated(void (*body)(void), const char *name, int timeout_s);

/* cmocka's verdict on what run_isolated() returned */
#define ISOLATED_VERDICT(r)                                                    \
	do {                                                                   \
		if ((r) == HELPERS_SKIP)                                       \
			skip();                                                \
		assert_int_equal((r), 0);                                      \
	} while (0)

#define ISOLATED_TEST_T(name, timeout)                                         \
	static void name##_body(void);                                         \
	static void name(void **state)                                         \
	{                                                                      \
		int r_ = run_isolated(name##_body, #name, timeout);            \
		(void)state;                                                   \
		ISOLATED_VERDICT(r_);                                          \
	}                                                                      \
	static void name##_body(void)
#define ISOLATED_TEST(name) ISOLATED_TEST_T(name, 60)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Tables of isolated tests.  ISOLATED_TABLE_TEST_T(runner, type, timeout)
 * followed by a body runs the body for one row, "const type *row", in a
 * child process like ISOLATED_TEST_T().  Each row of the table is a cmocka
 * test of its own, named by the row's first member "const char *name", so
 * a failure names the row and VDESTACK_TEST_FILTER selects it; cmocka
 * hands the row to @runner as the test's initial state.
 * run_table_tests(runner, table, tests) runs the rows, then @tests.
 */
#define ISOLATED_TABLE_TEST_T(runner, type, timeout)                           \
	static const type *runner##_row;                                       \
	static void runner##_body(const type *row);                            \
	static void runner##_isolated(void)                                    \
	{                                                                      \
		runner##_body(runner##_row);                                   \
	}                                                                      \
	static void runner(void **state)                                       \
	{                                                                      \
		int r_;                                                        \
		runner##_row = *state;                                         \
		r_ = run_isolated(runner##_isolated, runner##_row->name,       \
				  timeout);                                    \
		ISOLATED_VERDICT(r_);                                          \
	}                                                                      \
	static void runner##_body(const type *row)
#define ISOLATED_TABLE_TEST(runner, type)                                      \
	ISOLATED_TABLE_TEST_T(runner, type, 60)

#define run_table_tests(runner, table, tests)                                  \
	({                                                                     \
		_Static_assert(offsetof(__typeof__((table)[0]), name) == 0,    \
			       "a table row starts with its name");            \
		run_table_group(runner, table, ARRAY_SIZE(table),              \
				sizeof((table)[0]), tests, ARRAY_SIZE(tests)); \
	})
/* Run one cmocka group: a test per row of @table, then @others. */
int run_table_group(CMUnitTestFunction runner, const void *table, size_t nrows,
		    size_t row_size, const struct CMUnitTest *others,
		    size_t nothers);

/* Failure inside an isolated body: print and _exit(1). */
void check_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void test_skip(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			check_fail(__FILE__, __LINE__, "%s", #c);              \
	} while (0)
#define CHECK_MSG(c, ...)                                                      \
	do {                                                                   \
		if (!(c))                                                      \
			check_fail(__FILE__, __LINE__, __VA_ARGS__);           \
	} while (0)
#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_)                                                  \
			check_fail(__FILE__, __LINE__,                         \
				   "%s == %s: %lld != %lld", #a, #b, a_, b_);  \
	} while (0)
#define CHECK_STREQ(a, b)                                                      \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_))                              \
			check_fail(__FILE__, __LINE__,                         \
				   "%s == %s: \"%s\" != \"%s\"", #a, #b,       \
				   a_ ? a_ : "(null)", b_ ? b_ : "(null)");    \
	} while (0)
/* A call that must succeed (>= 0); prints errno otherwise. */
#define CHECK_OK(call)                                                         \
	({                                                                     \
		long long r_ = (long long)(call);                              \
		if (r_ < 0)                                                    \
			check_fail(__FILE__, __LINE__, "%s: %lld (%m)", #call, \
				   r_);                                        \
		r_;                                                            \
	})
/* A call that must fail with -1 and errno @e (e == 0: any errno). */
#define CHECK_ERRNO(call, e)                                                   \
	do {                                                                   \
		errno = 0;                                                     \
		long long r_ = (long long)(call);                              \
		int err_ = errno;                                              \
		if (r_ != -1 || ((e) ? err_ != (e) : err_ == 0))               \
			check_fail(__FILE__, __LINE__,                         \
				   "%s: got %lld errno %d (%s), want -1 "      \
				   "errno %d (%s)",                            \
				   #call, r_, err_, strerror(err_), (e),       \
				   strerror(e));                               \
	} while (0)

/* Environment. */
int userns_available(void);
int tun_available(void);
void require_stacks(void);  /* skip unless user+net namespaces work */
void require_network(void); /* ... and /dev/net/tun is usable */
const char *self_exe(void);
double now_s(void);
void sleep_ms(int ms);

/* Process accounting. */
int count_fds(void);
int count_threads(void);
/* Children (zombies too); stores at most @max, returns how many there are. */
int list_children(pid_t *pids, int max);
int count_children(void);
int pid_gone(pid_t pid); /* nonexistent or zombie */
struct leak_snapshot {
	int fds, threads, children;
};
void leak_snapshot(struct leak_snapshot *s);
#define CHECK_NO_LEAK(before)                                                  \
	do {                                                                   \
		struct leak_snapshot now_;                                     \
		leak_snapshot(&now_);                                          \
		CHECK_MSG(now_.fds == (before).fds, "fd leak: %d -> %d",       \
			  (before).fds, now_.fds);                             \
		CHECK_MSG(now_.threads == (before).threads,                    \
			  "thread leak: %d -> %d", (before).threads,           \
			  now_.threads);                                       \
		CHECK_MSG(now_.children == (before).children,                  \
			  "child process leak: %d -> %d", (before).children,   \
			  now_.children);                                      \
	} while (0)

/* Files. */
/* mkdtemp, 0700, under $TMPDIR (or /tmp); removed when the body ends */
char *make_tmpdir(void);
void remove_tree(const char *dir);
char *path_in(const char *dir, const char *name); /* malloc'd */
int file_exists(const char *path);
char *read_file_str(const char *path); /* malloc'd, NULL if missing */
int write_file_str(const char *path, const char *s, int mode);

/* Wires and networks. */
/*
 * wire_pair() - an in-process wire: socketpair(AF_UNIX, SOCK_SEQPACKET |
 * SOCK_CLOEXEC); give "seqpacket://FD" (seqpacket_url()) of each end to a
 * stack, or keep one end as a raw peer.  libvdeplug's seqpacket plugin
 * uses FD itself (no dup): the application must not close it while the
 * stack lives, and vde_delstack() closes it (vde_close(); upstream 0.1.2
 * never does).  A failed vde_addstack() may or may not have closed it:
 * close_if_same() is safe in every case.
 */
int wire_pair(int fds[2]);
char *seqpacket_url(int fd); /* malloc'd "seqpacket://FD" */
void free_udp_ports(int *ports, int n);
int fd_is_open(int fd);
/* Close @fd only if it still is the file identified by @id (stdio_id()). */
void close_if_same(int fd, uint64_t id);

/* vde_switch (vde2) as a child; it exits when we die (EOF on stdin). */
struct vswitch {
	pid_t pid;
	int stdin_fd;
	char *dir;
	char *url; /* "vde://DIR" */
};
int vswitch_start(struct vswitch *sw, const char *dir);
void vswitch_stop(struct vswitch *sw);

/* Stacks. */
struct vdestack *addstack(const char *vdenet, const char *ifname);
int stackcmdf(struct vdestack *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int stack_up(struct vdestack *s, const char *cidr);
int stack_up_if(struct vdestack *s, const char *ifname, const char *cidr);
int stack_set_mtu(struct vdestack *s, const char *ifname, int mtu);
int stack_get_mtu(struct vdestack *s, const char *ifname);
int stack_ifflags(struct vdestack *s, const char *ifname);
char *stack_ip_output(struct vdestack *s, const char *dir, const char *args);
uint64_t sock_netns(int fd); /* netns inode of a socket, 0 if unknown */
uint64_t stack_netns(struct vdestack *s);
uint64_t host_netns(void);

/*
 * tcp_transfer() - send @n pseudo-random bytes from a client in stack
 * @cli to a server listening on @srv_addr (IPv4 or IPv6 literal) in stack
 * @srv, compare byte for byte.  Return: bytes verified before the first
 * mismatch, error or @timeout_s deadline (== @n on success).
 */
long long tcp_transfer(struct vdestack *srv, const char *srv_addr,
		       struct vdestack *cli, size_t n, int timeout_s);
void fill_pattern(unsigned char *buf, size_t off, size_t len, uint64_t seed);

/* Two stacks joined by @url_a/@url_b, configured 10.0.0.1/2 (or v6). */
struct pair {
	struct vdestack *a, *b;
	int wire[2];
	uint64_t wire_id[2];
};
void pair_seqpacket(struct pair *p);
void pair_free(struct pair *p);

/* Probe command (this binary with --probe). */
struct probe {
	uid_t uid, euid;
	gid_t gid, egid;
	unsigned long long capamb, capeff;
	uint64_t netns;
	int nfds;
	int fds[64];
	uint64_t stdio_id[3]; /* dev<<32 ^ ino of fds 0..2, 0 if closed */
	int argc;
	char *argv[32];
};
/* Run "<self> --probe FILE @args" in @s; Return: stackcmd's result. */
int run_probe(struct vdestack *s, const char *dir, const char *args,
	      struct probe *p);
uint64_t stdio_id(int fd);

#ifdef VDESTACK_UPSTREAM
#define HAVE_EXTENSIONS 0
#else
#define HAVE_EXTENSIONS 1

/* The entry named @name in a vde_backend_list() result, or NULL. */
static inline const struct vde_backend_info *
backend_in_list(const struct vde_backend_info *list, size_t n,
		const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i].name, name))
			return &list[i];
	return NULL;
}
#endif

#endif
