// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * agent_main.c - vdestack-agent, the namespace agent of one stack
 *
 * DOC: Theory of Operation
 *
 * libvdestack starts one agent per stack with
 * clone(CLONE_VM|CLONE_VFORK|CLONE_NEWUSER|CLONE_NEWNET) and an immediate
 * execve() of this program (core/spawn.c), so the agent shares no memory,
 * TLS or fd with the application.  Before the exec the child wrote the
 * uid/gid maps (the caller's ids mapped to themselves), cut the bounding set
 * down to the four network capabilities and raised them as ambient
 * capabilities, so the agent, and every command it runs, holds exactly
 * CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE and CAP_NET_BROADCAST in
 * the stack's namespaces, whatever the caller's uid.
 *
 * The only fd the agent keeps is its control socket (fd 3).  It serves
 * requests one at a time: socket(2) and open("/dev/net/tun") are quick and
 * answered inline; a command sequence is handed to a forked runner, so a
 * long command never delays a socket request.  The runner gets the
 * application's stdin/stdout/stderr and a private reply socket with the
 * request and answers there.
 *
 * Lifetime: EOF on the control socket (the library closed it, or the
 * application died) ends the agent; runners and commands die with it
 * through PR_SET_PDEATHSIG.  No polling of any kind.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_proto.h"
#include "fdpass.h"
#include "stackcmd_parse.h"

#define CTL VS_AGENT_CTL_FD
#define MAX_ARGV 4097

static void reply(int fd, uint32_t op, int ret, int sendfd, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));

/**
 * reply() - answer a request
 * @fd:		where to answer (control socket or private reply socket)
 * @op:		op of the request
 * @ret:	result (>= 0) or -errno
 * @sendfd:	fd to pass, or -1
 * @fmt:	detail of a failure, or NULL
 */
static void reply(int fd, uint32_t op, int ret, int sendfd, const char *fmt,
		  ...)
{
	struct vs_reply r = { .magic = VS_AGENT_MAGIC, .op = op, .ret = ret };
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
		va_end(ap);
	}
	r.pid = getpid();
	vs_fd_send(fd, &r, sizeof(r), NULL, 0, &sendfd, sendfd >= 0 ? 1 : 0);
}

/* A reply carrying several fds (VS_OP_SOCKETS). */
static void reply_fds(int fd, uint32_t op, int ret, const int *fds,
		      unsigned int n)
{
	struct vs_reply r = { .magic = VS_AGENT_MAGIC, .op = op, .ret = ret };

	r.pid = getpid();
	vs_fd_send(fd, &r, sizeof(r), NULL, 0, fds, n);
}

static void closeall(int *fds, unsigned int n)
{
	while (n)
		close(fds[--n]);
}

/**
 * exec_one() - run one command with the given stdio, wait for it
 * @argv:	NULL-terminated, argv[0] an absolute path
 * @stdio:	fds for 0, 1, 2
 *
 * Context: runs in the runner; SIGCHLD is SIG_DFL here.
 * Return: exit status; 128+N for death by signal N; 127 if exec failed
 * (126 if the file exists but cannot be executed); -errno if no process
 * could be started.
 */
static int exec_one(char *const *argv, const int *stdio)
{
	int errpipe[2], err = 0, status;
	ssize_t n;
	pid_t pid;

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(errpipe[0]);
		close(errpipe[1]);
		return err;
	}
	if (pid == 0) {
		int i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* the agent ignores SIGPIPE; a command starts with defaults */
		signal(SIGPIPE, SIG_DFL);
		for (i = 0; i < 3; i++)
			if (dup2(stdio[i], i) < 0)
				goto fail;
		/* only 0-2 survive the exec; errpipe closes on success */
		if (syscall(SYS_close_range, 3, ~0U, 4 /* CLOEXEC */) < 0) {
			int fd;

			for (fd = 3; fd < 1024; fd++)
				if (fd != errpipe[1])
					close(fd);
		}
		execv(argv[0], argv);
fail:
		err = errno;
		n = write(errpipe[1], &err, sizeof(err));
		(void)n;
		_exit(127);
	}
	close(errpipe[1]);
	do
		n = read(errpipe[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (n == (ssize_t)sizeof(err))
		return (err == EACCES || err == EPERM || err == ENOEXEC ||
			err == EISDIR) ? 126 : 127;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/**
 * run_commands() - the runner: execute a packed command sequence
 * @buf, @len:	packed commands (untrusted: vs_stackcmd_next validates)
 * @fds:	reply socket, stdin, stdout, stderr
 *
 * Context: a child of the agent; never returns.
 */
static void run_commands(const char *buf, size_t len, const int *fds,
			 pid_t agent)
{
	static char *argv[MAX_ARGV];
	unsigned int argc;
	size_t off = 0;
	int ret = 0, rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != agent) /* the agent died before prctl() */
		_exit(1);
	signal(SIGCHLD, SIG_DFL);
	while ((rc = vs_stackcmd_next(buf, len, &off, argv, MAX_ARGV,
				      &argc)) == 0) {
		ret = exec_one(argv, fds + 1);
		if (ret)
			break;
	}
	if (rc < 0 && rc != -ENODATA)
		reply(fds[0], VS_OP_CMD, rc, -1, "malformed command buffer");
	else if (ret < 0)
		reply(fds[0], VS_OP_CMD, ret, -1, "cannot start %s: %s",
		      argv[0], strerror(-ret));
	else
		reply(fds[0], VS_OP_CMD, ret, -1, NULL);
	_exit(0);
}

static void do_cmd(const char *payload, size_t len, int *fds, unsigned int n)
{
	pid_t agent = getpid(), pid;

	if (n != 4) {
		if (n)
			reply(fds[0], VS_OP_CMD, -EINVAL, -1, "bad fds");
		closeall(fds, n);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(CTL);
		run_commands(payload, len, fds, agent);
	}
	if (pid < 0)
		reply(fds[0], VS_OP_CMD, -errno, -1, "fork: %m");
	closeall(fds, n);
}

static void serve(void)
{
	static char buf[VS_REQ_MAX];
	int fds[VS_MAX_FDS];
	unsigned int nfds;
	struct vs_req req;
	ssize_t n;

	for (;;) {
		int out, fd = -1;

		n = vs_fd_recv(CTL, buf, sizeof(buf), fds, &nfds, VS_MAX_FDS);
		if (n == 0 || (n < 0 && n != -EMSGSIZE))
			return;
		if (n < (ssize_t)sizeof(req)) {
			closeall(fds, nfds);
			continue;
		}
		memcpy(&req, buf, sizeof(req));
		if (req.magic != VS_AGENT_MAGIC ||
		    req.len != (size_t)n - sizeof(req)) {
			closeall(fds, nfds);
			continue;
		}
		if (req.op == VS_OP_CMD) {
			do_cmd(buf + sizeof(req), req.len, fds, nfds);
			continue;
		}
		out = nfds ? fds[0] : CTL;
		switch (req.op) {
		case VS_OP_PING:
			reply(out, req.op, 0, -1, NULL);
			break;
		case VS_OP_SOCKET:
			fd = socket(req.arg[0], req.arg[1], req.arg[2]);
			if (fd < 0)
				reply(out, req.op, -errno, -1, "socket: %m");
			else
				reply(out, req.op, 0, fd, NULL);
			break;
		case VS_OP_OPEN_TUN:
			fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
			if (fd < 0)
				reply(out, req.op, -errno, -1,
				      "cannot open /dev/net/tun: %m");
			else
				reply(out, req.op, 0, fd, NULL);
			break;
		case VS_OP_SOCKETS: {
			int made[VS_SOCKET_BATCH_MAX];
			uint32_t want = 0;
			unsigned int k = 0;

			if (req.len == sizeof(want))
				memcpy(&want, buf + sizeof(req), sizeof(want));
			if (want < 1 || want > VS_SOCKET_BATCH_MAX) {
				reply(out, req.op, -EINVAL, -1, "bad count");
				break;
			}
			while (k < want) {
				int f = socket(req.arg[0], req.arg[1],
					       req.arg[2]);

				if (f < 0)
					break;
				made[k++] = f;
			}
			if (k == 0)
				reply(out, req.op, -errno, -1, "socket: %m");
			else
				reply_fds(out, req.op, (int)k, made, k);
			closeall(made, k);
			break;
		}
		default:
			reply(out, req.op, -EOPNOTSUPP, -1, "unknown request");
		}
		if (req.op == VS_OP_SOCKET || req.op == VS_OP_OPEN_TUN)
			if (fd >= 0)
				close(fd);
		closeall(fds, nfds);
	}
}

/**
 * setup() - make the process a clean agent
 *
 * Return: 0, or -errno with @what naming the failed step.
 */
/*
 * keep_net_caps() - effective, permitted and inheritable sets: exactly the
 * four network capabilities (a raw capset(2): the agent is linked
 * statically and needs nothing else from libcap-ng).
 */
static int keep_net_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned int i;

	memset(data, 0, sizeof(data));
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		uint32_t set = (uint32_t)(VS_NETCAPS >> (32 * i));

		data[i].effective = data[i].permitted = data[i].inheritable =
			set;
	}
	return syscall(SYS_capset, &hdr, data);
}

static int setup(const char **what)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t all;
	int sig, fd;

	/* ignored dispositions survive execve(): reset everything */
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	/* runners are reaped by the kernel; they answer over their socket */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	/* hold no application fd: only the control socket */
	if (syscall(SYS_close_range, CTL + 1, ~0U, 0) < 0)
		for (fd = CTL + 1; fd < 65536; fd++)
			close(fd);
	fd = open("/dev/null", O_RDWR);
	if (fd < 0) {
		*what = "open /dev/null";
		return -errno;
	}
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);

	/*
	 * The spawning child already reduced bounding set, permitted and
	 * ambient sets; make it explicit (and independent of how we were
	 * started) that nothing but the four network capabilities remains.
	 */
	if (keep_net_caps() < 0) {
		*what = "capset";
		return -EPERM;
	}
	for (sig = 0; sig <= CAP_LAST_CAP; sig++)
		if (VS_NETCAPS & (1ULL << sig))
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, sig, 0, 0);
	prctl(PR_SET_NAME, "vdestack-agent");
	/*
	 * A session of its own: a terminal's SIGINT/SIGHUP to the
	 * application's process group must not kill the stack behind the
	 * application's back (the application may ignore them).  The agent
	 * still ends with the application: EOF on its control socket.
	 */
	setsid();
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = "";
	int ret;

	if (fcntl(CTL, F_GETFD) < 0) {
		fprintf(stderr, "vdestack-agent: started by libvdestack only\n");
		return 2;
	}
	fcntl(CTL, F_SETFD, FD_CLOEXEC);
	ret = setup(&what);
	reply(CTL, VS_OP_HELLO, ret, -1, ret ? "agent setup: %s: %s" : NULL,
	      what, strerror(-ret));
	if (ret)
		return 1;
	serve();
	return 0;
}
