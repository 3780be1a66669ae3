// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_agent_proto.c - fd passing and the agent's side of the protocol
 *
 * The agent program is started directly (no namespaces needed) with one
 * end of a socketpair as its fd 3, and fed well-formed and malformed
 * requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_proto.h"
#include "fdpass.h"
#include "stackcmd_parse.h"
#include "userns.h"

static void test_fd_send_recv_passes_descriptors(void **state)
{
	int sv[2], p[2], fds[4], got[4];
	unsigned int n;
	char buf[16];
	struct stat a, b;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	fds[0] = p[0];
	fds[1] = p[1];
	assert_int_equal(vs_fd_send(sv[0], "hdr", 3, "data", 4, fds, 2), 7);
	assert_int_equal(vs_fd_recv(sv[1], buf, sizeof(buf), got, &n, 4), 7);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "hdrdata", 7);
	assert_int_equal(fstat(got[0], &a), 0);
	assert_int_equal(fstat(p[0], &b), 0);
	assert_true(a.st_ino == b.st_ino);
	/* received fds are close-on-exec */
	assert_true(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	close(got[0]);
	close(got[1]);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

static int count_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void test_fd_recv_closes_excess_and_truncated(void **state)
{
	int sv[2], p[2], fds[3], got[1];
	unsigned int n = 99;
	char small[2];
	int before;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	fds[0] = fds[1] = fds[2] = p[0];
	before = count_fds();
	/* three fds, room for one: the two extra are closed */
	assert_int_equal(vs_fd_send(sv[0], "x", 1, NULL, 0, fds, 3), 1);
	assert_int_equal(vs_fd_recv(sv[1], small, sizeof(small), got, &n, 1),
			 1);
	assert_int_equal(n, 1);
	assert_int_equal(count_fds(), before + 1);
	close(got[0]);
	/* a truncated message loses its fds rather than leaking them */
	assert_int_equal(vs_fd_send(sv[0], "long message", 12, NULL, 0, fds, 3),
			 12);
	assert_int_equal(vs_fd_recv(sv[1], small, sizeof(small), got, &n, 1),
			 -EMSGSIZE);
	assert_int_equal(n, 0);
	assert_int_equal(count_fds(), before);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

struct agent {
	pid_t pid;
	int sock;
};

static char agent_path[PATH_MAX + 64];

static void find_agent(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	assert_true(n > 0);
	self[n] = '\0';
	/* build/<variant>/tests/unit/x -> build/<variant>/lib/vdestack/ */
	slash = strrchr(self, '/');
	*slash = '\0';
	snprintf(agent_path, sizeof(agent_path),
		 "%s/../../lib/vdestack/vdestack-agent", self);
}

static int agent_start(void **state)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct vs_reply hello;
	int sv[2];

	find_agent();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				    sv),
			 0);
	a->pid = fork();
	assert_true(a->pid >= 0);
	if (a->pid == 0) {
		/*
		 * The agent keeps the network capabilities it is given; an
		 * unprivileged run gives it a user namespace where it is root
		 * (the library's spawn maps the caller to itself instead and
		 * raises ambient capabilities: tested by the integration
		 * suite).
		 */
		if (geteuid() != 0 && userns_enter(CLONE_NEWNET, 0, 0) < 0)
			_exit(125);
		dup2(sv[1], VS_AGENT_CTL_FD);
		execl(agent_path, "vdestack-agent", (char *)NULL);
		_exit(126);
	}
	close(sv[1]);
	a->sock = sv[0];
	assert_int_equal(vs_fd_recv(a->sock, &hello, sizeof(hello), NULL, NULL,
				    0),
			 sizeof(hello));
	assert_int_equal(hello.magic, VS_AGENT_MAGIC);
	assert_int_equal(hello.op, VS_OP_HELLO);
	assert_int_equal(hello.ret, 0);
	*state = a;
	return 0;
}

static int agent_stop(void **state)
{
	struct agent *a = *state;
	int status;

	close(a->sock);
	/* EOF on the control socket is the agent's only exit signal */
	assert_int_equal(waitpid(a->pid, &status, 0), a->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free(a);
	return 0;
}

static int call(struct agent *a, uint32_t op, const int *args,
		const void *payload, size_t len, const int *fds,
		unsigned int nfds, int rsock, int *rfd, struct vs_reply *r)
{
	struct vs_req req = { .magic = VS_AGENT_MAGIC, .op = op,
			      .len = (uint32_t)len };
	unsigned int n = 0;
	int fd = -1;

	if (args)
		memcpy(req.arg, args, sizeof(req.arg));
	assert_true(vs_fd_send(a->sock, &req, sizeof(req), payload, len, fds,
			       nfds) > 0);
	assert_int_equal(vs_fd_recv(rsock, r, sizeof(*r), &fd, &n, 1),
			 sizeof(*r));
	assert_int_equal(r->magic, VS_AGENT_MAGIC);
	if (rfd)
		*rfd = n ? fd : -1;
	else if (n)
		close(fd);
	return r->ret;
}

static void test_agent_ping_and_socket(void **state)
{
	struct agent *a = *state;
	int args[3] = { AF_INET, SOCK_DGRAM, 0 }, fd, type;
	socklen_t len = sizeof(type);
	struct vs_reply r;

	assert_int_equal(call(a, VS_OP_PING, NULL, NULL, 0, NULL, 0, a->sock,
			      NULL, &r),
			 0);
	assert_int_equal(call(a, VS_OP_SOCKET, args, NULL, 0, NULL, 0, a->sock,
			      &fd, &r),
			 0);
	assert_true(fd >= 0);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	assert_int_equal(type, SOCK_DGRAM);
	close(fd);
}

static void test_agent_socket_error_is_errno(void **state)
{
	struct agent *a = *state;
	int args[3] = { 12345, SOCK_DGRAM, 0 }, fd;
	struct vs_reply r;

	assert_int_equal(call(a, VS_OP_SOCKET, args, NULL, 0, NULL, 0, a->sock,
			      &fd, &r),
			 -EAFNOSUPPORT);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(r.msg, "socket"));
}

static void test_agent_replies_on_private_socket(void **state)
{
	struct agent *a = *state;
	int args[3] = { AF_UNIX, SOCK_STREAM, 0 }, sv[2], fd;
	struct vs_reply r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(call(a, VS_OP_SOCKET, args, NULL, 0, &sv[1], 1, sv[0],
			      &fd, &r),
			 0);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

static void test_agent_ignores_bad_magic_and_answers_unknown_op(void **state)
{
	struct agent *a = *state;
	struct vs_req bad = { .magic = 0xdeadbeef, .op = VS_OP_PING };
	struct vs_reply r;

	assert_true(vs_fd_send(a->sock, &bad, sizeof(bad), NULL, 0, NULL, 0) >
		    0);
	assert_true(vs_fd_send(a->sock, "x", 1, NULL, 0, NULL, 0) > 0);
	/* the next well-formed request gets the next reply */
	assert_int_equal(call(a, 999, NULL, NULL, 0, NULL, 0, a->sock, NULL,
			      &r),
			 -EOPNOTSUPP);
	assert_int_equal(call(a, VS_OP_PING, NULL, NULL, 0, NULL, 0, a->sock,
			      NULL, &r),
			 0);
}

static void run_cmd(struct agent *a, const char *cmd, int *ret)
{
	char *buf, err[128];
	size_t len;
	unsigned int nc;
	int sv[2], fds[4];
	struct vs_reply r;

	assert_int_equal(vs_stackcmd_parse(cmd, &buf, &len, &nc, err,
					   sizeof(err)),
			 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fds[0] = sv[1];
	fds[1] = 0;
	fds[2] = 1;
	fds[3] = 2;
	*ret = call(a, VS_OP_CMD, NULL, buf, len, fds, 4, sv[0], NULL, &r);
	close(sv[0]);
	close(sv[1]);
	free(buf);
}

static void test_agent_cmd_statuses(void **state)
{
	struct agent *a = *state;
	int ret;

	run_cmd(a, "/bin/true; /bin/true", &ret);
	assert_int_equal(ret, 0);
	run_cmd(a, "/bin/sh -c 'exit 3'; /bin/true", &ret);
	assert_int_equal(ret, 3);
	run_cmd(a, "/bin/sh -c 'kill -TERM $$'", &ret);
	assert_int_equal(ret, 128 + SIGTERM);
	run_cmd(a, "/nonexistent/program", &ret);
	assert_int_equal(ret, 127);
	run_cmd(a, "/etc/passwd", &ret);
	assert_int_equal(ret, 126);
}

static void test_agent_rejects_malformed_command_buffer(void **state)
{
	struct agent *a = *state;
	/* argc 2 but only one string */
	char buf[] = { 2, 0, 0, 0, '/', 'x', 0 };
	int sv[2], fds[4];
	struct vs_reply r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fds[0] = sv[1];
	fds[1] = 0;
	fds[2] = 1;
	fds[3] = 2;
	assert_int_equal(call(a, VS_OP_CMD, NULL, buf, sizeof(buf), fds, 4,
			      sv[0], NULL, &r),
			 -EINVAL);
	close(sv[0]);
	close(sv[1]);
}

static void test_agent_cmd_with_missing_fds_is_refused(void **state)
{
	struct agent *a = *state;
	int sv[2];
	struct vs_reply r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(call(a, VS_OP_CMD, NULL, NULL, 0, &sv[1], 1, sv[0],
			      NULL, &r),
			 -EINVAL);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_send_recv_passes_descriptors),
		cmocka_unit_test(test_fd_recv_closes_excess_and_truncated),
		cmocka_unit_test_setup_teardown(test_agent_ping_and_socket,
						agent_start, agent_stop),
		cmocka_unit_test_setup_teardown(
			test_agent_socket_error_is_errno, agent_start,
			agent_stop),
		cmocka_unit_test_setup_teardown(
			test_agent_replies_on_private_socket, agent_start,
			agent_stop),
		cmocka_unit_test_setup_teardown(
			test_agent_ignores_bad_magic_and_answers_unknown_op,
			agent_start, agent_stop),
		cmocka_unit_test_setup_teardown(test_agent_cmd_statuses,
						agent_start, agent_stop),
		cmocka_unit_test_setup_teardown(
			test_agent_rejects_malformed_command_buffer,
			agent_start, agent_stop),
		cmocka_unit_test_setup_teardown(
			test_agent_cmd_with_missing_fds_is_refused,
			agent_start, agent_stop),
	};

	alarm(60);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
