// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_vhost_absent.c - the vhost-net backend on a kernel without vhost-net
 *
 * Our build machines' kernels have no vhost-net (no /dev/vhost-net): the
 * backend must say so by name when asked for explicitly, and "auto" must
 * fall back to tap without a word.  On a machine where /dev/vhost-net can
 * be opened these tests skip; tests/vm/test_vhost.c covers that case.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

#define CHECK_CONTAINS(hay, needle)                                            \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		CHECK_MSG(h_ &&strstr(h_, n_), "\"%s\" lacks \"%s\"",          \
			  h_ ? h_ : "(null)", n_);                             \
	} while (0)

/* Skip where vhost-net works: these tests are about its absence. */
static void require_no_vhost(void)
{
	int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		test_skip("/dev/vhost-net works here (see tests/vm/)");
	}
	if (errno == EACCES || errno == EPERM)
		test_skip("/dev/vhost-net exists, not accessible: %m (the VM "
			  "tests cover that)");
}

ISOLATED_TEST(test_vhost_explicit_fails_naming_the_missing_device)
{
	struct leak_snapshot before;
	struct vdestack *s;
	const char *msg;
	int w[2], e;
	char *u;

	require_no_vhost();
	leak_snapshot(&before);
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	errno = 0;
	s = vde_addstack_opt(u, NULL, "backend=vhost-net");
	e = errno;
	msg = vde_stack_errmsg();
	note("backend=vhost-net: %s (%s)", strerror(e), msg);
	CHECK_MSG(!s, "vde_addstack_opt(backend=vhost-net) succeeded");
	CHECK_MSG(e == ENOENT || e == ENODEV,
		  "errno %d (%s), want ENOENT "
		  "or ENODEV",
		  e, strerror(e));
	CHECK_CONTAINS(msg, "/dev/vhost-net");
	CHECK_CONTAINS(msg, "no such device");
	CHECK_CONTAINS(msg, "vhost_net");
	/* a failed vde_addstack_opt() may or may not have consumed it */
	if (fd_is_open(w[0]))
		close(w[0]);
	close(w[1]);
	free(u);
	CHECK_NO_LEAK(before);
}

ISOLATED_TEST(test_vhost_absent_auto_falls_back_to_tap)
{
	struct vdestack *a, *b;
	int w[2];
	char *u0, *u1;

	require_no_vhost();
	require_network();
	CHECK_OK(wire_pair(w));
	u0 = seqpacket_url(w[0]);
	u1 = seqpacket_url(w[1]);
	a = vde_addstack_opt(u0, NULL, "backend=auto");
	CHECK_MSG(a, "backend=auto: %m: %s", vde_stack_errmsg());
	b = vde_addstack(u1, NULL);
	CHECK_MSG(b, "vde_addstack: %m: %s", vde_stack_errmsg());
	CHECK_STREQ(vde_stack_backend(a), "tap");
	CHECK_STREQ(vde_stack_backend(b), "tap");
	/* and the fallback forwards */
	CHECK_EQ(vde_stack_config(a, "ip=10.0.0.1/24"), 0);
	CHECK_EQ(vde_stack_config(b, "ip=10.0.0.2/24"), 0);
	CHECK_EQ(tcp_transfer(a, "10.0.0.1", b, 1 << 20, 30), 1 << 20);
	vde_delstack(a);
	vde_delstack(b);
	free(u0);
	free(u1);
}

ISOLATED_TEST(test_vhost_absent_listed_unusable_with_reason)
{
	struct vde_backend_info *list;
	const struct vde_backend_info *vh = NULL, *tap = NULL;
	size_t n;

	require_no_vhost();
	CHECK_OK(vde_backend_list(&list, &n));
	vh = backend_in_list(list, n, "vhost-net");
	tap = backend_in_list(list, n, "tap");
	CHECK_MSG(vh, "vhost-net is not in vde_backend_list()");
	CHECK_MSG(tap, "tap is not in vde_backend_list()");
	note("vhost-net: usable %d, errno %d, reason \"%s\"", vh->usable,
	     vh->probe_errno, vh->reason);
	CHECK_EQ(vh->load_errno, 0);
	CHECK_EQ(vh->usable, 0);
	CHECK(vh->probe_errno == ENOENT || vh->probe_errno == ENODEV);
	CHECK_CONTAINS(vh->reason, "/dev/vhost-net");
	/* "auto" would prefer it where it runs */
	CHECK(vh->priority > tap->priority);
	CHECK(vh->options != NULL);
	vde_backend_list_free(list, n);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_vhost_explicit_fails_naming_the_missing_device),
		cmocka_unit_test(test_vhost_absent_auto_falls_back_to_tap),
		cmocka_unit_test(test_vhost_absent_listed_unusable_with_reason),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
