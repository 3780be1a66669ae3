// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_lifecycle.c - vde_addstack()/vde_delstack(): bad input, and
 * deletion leaves nothing behind (fds, threads, child processes, the VDE
 * connection), also while another thread is inside a call
 */
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define CYCLES 50

/* One create / use / delete; @url may be NULL. */
static void cycle(const char *url, int i)
{
	struct vdestack *s = addstack(url, NULL);
	int fd;

	CHECK_MSG(s, "cycle %d: vde_addstack(%s): %m", i, url ? url : "NULL");
	fd = vde_msocket(s, AF_INET, SOCK_DGRAM, 0);
	CHECK_MSG(fd >= 0, "cycle %d: vde_msocket: %m", i);
	close(fd);
	if (i % 10 == 0)
		CHECK_EQ(vde_stackcmd(s, "/bin/true"), 0);
	vde_delstack(s);
}

static void cycles_fixed(const char *url)
{
	struct leak_snapshot before;

	leak_snapshot(&before);
	for (int i = 0; i < CYCLES; i++) {
		cycle(url, i);
		if (i == 0)
			CHECK_NO_LEAK(before);
	}
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_delstack_leaves_nothing_null_network_50_cycles)
{
	require_stacks();
	cycles_fixed(NULL);
}

ISOLATED_TEST(test_delstack_leaves_nothing_empty_network_50_cycles)
{
	require_stacks();
	cycles_fixed("");
}

ISOLATED_TEST(test_delstack_leaves_nothing_seqpacket_50_cycles)
{
	struct leak_snapshot before;

	require_network();
	leak_snapshot(&before);
	for (int i = 0; i < CYCLES; i++) {
		int w[2];
		uint64_t id;
		char *u;

		CHECK_OK(wire_pair(w));
		id = stdio_id(w[0]);
		u = seqpacket_url(w[0]);
		cycle(u, i);
		free(u);
		/* vde_close() closed the stack's end of the wire */
		CHECK_MSG(!fd_is_open(w[0]) || stdio_id(w[0]) != id,
			  "cycle %d: seqpacket fd %d still open", i, w[0]);
		close(w[1]);
		if (i == 0)
			CHECK_NO_LEAK(before);
	}
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_delstack_leaves_nothing_switch_50_cycles)
{
	char *d, *u;

	require_network();
	d = make_tmpdir();
	if (asprintf(&u, "switch://%s/sw", d) < 0)
		abort();
	/* the same directory every cycle: it must be released each time */
	cycles_fixed(u);
	remove_tree(d);
}

ISOLATED_TEST(test_delstack_leaves_nothing_hub_50_cycles)
{
	char *d, *u;

	require_network();
	d = make_tmpdir();
	if (asprintf(&u, "hub://%s/hub", d) < 0)
		abort();
	cycles_fixed(u);
	remove_tree(d);
}

ISOLATED_TEST(test_delstack_leaves_nothing_vde_client_50_cycles)
{
	char *d, *us, *uv, *ctl;
	pid_t sw;
	int st;

	require_network();
	d = make_tmpdir();
	if (asprintf(&us, "switch://%s/sw", d) < 0 ||
	    asprintf(&uv, "vde://%s/sw", d) < 0)
		abort();
	/* the switch in another process: its side of each connection is
	 * closed asynchronously and must not count as the client's leak */
	sw = CHECK_OK(fork());
	if (sw == 0) {
		if (!addstack(us, NULL))
			_exit(1);
		pause();
		_exit(0);
	}
	ctl = path_in(d, "sw/ctl");
	for (int i = 0; i < 500 && !file_exists(ctl); i++)
		sleep_ms(10);
	CHECK_MSG(file_exists(ctl), "the switch:// stack did not start");
	cycles_fixed(uv);
	kill(sw, SIGKILL);
	waitpid(sw, &st, 0);
	remove_tree(d);
}

ISOLATED_TEST(test_delstack_leaves_nothing_ptp_50_cycles)
{
	char *d, *u;

	require_network();
	d = make_tmpdir();
	if (asprintf(&u, "ptp://%s/ptp", d) < 0)
		abort();
	cycles_fixed(u);
	remove_tree(d);
}

ISOLATED_TEST(test_delstack_leaves_nothing_udp_50_cycles)
{
	int port[2];
	char *u;

	require_network();
	free_udp_ports(port, 2);
	if (asprintf(&u, "udp://127.0.0.1:%d->127.0.0.1:%d", port[0], port[1]) <
	    0)
		abort();
	/* the same local port every cycle: it must be closed each time */
	cycles_fixed(u);
}

ISOLATED_TEST(test_delstack_leaves_nothing_vde2_switch_50_cycles)
{
	struct vswitch sw;
	char *d, *swdir;

	require_network();
	d = make_tmpdir();
	swdir = path_in(d, "vs");
	if (vswitch_start(&sw, swdir) < 0) {
		remove_tree(d);
		test_skip("vde_switch (package vde2) not usable");
	}
	cycles_fixed(sw.url);
	vswitch_stop(&sw);
	remove_tree(d);
}

ISOLATED_TEST(test_delstack_switch_dir_can_be_recreated_at_once)
{
	struct vdestack *s;
	char *d, *u;

	require_network();
	d = make_tmpdir();
	if (asprintf(&u, "switch://%s/sw", d) < 0)
		abort();
	s = addstack(u, NULL);
	CHECK_MSG(s, "vde_addstack(%s): %m", u);
	vde_delstack(s);
	s = addstack(u, NULL);
	CHECK_MSG(s, "re-creating %s right after vde_delstack: %m", u);
	vde_delstack(s);
	remove_tree(d);
}

ISOLATED_TEST(test_delstack_many_stacks_alive_at_once)
{
	struct leak_snapshot before;
	struct vdestack *s[16];
	int w[16][2];

	require_network();
	leak_snapshot(&before);
	for (int i = 0; i < 16; i++) {
		char *u;

		CHECK_OK(wire_pair(w[i]));
		u = seqpacket_url(w[i][0]);
		s[i] = addstack(i % 2 ? u : NULL, NULL);
		CHECK_MSG(s[i], "stack %d: %m", i);
		free(u);
	}
	for (int i = 0; i < 16; i++) {
		int fd = CHECK_OK(vde_msocket(s[i], AF_INET, SOCK_DGRAM, 0));
		close(fd);
	}
	for (int i = 15; i >= 0; i--) {
		vde_delstack(s[i]);
		if (i % 2 == 0)
			close(w[i][0]);
		close(w[i][1]);
	}
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_delstack_null_is_noop)
{
	require_stacks();
	vde_delstack(NULL);
}

struct blocked {
	struct vdestack *s;
	char *cmd;
	_Atomic int done; /* polled by the main thread */
	int rc;
};

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;

	b->rc = vde_stackcmd(b->s, b->cmd);
	b->done = 1;
	return NULL;
}

ISOLATED_TEST(test_delstack_while_other_thread_blocked_in_stackcmd)
{
	struct vdestack *s;
	struct blocked b = {0};
	struct leak_snapshot before;
	pthread_t t;
	char *d = make_tmpdir(), *pidf = path_in(d, "pid"), *text;
	double t0, t1;
	pid_t cmdpid;
	int w[2];
	char *u;

	require_network();
	leak_snapshot(&before);
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = addstack(u, NULL);
	CHECK_MSG(s, "vde_addstack: %m");
	if (asprintf(&b.cmd,
		     "/bin/sh -c 'echo $$ > %s.tmp && "
		     "/bin/mv %s.tmp %s && exec /bin/sleep 30'",
		     pidf, pidf, pidf) < 0)
		abort();
	b.s = s;
	CHECK_EQ(pthread_create(&t, NULL, blocked_main, &b), 0);
	for (int i = 0; i < 500 && !file_exists(pidf) && !b.done; i++)
		sleep_ms(10);
	text = read_file_str(pidf);
	CHECK_MSG(text, "the command did not start");
	cmdpid = atoi(text);
	CHECK(cmdpid > 0);
	sleep_ms(100);
	t0 = now_s();
	vde_delstack(s);
	t1 = now_s();
	CHECK_MSG(t1 - t0 < 10, "vde_delstack took %.1f s", t1 - t0);
	for (int i = 0; i < 500 && !b.done; i++)
		sleep_ms(10);
	CHECK_MSG(b.done, "vde_stackcmd still blocked after vde_delstack");
	pthread_join(t, NULL);
	CHECK_MSG(b.rc != 0, "vde_stackcmd returned 0 for an interrupted "
			     "command");
	for (int i = 0; i < 100 && !pid_gone(cmdpid); i++)
		sleep_ms(10);
	CHECK_MSG(pid_gone(cmdpid), "the command (pid %d) outlived its stack",
		  cmdpid);
	close(w[1]);
	CHECK_NO_LEAK(before);
	remove_tree(d);
}

/* ------------------------------------------------------------ bad input */

/*
 * @wire: the caller's seqpacket fd in @url, or -1.  Whether a failed
 * vde_addstack() has already consumed it (vde_close) is not specified:
 * the leak check allows for both.
 */
static void bad_addstack_wire(const char *url, const char *ifname, int want,
			      int wire)
{
	struct leak_snapshot before;
	struct vdestack *s;

	leak_snapshot(&before);
	errno = 0;
	s = addstack(url, ifname);
	int err = errno;
	CHECK_MSG(!s, "vde_addstack(%s, %s) succeeded", url ? url : "NULL",
		  ifname ? ifname : "NULL");
	CHECK_MSG(want ? err == want : err != 0,
		  "vde_addstack(%s, %s): errno %d (%s), want %d",
		  url ? url : "NULL", ifname ? ifname : "NULL", err,
		  strerror(err), want);
	if (wire >= 0 && !fd_is_open(wire))
		before.fds--;
	CHECK_NO_LEAK(before);
}

static void bad_addstack(const char *url, const char *ifname, int want)
{
	bad_addstack_wire(url, ifname, want, -1);
}

static void bad_ifname_on_wire(const char *ifname)
{
	int w[2];
	char *u;

	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	bad_addstack_wire(u, ifname, EINVAL, w[0]);
	if (fd_is_open(w[0]))
		close(w[0]);
	close(w[1]);
	free(u);
}

ISOLATED_TEST(test_addstack_invalid_ifname_is_einval)
{
	require_stacks();
	bad_addstack(NULL, "", EINVAL);
	bad_addstack(NULL, "0123456789abcdef", EINVAL); /* 16 chars */
	bad_addstack(NULL, "0123456789abcdefghij", EINVAL);
	bad_addstack(NULL, "a/b", EINVAL);
	bad_addstack(NULL, "a b", EINVAL);
}

ISOLATED_TEST(test_addstack_invalid_ifname_with_network_is_einval)
{
	require_network();
	bad_ifname_on_wire("");
	bad_ifname_on_wire("0123456789abcdef");
	bad_ifname_on_wire("a/b");
}

ISOLATED_TEST(test_addstack_longest_ifname_is_accepted)
{
	struct vdestack *s;
	int w[2];
	char *u;

	require_network();
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = addstack(u, "0123456789abcde"); /* IFNAMSIZ - 1 */
	CHECK_MSG(s, "vde_addstack with a 15-char ifname: %m");
	CHECK_OK(stack_ifflags(s, "0123456789abcde"));
	vde_delstack(s);
}

ISOLATED_TEST(test_addstack_null_ifname_is_vde0)
{
	struct vdestack *s;
	int w[2];
	char *u;

	require_network();
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = addstack(u, NULL);
	CHECK_MSG(s, "vde_addstack: %m");
	CHECK_OK(stack_ifflags(s, "vde0"));
#if HAVE_EXTENSIONS
	CHECK_STREQ(vde_stack_ifname(s), "vde0");
#endif
	vde_delstack(s);
}

ISOLATED_TEST(test_addstack_custom_ifname)
{
	struct vdestack *s;
	int w[2];
	char *u;

	require_network();
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = addstack(u, "eth7");
	CHECK_MSG(s, "vde_addstack: %m");
	CHECK_OK(stack_ifflags(s, "eth7"));
	CHECK_MSG(stack_ifflags(s, "vde0") < 0, "vde0 exists too");
	CHECK_EQ(stack_up_if(s, "eth7", "10.0.0.1/24"), 0);
#if HAVE_EXTENSIONS
	CHECK_STREQ(vde_stack_ifname(s), "eth7");
#endif
	vde_delstack(s);
}

ISOLATED_TEST(test_addstack_null_network_has_only_lo)
{
	struct vdestack *s;

	require_stacks();
	s = addstack(NULL, NULL);
	CHECK_MSG(s, "vde_addstack: %m");
	CHECK_OK(stack_ifflags(s, "lo"));
	CHECK_MSG(stack_ifflags(s, "vde0") < 0, "vde0 exists without network");
	vde_delstack(s);
}

ISOLATED_TEST(test_addstack_bogus_scheme_fails_without_leak)
{
	require_stacks();
	bad_addstack("bogusscheme://whatever", NULL, 0);
	bad_addstack("nonsense-without-scheme", NULL, 0);
}

ISOLATED_TEST(test_addstack_nonexistent_vde_dir_fails_without_leak)
{
	require_stacks();
	bad_addstack("vde:///nonexistent/vdestack-test/dir", NULL, 0);
	bad_addstack("ptp:///nonexistent/vdestack-test/ptp", NULL, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_delstack_leaves_nothing_null_network_50_cycles),
		cmocka_unit_test(
			test_delstack_leaves_nothing_empty_network_50_cycles),
		cmocka_unit_test(
			test_delstack_leaves_nothing_seqpacket_50_cycles),
		cmocka_unit_test(test_delstack_leaves_nothing_switch_50_cycles),
		cmocka_unit_test(test_delstack_leaves_nothing_hub_50_cycles),
		cmocka_unit_test(
			test_delstack_leaves_nothing_vde_client_50_cycles),
		cmocka_unit_test(test_delstack_leaves_nothing_ptp_50_cycles),
		cmocka_unit_test(test_delstack_leaves_nothing_udp_50_cycles),
		cmocka_unit_test(
			test_delstack_leaves_nothing_vde2_switch_50_cycles),
		cmocka_unit_test(
			test_delstack_switch_dir_can_be_recreated_at_once),
		cmocka_unit_test(test_delstack_many_stacks_alive_at_once),
		cmocka_unit_test(test_delstack_null_is_noop),
		cmocka_unit_test(
			test_delstack_while_other_thread_blocked_in_stackcmd),
		cmocka_unit_test(test_addstack_invalid_ifname_is_einval),
		cmocka_unit_test(
			test_addstack_invalid_ifname_with_network_is_einval),
		cmocka_unit_test(test_addstack_longest_ifname_is_accepted),
		cmocka_unit_test(test_addstack_null_ifname_is_vde0),
		cmocka_unit_test(test_addstack_custom_ifname),
		cmocka_unit_test(test_addstack_null_network_has_only_lo),
		cmocka_unit_test(test_addstack_bogus_scheme_fails_without_leak),
		cmocka_unit_test(
			test_addstack_nonexistent_vde_dir_fails_without_leak),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
