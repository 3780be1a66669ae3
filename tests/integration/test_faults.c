// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_faults.c - the library under faults: a dead agent, a dead
 * application, a hanging command, fd and process limits, the namespace
 * limit
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* pids of our children named vdestack-agent */
static int agents(pid_t *pids, int max)
{
	pid_t all[256];
	int n = list_children(all, 256), i, k = 0;


	for (i = 0; i < n && k < max; i++) {
		char path[64], comm[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", all[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, "vdestack-agent", 14))
			pids[k++] = all[i];
		fclose(f);
	}
	return k;
}

ISOLATED_TEST(test_killed_agent_fails_calls_cleanly)
{
	struct leak_snapshot before;
	struct vdestack *s;
	pid_t pid[4];

	require_stacks();
	leak_snapshot(&before);
	s = addstack(NULL, NULL);
	CHECK_EQ(agents(pid, 4), 1);
	CHECK_OK(kill(pid[0], SIGKILL));
	sleep_ms(100);
	CHECK_ERRNO(vde_msocket(s, AF_INET, SOCK_DGRAM, 0), 0);
	CHECK(errno == ECONNRESET || errno == EPIPE);
	CHECK(strlen(vde_stack_errmsg()) > 0);
	CHECK_ERRNO(vde_stackcmd(s, "/bin/true"), 0);
	vde_delstack(s);
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_killed_agent_with_network_deletes_cleanly)
{
	struct leak_snapshot before;
	struct pair p;
	pid_t pid[4];
	int i, n;

	require_network();
	leak_snapshot(&before);
	pair_seqpacket(&p);
	n = agents(pid, 4);
	CHECK_EQ(n, 2);
	for (i = 0; i < n; i++)
		kill(pid[i], SIGKILL);
	sleep_ms(100);
	CHECK_ERRNO(vde_msocket(p.a, AF_INET, SOCK_STREAM, 0), 0);
	pair_free(&p);
	CHECK_NO_LEAK(before);
}

struct cmd_arg {
	struct vdestack *s;
	int ret, err;
	double t;
};

static void *hang(void *arg)
{
	struct cmd_arg *c = arg;

	c->ret = vde_stackcmd(c->s, "/bin/sleep 60");
	c->err = errno;
	c->t = now_s();
	return NULL;
}

ISOLATED_TEST(test_hanging_command_does_not_block_delete)
{
	struct leak_snapshot before;
	struct cmd_arg c = { 0 };
	pthread_t th;
	double t0;

	require_stacks();
	leak_snapshot(&before);
	c.s = addstack(NULL, NULL);
	CHECK_EQ(pthread_create(&th, NULL, hang, &c), 0);
	sleep_ms(300);
	t0 = now_s();
	vde_delstack(c.s);
	CHECK_EQ(pthread_join(th, NULL), 0);
	/* the command's caller got an error, not a hang until the sleep */
	CHECK_EQ(c.ret, -1);
	CHECK(c.err == ECONNRESET || c.err == ESHUTDOWN);
	CHECK(c.t - t0 < 30);
	/* the sleep died with the agent (PR_SET_PDEATHSIG) */
	sleep_ms(200);
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_dead_application_leaves_no_process)
{
	int pfd[2], i, n;
	pid_t child, got[8];

	require_network();
	CHECK_OK(pipe(pfd));
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		struct pair p;
		struct vdestack *s;
		pid_t mine[8];
		int k;

		close(pfd[0]);
		pair_seqpacket(&p);
		s = addstack(NULL, NULL);
		/* a command that would outlive us without PDEATHSIG (from a
		 * thread: a forked child would legitimately keep the stack) */
		{
			static struct cmd_arg c;
			pthread_t th;

			c.s = s;
			if (pthread_create(&th, NULL, hang, &c))
				_exit(2);
		}
		sleep_ms(300);
		k = agents(mine, 8);
		if (write(pfd[1], mine, sizeof(pid_t) * (size_t)k) < 0)
			_exit(2);
		close(pfd[1]);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	n = (int)(read(pfd[0], got, sizeof(got)) / (ssize_t)sizeof(pid_t));
	close(pfd[0]);
	CHECK_EQ(n, 3);
	CHECK_OK(kill(child, SIGKILL));
	CHECK_EQ(waitpid(child, NULL, 0), child);
	sleep_ms(1000);
	for (i = 0; i < n; i++)
		CHECK_MSG(pid_gone(got[i]), "agent %d still alive", got[i]);
	/* nothing of the dead application is left among our children's
	 * descendants: the subreaper would have inherited it */
	{
		pid_t all[64];
		int k = list_children(all, 64), j;

		for (j = 0; j < k; j++)
			CHECK_MSG(pid_gone(all[j]), "process %d left", all[j]);
	}
}

/* RLIMIT_NOFILE bounds fd numbers, not counts: the lowest free number
 * (with the two wire fds taken) is where no new fd fits at all */
static int lowest_free_fd(void)
{
	int fd;

	for (fd = 0; fd_is_open(fd); fd++)
		;
	return fd + 2;
}

ISOLATED_TEST(test_fd_exhaustion_fails_addstack_without_leak)
{
	struct leak_snapshot before;
	struct rlimit rl;
	int limit, ok = 0, fail = 0;

	require_network();
	leak_snapshot(&before);
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &rl));
	/* every limit from "no room at all" to "room for everything" */
	for (limit = lowest_free_fd(); limit < lowest_free_fd() + 24;
	     limit++) {
		struct rlimit low = { (rlim_t)limit, rl.rlim_max };
		int w[2] = { -1, -1 };
		struct vdestack *s = NULL;
		char *url = NULL;

		if (wire_pair(w) == 0) {
			url = seqpacket_url(w[0]);
			CHECK_OK(setrlimit(RLIMIT_NOFILE, &low));
			errno = 0;
			s = vde_addstack(url, NULL);
			CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
		}
		if (s) {
			ok++;
			vde_delstack(s);
		} else {
			fail++;
			note("limit %d: %s (%s)", limit, strerror(errno),
			     vde_stack_errmsg());
			CHECK_MSG(errno != 0, "failure without errno at %d",
				  limit);
			if (w[0] >= 0)
				close(w[0]);
		}
		if (w[1] >= 0)
			close(w[1]);
		free(url);
		CHECK_NO_LEAK(before);
	}
	CHECK(ok > 0);
	CHECK(fail > 0);
}

ISOLATED_TEST(test_process_limit_fails_addstack_cleanly)
{
	struct leak_snapshot before;
	struct rlimit rl, zero;
	struct vdestack *s;

	require_stacks();
	if (geteuid() == 0)
		test_skip("RLIMIT_NPROC does not apply to root");
	leak_snapshot(&before);
	CHECK_OK(getrlimit(RLIMIT_NPROC, &rl));
	zero.rlim_cur = 0;
	zero.rlim_max = rl.rlim_max;
	CHECK_OK(setrlimit(RLIMIT_NPROC, &zero));
	errno = 0;
	s = vde_addstack(NULL, NULL);
	CHECK_OK(setrlimit(RLIMIT_NPROC, &rl));
	CHECK(s == NULL);
	CHECK_EQ(errno, EAGAIN);
	CHECK(strlen(vde_stack_errmsg()) > 0);
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_namespace_limit_reached_is_reported)
{
	struct leak_snapshot before;
	struct vdestack *s;
	int r;

	require_stacks();
	/* a user namespace of our own, whose net namespace limit is 0:
	 * limits apply to the namespaces created below it */
	r = userns_enter(0, geteuid(), getegid());
	if (r == USERNS_UNSHARE_FAILED)
		test_skip("unshare(CLONE_NEWUSER): %m");
	CHECK_MSG(r == 0, "mapping our ids in a user namespace: %m");
	if (proc_write("/proc/sys/user/max_net_namespaces", "0") < 0)
		test_skip("cannot lower user.max_net_namespaces: %m");
	leak_snapshot(&before);
	errno = 0;
	s = vde_addstack(NULL, NULL);
	CHECK(s == NULL);
	CHECK_EQ(errno, ENOSPC);
	CHECK_MSG(strstr(vde_stack_errmsg(), "max_net_namespaces") != NULL,
		  "message: %s", vde_stack_errmsg());
	CHECK_NO_LEAK(before);
}

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/*
 * refuse_rdwr_open() - from now on, in this process and everything it
 * starts, open(2)/openat(2) with exactly O_RDWR (no O_CLOEXEC) fails with
 * EACCES.  That is how the agent opens /dev/null in its setup (after
 * execve(), so the HELLO carries the error), while the library and the
 * spawning child open with O_CLOEXEC.
 */
static int refuse_rdwr_open(void)
{
#ifdef TEST_AUDIT_ARCH
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		BPF_JUMP(BPF_JMP | BPF_JA, 2, 0, 0),
#ifdef SYS_open
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
#else
		BPF_JUMP(BPF_JMP | BPF_JA, 4, 0, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)), /* unused */
#endif
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, O_ACCMODE | O_CLOEXEC),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, O_RDWR, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(f) / sizeof(f[0])),
		.filter = f,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * The agent's own setup fails (after execve(), reported in its HELLO):
 * vde_addstack() gives the agent's reason and errno, with and without a
 * network (with one, the backend was made already: it is taken down).
 */
ISOLATED_TEST(test_agent_setup_failure_is_reported_without_leak)
{
	struct leak_snapshot before;
	struct vdestack *s;
	int w[2], i;
	char *url;

	require_stacks();
	if (refuse_rdwr_open() < 0)
		test_skip("cannot install a seccomp filter: %m");
	for (i = 0; i < 2; i++) {
		url = NULL;
		w[0] = w[1] = -1;
		leak_snapshot(&before);
		if (i == 1) {
			if (!tun_available())
				break;
			CHECK_OK(wire_pair(w));
			url = seqpacket_url(w[0]);
		}
		errno = 0;
		s = vde_addstack(url, NULL);
		CHECK_MSG(s == NULL && errno == EACCES,
			  "vde_addstack(%s): %p, errno %d (%s)",
			  url ? url : "NULL", (void *)s, errno,
			  vde_stack_errmsg());
		CHECK_MSG(strstr(vde_stack_errmsg(),
				 "agent setup: open /dev/null: Permission "
				 "denied") != NULL,
			  "message: %s", vde_stack_errmsg());
		/* a failed vde_addstack() closed the seqpacket:// end */
		if (w[1] >= 0)
			close(w[1]);
		free(url);
		CHECK_NO_LEAK(before);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killed_agent_fails_calls_cleanly),
		cmocka_unit_test(test_killed_agent_with_network_deletes_cleanly),
		cmocka_unit_test(test_hanging_command_does_not_block_delete),
		cmocka_unit_test(test_dead_application_leaves_no_process),
		cmocka_unit_test(test_fd_exhaustion_fails_addstack_without_leak),
		cmocka_unit_test(test_process_limit_fails_addstack_cleanly),
		cmocka_unit_test(test_namespace_limit_reached_is_reported),
		cmocka_unit_test(
			test_agent_setup_failure_is_reported_without_leak),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
