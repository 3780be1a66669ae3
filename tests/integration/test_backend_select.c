// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_backend_select.c - which backend a stack gets: "backend=", "auto",
 * VNL schemes claimed by a backend, options checked against the backend,
 * VDESTACK_OPTIONS
 *
 * Tests that need a real forwarding path use the installed layout
 * (lib/vdestack/tap.so) and skip without /dev/net/tun.  The others point
 * VDESTACK_BACKEND_DIR at build/<variant>/tests/plugins/, whose fake
 * backends fail create() on purpose with a reason echoing what the core
 * passed them (tests/plugins/fake.h): that shows the choice and the
 * options without any network, as root or not.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

static char plugdir[PATH_MAX];

static void use_test_plugins(void)
{
	setenv("VDESTACK_BACKEND_DIR", plugdir, 1);
}

#define CHECK_CONTAINS(hay, needle)                                            \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		CHECK_MSG(h_ &&strstr(h_, n_), "\"%s\" lacks \"%s\"",          \
			  h_ ? h_ : "(null)", n_);                             \
	} while (0)

/**
 * addstack_fails() - vde_addstack_opt() on a fresh wire must fail
 * @opts:	options string (NULL: vde_addstack())
 * @err:	expected errno
 * @needle:	text the message must contain
 *
 * Return: the message (static copy).
 */
static const char *addstack_fails(const char *opts, int err, const char *needle)
{
	static char msg[512];
	struct vdestack *s;
	int w[2];
	char *u;

	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	errno = 0;
	s = opts ? vde_addstack_opt(u, NULL, opts) : vde_addstack(u, NULL);
	CHECK_MSG(!s && errno == err,
		  "vde_addstack_opt(%s, \"%s\"): %p errno %d (%s), want NULL "
		  "errno %d (%s); message \"%s\"",
		  u, opts ? opts : "(vde_addstack)", (void *)s, errno,
		  strerror(errno), err, strerror(err), vde_stack_errmsg());
	snprintf(msg, sizeof(msg), "%s", vde_stack_errmsg());
	CHECK_CONTAINS(msg, needle);
	note("%s -> %s", opts ? opts : "(none)", msg);
	free(u);
	close(w[1]);
	if (fd_is_open(w[0]))
		close(w[0]);
	return msg;
}

/* A stack on a fresh wire that must be created; Return: it. */
static struct vdestack *addstack_ok(const char *opts)
{
	struct vdestack *s;
	int w[2];
	char *u;

	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = opts ? vde_addstack_opt(u, NULL, opts) : vde_addstack(u, NULL);
	CHECK_MSG(s, "vde_addstack_opt(%s, \"%s\"): %m: %s", u,
		  opts ? opts : "(vde_addstack)", vde_stack_errmsg());
	free(u);
	return s;
}

/* -------------------------------------------------- the real tap backend */

ISOLATED_TEST(test_backend_nonexistent_is_enoent_naming_it)
{
	addstack_fails("backend=nonexistent", ENOENT,
		       "backend nonexistent is not installed");
}

ISOLATED_TEST(test_backend_tap_gives_a_tap_stack)
{
	struct vdestack *s;

	require_network();
	s = addstack_ok("backend=tap");
	CHECK_STREQ(vde_stack_backend(s), "tap");
	CHECK_EQ(stack_get_mtu(s, "vde0"), 1500);
	vde_delstack(s);
}

/*
 * What "auto" must pick from the installed backends: the usable relay of
 * highest priority (tap on a machine without an accessible /dev/vhost-net).
 */
static const char *expected_auto(void)
{
	static char name[64];
	struct vde_backend_info *l;
	size_t n, i;
	int best = -1;

	CHECK_OK(vde_backend_list(&l, &n));
	for (i = 0; i < n; i++)
		if (l[i].usable && !l[i].schemes &&
		    (best < 0 || l[i].priority > l[best].priority))
			best = (int)i;
	CHECK_MSG(best >= 0, "no usable relay installed");
	snprintf(name, sizeof(name), "%s", l[best].name);
	vde_backend_list_free(l, n);
	return name;
}

ISOLATED_TEST(test_backend_auto_picks_highest_priority_usable_relay)
{
	struct vdestack *s;
	const char *want;

	require_network();
	want = expected_auto();
	s = addstack_ok("backend=auto");
	CHECK_STREQ(vde_stack_backend(s), want);
	note("auto picked %s", want);
	vde_delstack(s);
}

ISOLATED_TEST(test_no_backend_option_means_auto)
{
	struct vdestack *s;
	const char *want;

	require_network();
	want = expected_auto();
	s = addstack_ok(NULL);
	CHECK_STREQ(vde_stack_backend(s), want);
	vde_delstack(s);
}

ISOLATED_TEST(test_tap_mtu_beyond_its_max_is_einval)
{
	struct vdestack *s;

	require_network();
	addstack_fails("backend=tap,mtu=9217", EINVAL, "9216");
	s = addstack_ok("backend=tap,mtu=9216");
	CHECK_EQ(stack_get_mtu(s, "vde0"), 9216);
	vde_delstack(s);
}

ISOLATED_TEST(test_tap_unknown_option_is_einval_naming_key)
{
	require_network();
	addstack_fails("backend=tap,bogus=1", EINVAL, "bogus");
}

ISOLATED_TEST(test_tap_not_runnable_named_explicitly_fails_with_reason)
{
	require_stacks();
	if (tun_available())
		test_skip("/dev/net/tun is accessible: tap can run here");
	addstack_fails("backend=tap", EACCES, "/dev/net/tun");
}

ISOLATED_TEST(test_vdestack_options_env_applies_to_vde_addstack)
{
	setenv("VDESTACK_OPTIONS", "backend=nonexistent", 1);
	addstack_fails(NULL, ENOENT, "nonexistent");
	setenv("VDESTACK_OPTIONS", "mtu=abc", 1);
	addstack_fails(NULL, EINVAL, "mtu");
}

ISOLATED_TEST(test_vdestack_options_env_mtu_reaches_tap)
{
	struct vdestack *s;

	require_network();
	setenv("VDESTACK_OPTIONS", "backend=tap,mtu=9000", 1);
	s = addstack_ok(NULL);
	CHECK_STREQ(vde_stack_backend(s), "tap");
	CHECK_EQ(stack_get_mtu(s, "vde0"), 9000);
	vde_delstack(s);
}

/* ------------------------------------------------- the test plugins dir */

ISOLATED_TEST(test_auto_skips_broken_unusable_and_claiming_backends)
{
	struct vdestack *s;

	/*
	 * badabi (100), claims (1000), unusable (50) rank above tap (10);
	 * relay (5) is next when tap cannot run.
	 */
	require_stacks();
	use_test_plugins();
	if (!tun_available()) {
		addstack_fails("backend=auto", ENOTSUP,
			       "backend relay: fake create");
		return;
	}
	s = addstack_ok("backend=auto");
	CHECK_STREQ(vde_stack_backend(s), "tap");
	vde_delstack(s);
}

ISOLATED_TEST(test_auto_falls_back_to_the_next_usable_relay)
{
	char *dir = make_tmpdir(), *link;
	char *target = path_in(plugdir, "relay.so");

	require_stacks();
	link = path_in(dir, "relay.so");
	CHECK_OK(symlink(target, link));
	free(link);
	free(target);
	target = path_in(plugdir, "unusable.so");
	link = path_in(dir, "unusable.so");
	CHECK_OK(symlink(target, link));
	setenv("VDESTACK_BACKEND_DIR", dir, 1);
	/* relay's create() runs (and fails on purpose): it was chosen */
	addstack_fails("backend=auto", ENOTSUP, "backend relay: fake create");
	remove_tree(dir);
}

ISOLATED_TEST(test_auto_with_nothing_usable_says_why_for_each)
{
	char *dir = make_tmpdir();
	char *target = path_in(plugdir, "unusable.so");
	char *link = path_in(dir, "unusable.so");

	CHECK_OK(symlink(target, link));
	setenv("VDESTACK_BACKEND_DIR", dir, 1);
	addstack_fails(NULL, EACCES,
		       "unusable: unusable: a test backend that never runs");
	remove_tree(dir);
}

ISOLATED_TEST(test_unknown_option_key_is_einval_naming_it)
{
	const char *m;

	use_test_plugins();
	m = addstack_fails("backend=relay,bogus=1", EINVAL, "bogus");
	CHECK_CONTAINS(m, "known: queues");
}

ISOLATED_TEST(test_mtu_beyond_backend_max_is_einval)
{
	use_test_plugins();
	addstack_fails("backend=relay,mtu=1501", EINVAL,
		       "larger than backend relay can carry (1500)");
}

ISOLATED_TEST(test_options_and_mtu_reach_the_backend)
{
	const char *m;

	require_stacks();
	use_test_plugins();
	m = addstack_fails("backend=relay,queues=4,mtu=1500", ENOTSUP,
			   "fake create");
	CHECK_CONTAINS(m, "options 'queues=4'");
	CHECK_CONTAINS(m, "mtu 1500");
	CHECK_CONTAINS(m, "conn yes");
}

ISOLATED_TEST(test_explicit_options_override_environment)
{
	require_stacks();
	use_test_plugins();
	setenv("VDESTACK_OPTIONS", "backend=nonexistent,queues=2", 1);
	addstack_fails("backend=relay", ENOTSUP, "options 'queues=2'");
}

ISOLATED_TEST(test_named_unusable_backend_fails_with_probe_errno)
{
	use_test_plugins();
	addstack_fails("backend=unusable", EACCES,
		       "backend unusable cannot run here: unusable: a test "
		       "backend that never runs");
}

ISOLATED_TEST(test_named_broken_backend_is_elibbad_with_its_error)
{
	use_test_plugins();
	addstack_fails("backend=badabi", ELIBBAD, "ABI 999");
	addstack_fails("backend=corrupt", ELIBBAD, "not an ELF file");
	addstack_fails("backend=truncated", ELIBBAD, "truncated");
	addstack_fails("backend=nosym", ELIBBAD, "no symbol");
	addstack_fails("backend=misnamed", ELIBBAD, "\"other\"");
}

ISOLATED_TEST(test_claimed_scheme_goes_to_its_backend)
{
	struct vdestack *s;
	const char *m;

	require_stacks();
	use_test_plugins();
	errno = 0;
	s = vde_addstack_opt("testscheme://here", NULL, "mode=bridge");
	CHECK(!s && errno == ENOTSUP);
	m = vde_stack_errmsg();
	CHECK_CONTAINS(m, "backend claims: fake create");
	CHECK_CONTAINS(m, "vdenet 'testscheme://here' conn no");
	CHECK_CONTAINS(m, "options 'mode=bridge'");
	s = vde_addstack_opt("testscheme://here", NULL, "bogus=1");
	CHECK(!s && errno == EINVAL);
	CHECK_CONTAINS(vde_stack_errmsg(), "known: mode");
}

ISOLATED_TEST(test_relay_named_for_a_claimed_scheme_is_einval)
{
	struct vdestack *s;

	use_test_plugins();
	errno = 0;
	s = vde_addstack_opt("testscheme://here", NULL, "backend=relay");
	CHECK(!s && errno == EINVAL);
	CHECK_CONTAINS(vde_stack_errmsg(), "claimed by backend claims");
}

ISOLATED_TEST(test_claiming_backend_named_for_a_plain_vnl_is_einval)
{
	use_test_plugins();
	addstack_fails("backend=claims", EINVAL, "only serves its own scheme");
}

ISOLATED_TEST(test_prefetched_descriptors_come_without_the_agent)
{
	struct leak_snapshot before;
	int i;

	/*
	 * prefetch.so takes one socket the usual way, kills the agent, then
	 * takes its prefetched descriptors (which must work) and one more of
	 * each kind (which must fail: the agent is gone).  Its fourth entry
	 * is never taken: the core must close it.
	 */
	require_stacks();
	if (!tun_available())
		skip();
	use_test_plugins();
	addstack_fails("backend=prefetch", ENOTSUP, "prefetch:");
	leak_snapshot(&before);
	for (i = 0; i < 3; i++)
		addstack_fails("backend=prefetch", ENOTSUP,
			       "prefetch: asked killed tun dgram netlink "
			       "rest-asked nonblock cloexec tun-cloexec "
			       "tap-in-stack same-netns.");
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_descriptor_older_than_prefetch_loads_and_runs)
{
	/* its prefetch field holds a bad pointer past its size */
	require_stacks();
	use_test_plugins();
	addstack_fails("backend=oldsize", ENOTSUP,
		       "backend oldsize: fake create");
}

ISOLATED_TEST(test_failed_selection_leaks_nothing)
{
	struct leak_snapshot before;
	int i;

	require_stacks();
	use_test_plugins();
	/* load everything once: dlopen()ed plugins stay, by design */
	addstack_fails("backend=relay,mtu=1500", ENOTSUP, "fake create");
	addstack_fails("backend=badabi", ELIBBAD, "ABI");
	leak_snapshot(&before);
	for (i = 0; i < 20; i++) {
		addstack_fails("backend=nonexistent", ENOENT, "nonexistent");
		addstack_fails("backend=badabi", ELIBBAD, "ABI");
		addstack_fails("backend=unusable", EACCES, "never runs");
		addstack_fails("backend=relay,mtu=1500", ENOTSUP,
			       "fake create");
	}
	CHECK_NO_LEAK(before);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_nonexistent_is_enoent_naming_it),
		cmocka_unit_test(test_backend_tap_gives_a_tap_stack),
		cmocka_unit_test(
			test_backend_auto_picks_highest_priority_usable_relay),
		cmocka_unit_test(test_no_backend_option_means_auto),
		cmocka_unit_test(test_tap_mtu_beyond_its_max_is_einval),
		cmocka_unit_test(test_tap_unknown_option_is_einval_naming_key),
		cmocka_unit_test(
			test_tap_not_runnable_named_explicitly_fails_with_reason),
		cmocka_unit_test(
			test_vdestack_options_env_applies_to_vde_addstack),
		cmocka_unit_test(test_vdestack_options_env_mtu_reaches_tap),
		cmocka_unit_test(
			test_auto_skips_broken_unusable_and_claiming_backends),
		cmocka_unit_test(test_auto_falls_back_to_the_next_usable_relay),
		cmocka_unit_test(
			test_auto_with_nothing_usable_says_why_for_each),
		cmocka_unit_test(test_unknown_option_key_is_einval_naming_it),
		cmocka_unit_test(test_mtu_beyond_backend_max_is_einval),
		cmocka_unit_test(test_options_and_mtu_reach_the_backend),
		cmocka_unit_test(test_explicit_options_override_environment),
		cmocka_unit_test(
			test_named_unusable_backend_fails_with_probe_errno),
		cmocka_unit_test(
			test_named_broken_backend_is_elibbad_with_its_error),
		cmocka_unit_test(test_claimed_scheme_goes_to_its_backend),
		cmocka_unit_test(
			test_relay_named_for_a_claimed_scheme_is_einval),
		cmocka_unit_test(
			test_claiming_backend_named_for_a_plain_vnl_is_einval),
		cmocka_unit_test(
			test_prefetched_descriptors_come_without_the_agent),
		cmocka_unit_test(
			test_descriptor_older_than_prefetch_loads_and_runs),
		cmocka_unit_test(test_failed_selection_leaks_nothing),
	};

	helpers_init(argc, argv);
	/* the environment must not choose for the tests that do not set it */
	unsetenv("VDESTACK_OPTIONS");
	unsetenv("VDESTACK_BACKEND_DIR");
	/* build/<variant>/tests/integration/<this> -> tests/plugins */
	snprintf(self, sizeof(self), "%s", self_exe());
	snprintf(plugdir, sizeof(plugdir), "%s/../plugins", dirname(self));
	if (!realpath(plugdir, self)) {
		fprintf(stderr, "test plugins not found in %s\n", plugdir);
		return 1;
	}
	snprintf(plugdir, sizeof(plugdir), "%s", self);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
