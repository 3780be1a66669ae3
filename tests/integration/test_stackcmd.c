// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_stackcmd.c - vde_stackcmd(): results, splitting, quoting and the
 * environment a command gets (ids, capabilities, fds, stdio, namespace)
 *
 * What a command sees is recorded by this very binary started as a probe
 * ("<self> --probe FILE args..."), see helpers.h.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

/* CAP_NET_BIND_SERVICE 10, CAP_NET_BROADCAST 11, CAP_NET_ADMIN 12,
 * CAP_NET_RAW 13 */
#define NET_CAPS 0x3c00ULL

/*
 * A stack on a socketpair: vde_stackcmd() on a stack without network is
 * defect 1, tested on its own in test_defects.c; here it would hide every
 * other result when run against upstream.
 */
static struct vdestack *stack_plain(void)
{
	struct vdestack *s;
	int w[2];
	char *u;

	require_network();
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = addstack(u, NULL);
	CHECK_MSG(s, "vde_addstack(%s): %m", u);
	free(u);
	return s;
}

/**
 * struct status_case - commands on one stack and what each must return
 * @name:	the test's name
 * @cmd:	run in turn, up to the first without @cmd and @want (no
 *		row wants 0 from a NULL command)
 * @cmd.want:	the exit status, or -errno: -1 with that errno
 */
struct status_case {
	const char *name;
	struct {
		const char *cmd;
		int want;
	} cmd[6];
};

static const struct status_case status_cases[] = {
	{"test_stackcmd_success_returns_zero",
	 {{"/bin/true", 0}, {"/bin/sh -c 'exit 0'", 0}}},
	{"test_stackcmd_returns_exit_status",
	 {{"/bin/false", 1},
	  {"/bin/sh -c 'exit 2'", 2},
	  {"/bin/sh -c 'exit 77'", 77}}},
	{"test_stackcmd_returns_first_failing_status",
	 {{"/bin/true; /bin/sh -c 'exit 3'; /bin/sh -c 'exit 5'", 3},
	  {"/bin/true, /bin/true, /bin/sh -c 'exit 4'", 4}}},
	{"test_stackcmd_signal_death_is_128_plus_signal",
	 {{"/bin/sh -c 'kill -9 $$'", 128 + 9},
	  {"/bin/sh -c 'kill -15 $$'", 128 + 15}}},
	{"test_stackcmd_missing_binary_is_127",
	 {{"/nonexistent/vdestack-test-binary", 127}}},
	{"test_stackcmd_relative_path_is_einval",
	 {{"true", -EINVAL},
	  {"bin/true", -EINVAL},
	  {"./true", -EINVAL},
	  {"/bin/true; true", -EINVAL}}},
	{"test_stackcmd_empty_null_malformed_are_einval",
	 {{"", -EINVAL},
	  {"   ", -EINVAL},
	  {NULL, -EINVAL},
	  {"/bin/echo 'unterminated", -EINVAL},
	  {"/bin/echo \"unterminated", -EINVAL},
	  /* still usable afterwards */
	  {"/bin/true", 0}}},
};

ISOLATED_TABLE_TEST(test_stackcmd_status, struct status_case)
{
	struct vdestack *s = stack_plain();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(row->cmd); i++) {
		const char *cmd = row->cmd[i].cmd;
		const char *shown = cmd ? cmd : "NULL";
		int want = row->cmd[i].want, r, err;

		if (!cmd && !want)
			break;
		errno = 0;
		r = vde_stackcmd(s, cmd);
		err = errno;
		if (want >= 0)
			CHECK_MSG(r == want, "vde_stackcmd(%s): %d, want %d",
				  shown, r, want);
		else
			CHECK_MSG(r == -1 && err == -want,
				  "vde_stackcmd(%s): %d errno %d (%s), want -1 "
				  "errno %d (%s)",
				  shown, r, err, strerror(err), -want,
				  strerror(-want));
	}
	vde_delstack(s);
}

ISOLATED_TEST(test_stackcmd_non_executable_file_is_126)
{
	struct vdestack *s = stack_plain();
	char *dir = make_tmpdir(), *f = path_in(dir, "notexec");

	CHECK_OK(write_file_str(f, "#!/bin/sh\nexit 0\n", 0644));
	CHECK_EQ(stackcmdf(s, "%s", f), 126);
	vde_delstack(s);
	remove_tree(dir);
}

ISOLATED_TEST(test_stackcmd_null_stack_is_einval)
{
	require_stacks();
	errno = 0;
	int r = vde_stackcmd(NULL, "/bin/true");
	CHECK_MSG(r == -1 && (errno == EINVAL || errno == EBADF),
		  "vde_stackcmd(NULL): %d errno %d", r, errno);
}

ISOLATED_TEST(test_stackcmd_semicolon_and_comma_separate_commands)
{
	struct vdestack *s = stack_plain();
	char *d = make_tmpdir();
	const char *names[] = {"a", "b", "c", "d", "e"};

	CHECK_EQ(stackcmdf(s,
			   "/usr/bin/touch %s/a; /usr/bin/touch %s/b,"
			   "/usr/bin/touch %s/c,   /usr/bin/touch %s/d ;"
			   "/usr/bin/touch %s/e",
			   d, d, d, d, d),
		 0);
	for (size_t i = 0; i < 5; i++) {
		char *p = path_in(d, names[i]);
		CHECK_MSG(file_exists(p), "%s was not created", p);
		free(p);
	}
	/* "b," must not have been taken as a file name */
	char *bad = path_in(d, "b,");
	CHECK_MSG(!file_exists(bad), "%s exists: comma not split", bad);
	vde_delstack(s);
	remove_tree(d);
}

ISOLATED_TEST(test_stackcmd_comma_not_followed_by_slash_stays_in_argument)
{
	struct vdestack *s = stack_plain();
	char *d = make_tmpdir();
	struct probe p;

	CHECK_EQ(run_probe(s, d, "80,443 a,b x, y", &p), 0);
	CHECK_EQ(p.argc, 4);
	CHECK_STREQ(p.argv[0], "80,443");
	CHECK_STREQ(p.argv[1], "a,b");
	CHECK_STREQ(p.argv[2], "x,");
	CHECK_STREQ(p.argv[3], "y");

	/* touch makes one file named "x,y" */
	CHECK_EQ(stackcmdf(s, "/usr/bin/touch %s/x,y", d), 0);
	char *xy = path_in(d, "x,y");
	CHECK_MSG(file_exists(xy), "%s missing", xy);
	vde_delstack(s);
	remove_tree(d);
}

ISOLATED_TEST(test_stackcmd_shell_like_quoting)
{
	struct vdestack *s = stack_plain();
	char *d = make_tmpdir();
	struct probe p;

	CHECK_EQ(run_probe(s, d,
			   "'a b' \"c d\" e\\ f 'g;h' \"i, /j\" 'k,/l' "
			   "\"it's\" ''",
			   &p),
		 0);
	CHECK_EQ(p.argc, 8);
	CHECK_STREQ(p.argv[0], "a b");
	CHECK_STREQ(p.argv[1], "c d");
	CHECK_STREQ(p.argv[2], "e f");
	CHECK_STREQ(p.argv[3], "g;h");
	CHECK_STREQ(p.argv[4], "i, /j");
	CHECK_STREQ(p.argv[5], "k,/l");
	CHECK_STREQ(p.argv[6], "it's");
	CHECK_STREQ(p.argv[7], "");
	vde_delstack(s);
	remove_tree(d);
}

ISOLATED_TEST(test_stackcmd_runs_with_caller_uid_gid)
{
	struct vdestack *s = stack_plain();
	char *d = make_tmpdir();
	struct probe p;

	CHECK_EQ(run_probe(s, d, NULL, &p), 0);
	CHECK(p.argc >= 0);
	CHECK_EQ(p.uid, getuid());
	CHECK_EQ(p.euid, geteuid());
	CHECK_EQ(p.gid, getgid());
	CHECK_EQ(p.egid, getegid());
	vde_delstack(s);
	remove_tree(d);
}

ISOLATED_TEST(test_stackcmd_ambient_caps_are_exactly_the_net_caps)
{
	struct vdestack *s = stack_plain();
	char *d = make_tmpdir();
	struct probe p;

	CHECK_EQ(run_probe(s, d, NULL, &p), 0);
	CHECK(p.argc >= 0);
	CHECK_MSG(p.capamb == NET_CAPS, "CapAmb %llx, want %llx", p.capamb,
		  NET_CAPS);
	CHECK_MSG((p.capeff & NET_CAPS) == NET_CAPS, "CapEff %llx", p.capeff);
	/* and they work: a command can configure the stack */
	CHECK_EQ(vde_stackcmd(s, "/bin/ip link set lo up"), 0);
	CHECK_EQ(vde_stackcmd(s, "/bin/ip addr add 10.9.9.9/32 dev lo"), 0);
	vde_delstack(s);
	remove_tree(d);
}

ISOLATED_TEST(test_stackcmd_command_has_only_fds_0_1_2)
{
	struct vdestack *s = stack_plain();
	char *d = make_tmpdir();
	struct probe p;

	CHECK_EQ(run_probe(s, d, NULL, &p), 0);
	CHECK(p.argc >= 0);
	for (int i = 0; i < p.nfds; i++)
		note("command fd %d", p.fds[i]);
	CHECK_EQ(p.nfds, 3);
	for (int i = 0; i < p.nfds; i++)
		CHECK(p.fds[i] >= 0 && p.fds[i] <= 2);
	vde_delstack(s);
	remove_tree(d);
}

ISOLATED_TEST(test_stackcmd_uses_application_stdio)
{
	struct vdestack *s = stack_plain();
	char *d = make_tmpdir();
	struct probe p;

	CHECK_EQ(run_probe(s, d, NULL, &p), 0);
	CHECK(p.argc >= 0);
	for (int i = 0; i < 3; i++)
		CHECK_MSG(p.stdio_id[i] == stdio_id(i),
			  "fd %d of the command is not the application's", i);
	vde_delstack(s);
	remove_tree(d);
}

ISOLATED_TEST(test_stackcmd_runs_in_the_stack_network_namespace)
{
	struct vdestack *s = stack_plain();
	char *d = make_tmpdir();
	struct probe p;
	uint64_t ns = stack_netns(s);

	CHECK(ns != 0);
	CHECK(ns != host_netns());
	CHECK_EQ(run_probe(s, d, NULL, &p), 0);
	CHECK(p.argc >= 0);
	CHECK_EQ(p.netns, ns);
	vde_delstack(s);
	remove_tree(d);
}

ISOLATED_TEST(test_stackcmd_configuration_is_visible_to_msocket)
{
	struct vdestack *s = stack_plain();
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd;

	CHECK_EQ(vde_stackcmd(s, "/bin/ip link set lo up; "
				 "/bin/ip addr add 10.77.0.1/32 dev lo"),
		 0);
	fd = CHECK_OK(vde_msocket(s, AF_INET, SOCK_DGRAM, 0));
	sin.sin_addr.s_addr = htonl(0x0a4d0001);
	CHECK_OK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	close(fd);
	vde_delstack(s);
}

ISOLATED_TEST(test_stackcmd_many_commands_in_sequence)
{
	struct vdestack *s = stack_plain();

	for (int i = 0; i < 100; i++)
		CHECK_EQ(vde_stackcmd(s, "/bin/true"), 0);
	vde_delstack(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stackcmd_non_executable_file_is_126),
		cmocka_unit_test(test_stackcmd_null_stack_is_einval),
		cmocka_unit_test(
			test_stackcmd_semicolon_and_comma_separate_commands),
		cmocka_unit_test(
			test_stackcmd_comma_not_followed_by_slash_stays_in_argument),
		cmocka_unit_test(test_stackcmd_shell_like_quoting),
		cmocka_unit_test(test_stackcmd_runs_with_caller_uid_gid),
		cmocka_unit_test(
			test_stackcmd_ambient_caps_are_exactly_the_net_caps),
		cmocka_unit_test(test_stackcmd_command_has_only_fds_0_1_2),
		cmocka_unit_test(test_stackcmd_uses_application_stdio),
		cmocka_unit_test(
			test_stackcmd_runs_in_the_stack_network_namespace),
		cmocka_unit_test(
			test_stackcmd_configuration_is_visible_to_msocket),
		cmocka_unit_test(test_stackcmd_many_commands_in_sequence),
	};

	helpers_init(argc, argv);
	return run_table_tests(test_stackcmd_status, status_cases, tests);
}
