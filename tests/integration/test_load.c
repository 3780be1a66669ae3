// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_load.c - the library under load: many threads creating, using and
 * deleting stacks; a thousand stacks at once; 100k vde_msocket() calls;
 * a long TCP transfer with a byte-for-byte check.  Zero leaks, zero hangs.
 *
 * VDESTACK_LOAD_SECONDS sets the duration of the churn test (default 20;
 * the reliability runs in doc/reliability.md used minutes).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

static int load_seconds(void)
{
	const char *e = getenv("VDESTACK_LOAD_SECONDS");
	int s = e ? atoi(e) : 0;

	return s > 0 ? s : 20;
}

struct churn {
	double until;
	long cycles, sockets, errors;
	char why[256];
};

static void *churn(void *arg)
{
	struct churn *c = arg;

	while (now_s() < c->until) {
		int w[2], i;
		char *url;
		struct vdestack *s;

		if (wire_pair(w) < 0) {
			c->errors++;
			snprintf(c->why, sizeof(c->why), "socketpair: %m");
			break;
		}
		url = seqpacket_url(w[0]);
		s = vde_addstack(url, NULL);
		free(url);
		if (!s) {
			c->errors++;
			snprintf(c->why, sizeof(c->why), "vde_addstack: %m (%s)",
				 vde_stack_errmsg());
			close(w[0]);
			close(w[1]);
			break;
		}
		for (i = 0; i < 20; i++) {
			int fd = vde_msocket(s, i & 1 ? AF_INET6 : AF_INET,
					     SOCK_DGRAM | SOCK_CLOEXEC, 0);

			if (fd < 0) {
				c->errors++;
				snprintf(c->why, sizeof(c->why),
					 "vde_msocket: %m");
			} else {
				c->sockets++;
				close(fd);
			}
		}
		if ((c->cycles & 7) == 0 && vde_stackcmd(s, "/bin/true") != 0) {
			c->errors++;
			snprintf(c->why, sizeof(c->why), "vde_stackcmd failed");
		}
		vde_delstack(s);
		close(w[1]);
		c->cycles++;
	}
	return NULL;
}

ISOLATED_TEST_T(test_eight_threads_churn_stacks_without_leak, 600)
{
	struct leak_snapshot before;
	struct churn c[8];
	pthread_t th[8];
	long cycles = 0;
	int i;

	require_network();
	leak_snapshot(&before);
	for (i = 0; i < 8; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].until = now_s() + load_seconds();
		CHECK_EQ(pthread_create(&th[i], NULL, churn, &c[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		CHECK_EQ(pthread_join(th[i], NULL), 0);
		CHECK_MSG(c[i].errors == 0, "thread %d: %ld errors, last: %s",
			  i, c[i].errors, c[i].why);
		cycles += c[i].cycles;
	}
	note("%ld create/use/delete cycles in %d s by 8 threads", cycles,
	     load_seconds());
	CHECK(cycles >= 8);
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST_T(test_thousand_stacks_in_one_process, 600)
{
	struct leak_snapshot before;
	struct vdestack **s;
	struct rlimit rl;
	int i, n = 1000;

	require_network();
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 16000)
		test_skip("RLIMIT_NOFILE hard limit %llu is too low",
			  (unsigned long long)rl.rlim_cur);
	leak_snapshot(&before);
	s = calloc((size_t)n, sizeof(*s));
	CHECK(s != NULL);
	for (i = 0; i < n; i++) {
		char net[96];

		/* hub:// needs no peer fd and keeps a relay per stack */
		snprintf(net, sizeof(net), "hub://%s/hub%d", make_tmpdir(), i);
		s[i] = vde_addstack(net, NULL);
		CHECK_MSG(s[i] != NULL, "stack %d: %s (%s)", i,
			  strerror(errno), vde_stack_errmsg());
	}
	/* every one still answers */
	for (i = 0; i < n; i++) {
		int fd = vde_msocket(s[i], AF_INET, SOCK_DGRAM, 0);

		CHECK_MSG(fd >= 0, "stack %d: %m", i);
		close(fd);
	}
	for (i = 0; i < n; i++)
		vde_delstack(s[i]);
	free(s);
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST_T(test_hundred_thousand_msockets, 600)
{
	struct leak_snapshot before;
	struct vdestack *s;
	int i;

	require_stacks();
	leak_snapshot(&before);
	s = addstack(NULL, NULL);
	CHECK(s != NULL);
	for (i = 0; i < 100000; i++) {
		int fd = vde_msocket(s, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		CHECK_MSG(fd >= 0, "call %d: %m", i);
		close(fd);
	}
	vde_delstack(s);
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST_T(test_long_tcp_transfer_is_exact, 600)
{
	struct leak_snapshot before;
	struct pair p;
	size_t n = (size_t)256 << 20;

	require_network();
	leak_snapshot(&before);
	pair_seqpacket(&p);
	CHECK_EQ(tcp_transfer(p.a, "10.0.0.1", p.b, n, 300), (long long)n);
	pair_free(&p);
	CHECK_NO_LEAK(before);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eight_threads_churn_stacks_without_leak),
		cmocka_unit_test(test_thousand_stacks_in_one_process),
		cmocka_unit_test(test_hundred_thousand_msockets),
		cmocka_unit_test(test_long_tcp_transfer_is_exact),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
