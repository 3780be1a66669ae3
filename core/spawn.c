// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * spawn.c - start a stack's namespace agent
 *
 * DOC: Theory of Operation
 *
 * The agent is started the way posix_spawn() starts a program:
 * clone(CLONE_VM|CLONE_VFORK) on a small private stack, then execve() at
 * once, so the cost does not depend on the application's size (no page
 * tables to copy, no copy-on-write faults afterwards).  The same clone()
 * also creates the new user and network namespaces.
 *
 * Between clone() and execve() the child runs on the application's memory
 * while the calling thread is suspended (CLONE_VFORK; other threads go on).
 * So it only makes raw system calls on its own stack and writes its result
 * into a struct on that stack: no malloc, no stdio, no locks.  All signals
 * are blocked around the clone() so no application handler can run in the
 * child; the agent resets dispositions and unblocks after execve().
 *
 * In the child, still holding every capability of the new user namespace:
 * write uid_map/gid_map (the caller's effective ids mapped to themselves,
 * setgroups denied: the only mapping an unprivileged process may write),
 * drop every capability but the four network ones from the bounding set
 * (so even a caller mapped to uid 0 keeps only those across execve()),
 * put them in the inheritable set and raise them as ambient capabilities
 * (so a caller with a non-zero uid keeps them across execve()), move the
 * control socket to fd 3 and execve() the agent.
 *
 * The agent's exit signal is 0, not SIGCHLD: the application gets no
 * SIGCHLD for it and its wait(-1) or waitpid(-1) never reaps it (only
 * __WALL waits see such children); the library waits on its pidfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_proto.h"
#include "fdpass.h"
#include "stack.h"

#define CHILD_STACK (64 * 1024)

extern char **environ;

struct spawn_arg {
	int ctl;
	uid_t uid;
	gid_t gid;
	char path[4096];
	char *argv[2];
	char **envp;
	/* the backend's prefetch list and the message that carries them */
	unsigned int pf_n;
	struct vdestack_fd_request pf[VDESTACK_PREFETCH_MAX];
	struct vs_reply pf_reply;
	struct iovec pf_iov;
	struct msghdr pf_msg;
	union {
		char buf[CMSG_SPACE(VDESTACK_PREFETCH_MAX * sizeof(int))];
		struct cmsghdr align;
	} pf_cmsg;
	/* written by the child on failure (vfork mode: shared memory) */
	int err;
	const char *what;
	int errfd; /* fork mode: the child reports a failure here */
};

struct spawn_err {
	int err;
	char what[60];
};

/*
 * Everything the child runs is below, down to agent_child(): raw system
 * calls and plain loops only.  In the vfork mode the child shares the
 * application's memory; in the fork mode (valgrind, ThreadSanitizer) it is
 * a copy taken while other threads may hold locks (malloc's, stdio's, or a
 * sanitizer's own, which its interceptors of open(), write(), sigaction()
 * or _exit() would wait for forever).  So no libc wrapper that a tool may
 * intercept, and no instrumentation (NO_TSAN).
 */
#if defined(__SANITIZE_THREAD__)
#define NO_TSAN __attribute__((no_sanitize_thread, noinline))
#else
#define NO_TSAN
#endif

NO_TSAN static long sys_ret(long r)
{
	return r < 0 ? -errno : r;
}

NO_TSAN static int write_str(const char *file, const char *s)
{
	long fd = sys_ret(syscall(SYS_openat, AT_FDCWD, file,
				  O_WRONLY | O_CLOEXEC));
	size_t len = 0;
	long n;

	if (fd < 0)
		return (int)fd;
	while (s[len])
		len++;
	n = sys_ret(syscall(SYS_write, fd, s, len));
	syscall(SYS_close, fd);
	return n < 0 ? (int)n : 0;
}

/* "ID ID 1\n" without stdio: the child must not touch shared locks */
NO_TSAN static void fmt_map(char *buf, unsigned long id)
{
	char num[24];
	int i = 0, k = 0, j;

	do
		num[i++] = (char)('0' + id % 10);
	while (id /= 10);
	while (i)
		buf[k++] = num[--i];
	buf[k] = ' ';
	for (j = 0; j < k; j++)
		buf[k + 1 + j] = buf[j];
	buf[2 * k + 1] = ' ';
	buf[2 * k + 2] = '1';
	buf[2 * k + 3] = '\n';
	buf[2 * k + 4] = '\0';
}

NO_TSAN __attribute__((noreturn)) static void child_exit(int status)
{
	for (;;)
		syscall(SYS_exit_group, status);
}

NO_TSAN static int child_fail(struct spawn_arg *a, const char *what, int err)
{
	a->what = what;
	a->err = err ? err : EIO;
	if (a->errfd >= 0) {
		struct spawn_err e = { .err = a->err };
		size_t i;

		for (i = 0; i + 1 < sizeof(e.what) && what[i]; i++)
			e.what[i] = what[i];
		syscall(SYS_write, a->errfd, &e, sizeof(e));
	}
	child_exit(127);
}

/*
 * valgrind implements clone() only for threads, fork and vfork: under it
 * the agent is started fork-style (no CLONE_VM), which costs a copy of the
 * page tables but lets memcheck run the whole suite.
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define VS_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef VS_UNDER_VALGRIND
#define VS_UNDER_VALGRIND() 0
#endif
/* ThreadSanitizer cannot follow a CLONE_VM child either */
#if defined(__SANITIZE_THREAD__)
#undef VS_UNDER_VALGRIND
#define VS_UNDER_VALGRIND() 1
#endif

/* fork-style: returns in the child like fork(); the child runs @fn */
NO_TSAN static pid_t clone_fork(int (*fn)(void *), void *arg, int flags,
				int *pidfd)
{
	long pid = syscall(SYS_clone, (unsigned long)flags, 0UL, pidfd, 0UL,
			   0UL);

	if (pid == 0)
		child_exit(fn(arg));
	return (pid_t)pid;
}

/*
 * Make the backend's prefetch list in the new namespaces and queue it on
 * the control socket, ahead of the agent's HELLO: ret is the mask of the
 * entries made, their fds follow in order.  An entry that cannot be made
 * is left out (the backend's call then asks the agent and gets the error
 * from there); only a message that cannot be sent at all fails the spawn,
 * since the library waits for it.
 */
NO_TSAN static void prefetch(struct spawn_arg *a)
{
	int *fds = (int *)CMSG_DATA(&a->pf_cmsg.align);
	unsigned int i, n = 0;
	uint32_t mask = 0;
	long fd;

	for (i = 0; i < a->pf_n; i++) {
		const struct vdestack_fd_request *q = &a->pf[i];

		if (q->domain == VDESTACK_FD_TUN)
			fd = syscall(SYS_openat, AT_FDCWD, "/dev/net/tun",
				     O_RDWR | O_CLOEXEC);
		else
			fd = syscall(SYS_socket, q->domain,
				     q->type | SOCK_CLOEXEC, q->protocol);
		if (fd < 0)
			continue;
		fds[n++] = (int)fd;
		mask |= 1u << i;
	}
	a->pf_reply.ret = (int32_t)mask;
	a->pf_cmsg.align.cmsg_len = CMSG_LEN(n * sizeof(int));
	a->pf_msg.msg_control = n ? a->pf_cmsg.buf : NULL;
	a->pf_msg.msg_controllen = n ? CMSG_SPACE(n * sizeof(int)) : 0;
	if (syscall(SYS_sendmsg, a->ctl, &a->pf_msg, MSG_NOSIGNAL) >= 0)
		return;
	a->pf_reply.ret = 0; /* no room for descriptors: none, then */
	a->pf_msg.msg_control = NULL;
	a->pf_msg.msg_controllen = 0;
	if (syscall(SYS_sendmsg, a->ctl, &a->pf_msg, MSG_NOSIGNAL) < 0)
		child_fail(a, "queueing the prefetched descriptors", errno);
}

/* the kernel's struct sigaction (rt_sigaction), x86-64 and most others */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

NO_TSAN static int agent_child(void *arg)
{
	struct spawn_arg *a = arg;
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	struct ksigaction dfl = { .handler = SIG_DFL }, old;
	char map[64];
	int sig, cap, r;

	/* no application handler may run on this shared memory */
	for (sig = 1; sig < NSIG; sig++)
		if (!syscall(SYS_rt_sigaction, sig, NULL, &old, 8) &&
		    old.handler != SIG_IGN && old.handler != SIG_DFL)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);

	fmt_map(map, a->uid);
	r = write_str("/proc/self/uid_map", map);
	if (r < 0)
		child_fail(a, "writing uid_map", -r);
	r = write_str("/proc/self/setgroups", "deny");
	if (r < 0 && r != -ENOENT)
		child_fail(a, "writing setgroups", -r);
	fmt_map(map, a->gid);
	r = write_str("/proc/self/gid_map", map);
	if (r < 0)
		child_fail(a, "writing gid_map", -r);

	for (cap = 0; cap < 64; cap++) {
		if (VS_NETCAPS & (1ULL << cap))
			continue;
		if (syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno == EINVAL)
			break; /* past the kernel's last capability */
	}
	/* from here on the child holds what the agent will hold: the
	 * prefetched descriptors are opened with the agent's credentials */
	data[0].effective = data[0].permitted = data[0].inheritable =
		(uint32_t)VS_NETCAPS;
	data[1].effective = data[1].permitted = data[1].inheritable =
		(uint32_t)(VS_NETCAPS >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(a, "capset", errno);
	for (cap = 0; cap < 64; cap++)
		if (VS_NETCAPS & (1ULL << cap))
			if (syscall(SYS_prctl, PR_CAP_AMBIENT,
				    PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
				child_fail(a, "raising ambient capabilities",
					   errno);
	if (a->pf_n)
		prefetch(a);

	if (a->ctl != VS_AGENT_CTL_FD) {
		if (syscall(SYS_dup2, a->ctl, VS_AGENT_CTL_FD) < 0)
			child_fail(a, "dup2", errno);
	} else if (syscall(SYS_fcntl, a->ctl, F_SETFD, 0) < 0) {
		child_fail(a, "fcntl", errno);
	}
	syscall(SYS_execve, a->path, a->argv, a->envp);
	return child_fail(a, "executing the agent", errno);
}

static const char *hint(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return " (are unprivileged user namespaces allowed? "
		       "see kernel.unprivileged_userns_clone, "
		       "user.max_user_namespaces and AppArmor's "
		       "kernel.apparmor_restrict_unprivileged_userns)";
	case ENOSPC:
	case EUSERS:
		return " (user.max_user_namespaces or "
		       "user.max_net_namespaces reached)";
	default:
		return "";
	}
}

/**
 * vs_agent_hello_locked() - read the agent's HELLO if it is still pending
 * @s:		stack, @ctl_lock held
 * @msg, @msglen: reason of a failure
 *
 * Requests may be sent before: the agent reads them once it is ready, and
 * answers them after its HELLO.
 *
 * Return: 0, or -errno (the agent failed to set itself up, or died).
 */
int vs_agent_hello_locked(struct vdestack *s, char *msg, size_t msglen)
{
	struct vs_reply hello;
	unsigned int nfds;
	ssize_t n;

	if (!s->hello_pending)
		return 0;
	s->hello_pending = false;
	n = vs_fd_recv(s->ctl, &hello, sizeof(hello), NULL, &nfds, 0);
	if (n != (ssize_t)sizeof(hello) || hello.magic != VS_AGENT_MAGIC ||
	    hello.op != VS_OP_HELLO) {
		s->hello_err = n < 0 ? (int)n : -EPROTO;
		snprintf(s->hello_msg, sizeof(s->hello_msg),
			 "the agent %s/vdestack-agent died before it was "
			 "ready", vs_libexec_dir());
	} else if (hello.ret < 0) {
		hello.msg[sizeof(hello.msg) - 1] = '\0';
		s->hello_err = hello.ret;
		snprintf(s->hello_msg, sizeof(s->hello_msg), "%s", hello.msg);
	}
	if (s->hello_err)
		snprintf(msg, msglen, "%s", s->hello_msg);
	return s->hello_err;
}

/* vs_agent_hello_locked(), taking @ctl_lock. */
int vs_agent_hello(struct vdestack *s, char *msg, size_t msglen)
{
	int r;

	pthread_mutex_lock(&s->ctl_lock);
	r = vs_agent_hello_locked(s, msg, msglen);
	pthread_mutex_unlock(&s->ctl_lock);
	return r;
}

/* the message prefetch() fills in and sends */
static void prefetch_prepare(struct spawn_arg *a,
			     const struct vdestack_backend *be)
{
	a->pf_n = vs_backend_prefetch(be, a->pf);
	if (!a->pf_n)
		return;
	a->pf_reply.magic = VS_AGENT_MAGIC;
	a->pf_reply.op = VS_OP_PREFETCH;
	a->pf_iov.iov_base = &a->pf_reply;
	a->pf_iov.iov_len = sizeof(a->pf_reply);
	a->pf_msg.msg_iov = &a->pf_iov;
	a->pf_msg.msg_iovlen = 1;
	a->pf_cmsg.align.cmsg_level = SOL_SOCKET;
	a->pf_cmsg.align.cmsg_type = SCM_RIGHTS;
}

/*
 * The child's prefetch() message, which is on @ctl by now (queued before
 * execve()): the descriptors go to @s->pf for the backend's create().
 */
static int prefetch_recv(struct vdestack *s, const struct spawn_arg *a,
			 int ctl, char *msg, size_t msglen)
{
	int fds[VDESTACK_PREFETCH_MAX];
	struct vs_reply r;
	unsigned int n = 0, i, k = 0;
	ssize_t len;

	len = vs_fd_recv(ctl, &r, sizeof(r), fds, &n, VDESTACK_PREFETCH_MAX);
	if (len == -EMSGSIZE) {
		/* the descriptors did not fit in our table */
		snprintf(msg, msglen,
			 "no free file descriptor in this process (see "
			 "RLIMIT_NOFILE)");
		return -EMFILE;
	}
	if (len != (ssize_t)sizeof(r) || r.magic != VS_AGENT_MAGIC ||
	    r.op != VS_OP_PREFETCH || r.ret < 0 ||
	    (unsigned int)__builtin_popcount((unsigned int)r.ret) != n ||
	    (unsigned int)r.ret >= 1u << a->pf_n) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		snprintf(msg, msglen,
			 "protocol error: no prefetched descriptors from the "
			 "new namespace");
		return len < 0 ? (int)len : -EPROTO;
	}
	for (i = 0; i < a->pf_n; i++)
		if (r.ret & (1 << i)) {
			s->pf[s->pf_n].req = a->pf[i];
			s->pf[s->pf_n++].fd = fds[k++];
		}
	return 0;
}

/**
 * vs_agent_spawn() - create the namespaces and start the agent
 * @s:		stack; on success @s->ctl, @s->agent_pid, @s->agent_pidfd set
 * @msg, @msglen: reason of a failure
 *
 * The agent's HELLO is left for vs_agent_hello_locked(): the caller works
 * on while the agent sets itself up.
 *
 * Context: any thread; blocks all signals of the calling thread briefly.
 * Return: 0, or -errno; nothing is left behind on failure.
 */
int vs_agent_spawn(struct vdestack *s, char *msg, size_t msglen)
{
	struct spawn_arg a = { .err = 0 };
	sigset_t all, old;
	siginfo_t si;
	int epipe[2];
	char fwhat[60];
	bool forked;
	int sv[2], pidfd = -1, r;
	void *stk;
	pid_t pid;

	if ((size_t)snprintf(a.path, sizeof(a.path), "%s/vdestack-agent",
			     vs_libexec_dir()) >= sizeof(a.path) ||
	    !vs_libexec_dir()[0]) {
		snprintf(msg, msglen, "cannot locate vdestack-agent");
		return -ENOENT;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		snprintf(msg, msglen, "socketpair: %s", strerror(-r));
		return r;
	}
	stk = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stk == MAP_FAILED) {
		r = -errno;
		snprintf(msg, msglen, "mmap: %s", strerror(-r));
		goto out_sv;
	}
	a.ctl = sv[1];
	a.uid = geteuid();
	a.gid = getegid();
	a.argv[0] = "vdestack-agent";
	a.argv[1] = NULL;
	a.envp = environ;

	if (s->be)
		prefetch_prepare(&a, s->be);

	a.errfd = -1;
	epipe[0] = epipe[1] = -1;
	forked = VS_UNDER_VALGRIND();
	if (forked && pipe2(epipe, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(msg, msglen, "pipe: %s", strerror(-r));
		munmap(stk, CHILD_STACK);
		goto out_sv;
	}
	a.errfd = epipe[1];

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (forked)
		pid = clone_fork(agent_child, &a,
				 CLONE_NEWUSER | CLONE_NEWNET | CLONE_PIDFD,
				 &pidfd);
	else
		pid = clone(agent_child, (char *)stk + CHILD_STACK,
			    CLONE_VM | CLONE_VFORK | CLONE_NEWUSER |
				    CLONE_NEWNET | CLONE_PIDFD,
			    &a, &pidfd);
	r = -errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	munmap(stk, CHILD_STACK);
	close(sv[1]);
	if (forked) {
		struct spawn_err e;

		close(epipe[1]);
		/* EOF: the child reached execve(); else why it did not */
		if (pid > 0 && read(epipe[0], &e, sizeof(e)) == sizeof(e)) {
			e.what[sizeof(e.what) - 1] = '\0';
			snprintf(fwhat, sizeof(fwhat), "%s", e.what);
			a.err = e.err;
			a.what = fwhat;
		}
		close(epipe[0]);
	}
	if (pid < 0) {
		snprintf(msg, msglen,
			 "cannot create user+network namespace: %s%s",
			 strerror(-r), hint(-r));
		close(sv[0]);
		return r;
	}
	if (a.err) {
		r = -a.err;
		snprintf(msg, msglen, "%s %s: %s", a.what,
			 a.err == ENOENT || a.err == EACCES ? a.path : "",
			 strerror(a.err));
		goto out_reap;
	}
	if (a.pf_n) {
		r = prefetch_recv(s, &a, sv[0], msg, msglen);
		if (r < 0)
			goto out_reap;
	}
	/* the agent starts up while the caller goes on: its HELLO is read
	 * before the first reply (vs_agent_hello_locked()) */
	s->ctl = sv[0];
	s->agent_pid = pid;
	s->agent_pidfd = pidfd;
	s->hello_pending = true;
	return 0;

out_reap:
	close(sv[0]);
	memset(&si, 0, sizeof(si));
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 &&
	    errno == ENOSYS)
		kill(pid, SIGKILL);
	waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL);
	close(pidfd);
	return r;
out_sv:
	close(sv[0]);
	close(sv[1]);
	return r;
}
