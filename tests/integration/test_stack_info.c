// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_stack_info.c - vde_stack_errmsg(), vde_stack_backend(),
 * vde_stack_ifname(), vde_stack_stats() (libvdestack 0.2 extensions,
 * vde_stack_errmsg(3))
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

#define MB (1024 * 1024)

static void stats(struct vdestack *s, struct vde_stack_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	CHECK_OK(vde_stack_stats(s, st, sizeof(*st)));
}

ISOLATED_TEST(test_stats_count_the_frames_of_a_transfer)
{
	struct pair p;
	struct vde_stack_stats a0, b0, a1, b1;

	require_network();
	pair_seqpacket(&p);
	stats(p.a, &a0);
	stats(p.b, &b0);
	/* b is the client: it sends 2 MB, a receives them */
	CHECK_EQ(tcp_transfer(p.a, "10.0.0.1", p.b, 2 * MB, 30), 2 * MB);
	stats(p.a, &a1);
	stats(p.b, &b1);
	CHECK_MSG(b1.tx_bytes - b0.tx_bytes >= 2 * MB, "sender tx_bytes +%llu",
		  (unsigned long long)(b1.tx_bytes - b0.tx_bytes));
	CHECK_MSG(a1.rx_bytes - a0.rx_bytes >= 2 * MB,
		  "receiver rx_bytes +%llu",
		  (unsigned long long)(a1.rx_bytes - a0.rx_bytes));
	CHECK(b1.tx_frames - b0.tx_frames >= 2 * MB / 9216);
	CHECK(a1.rx_frames - a0.rx_frames >= 2 * MB / 9216);
	/* the ACKs flow the other way */
	CHECK(a1.tx_frames > a0.tx_frames);
	CHECK(b1.rx_frames > b0.rx_frames);
	CHECK_EQ(a1.errors, 0);
	CHECK_EQ(b1.errors, 0);
	pair_free(&p);
}

ISOLATED_TEST(test_stats_start_at_zero_and_none_without_network)
{
	struct vde_stack_stats st;
	struct vdestack *s;

	require_stacks();
	s = addstack(NULL, NULL);
	CHECK_MSG(s, "vde_addstack: %m");
	stats(s, &st);
	CHECK_EQ(st.rx_frames, 0);
	CHECK_EQ(st.tx_frames, 0);
	CHECK_EQ(st.rx_bytes, 0);
	CHECK_EQ(st.tx_bytes, 0);
	CHECK_EQ(st.rx_dropped, 0);
	CHECK_EQ(st.tx_dropped, 0);
	CHECK_EQ(st.errors, 0);
	vde_delstack(s);
}

ISOLATED_TEST(test_stats_honour_the_callers_size)
{
	struct pair p;
	unsigned char buf[sizeof(struct vde_stack_stats) + 16];

	require_network();
	pair_seqpacket(&p);
	CHECK_EQ(tcp_transfer(p.a, "10.0.0.1", p.b, MB, 30), MB);
	/* an older, smaller structure: nothing written past it */
	memset(buf, 0xa5, sizeof(buf));
	CHECK_OK(vde_stack_stats(p.a, (struct vde_stack_stats *)buf, 8));
	CHECK_MSG(*(uint64_t *)buf != 0xa5a5a5a5a5a5a5a5ULL &&
			  *(uint64_t *)buf > 0,
		  "rx_frames not written");
	for (size_t i = 8; i < sizeof(buf); i++)
		CHECK_MSG(buf[i] == 0xa5, "byte %zu written", i);
	/* a newer, larger one: the extra bytes are zeroed */
	memset(buf, 0xa5, sizeof(buf));
	CHECK_OK(vde_stack_stats(p.a, (struct vde_stack_stats *)buf,
				 sizeof(buf)));
	for (size_t i = sizeof(struct vde_stack_stats); i < sizeof(buf); i++)
		CHECK_MSG(buf[i] == 0, "byte %zu not zeroed", i);
	pair_free(&p);
}

ISOLATED_TEST(test_stats_bad_arguments_are_einval)
{
	struct vde_stack_stats st;
	struct vdestack *s;

	require_stacks();
	s = addstack(NULL, NULL);
	CHECK(s);
	CHECK_ERRNO(vde_stack_stats(NULL, &st, sizeof(st)), EINVAL);
	CHECK_ERRNO(vde_stack_stats(s, NULL, sizeof(st)), EINVAL);
	CHECK_ERRNO(vde_stack_stats(s, &st, 0), EINVAL);
	CHECK(*vde_stack_errmsg());
	vde_delstack(s);
}

ISOLATED_TEST(test_ifname_and_backend_names)
{
	struct vdestack *s, *n;
	int w[2];
	char *u;

	require_network();
	CHECK_OK(wire_pair(w));
	u = seqpacket_url(w[0]);
	s = addstack(u, "eth3");
	CHECK_MSG(s, "vde_addstack: %m");
	CHECK_STREQ(vde_stack_ifname(s), "eth3");
	CHECK_STREQ(vde_stack_backend(s), "tap");
	n = addstack(NULL, NULL);
	CHECK(n);
	CHECK_STREQ(vde_stack_ifname(n), "vde0");
	CHECK_STREQ(vde_stack_backend(n), "none");
	errno = 0;
	CHECK(vde_stack_ifname(NULL) == NULL && errno == EINVAL);
	errno = 0;
	CHECK(vde_stack_backend(NULL) == NULL && errno == EINVAL);
	vde_delstack(s);
	vde_delstack(n);
}

ISOLATED_TEST(test_errmsg_describes_the_last_failure_of_this_thread)
{
	struct vdestack *s;
	const char *m;

	require_stacks();
	s = addstack(NULL, NULL);
	CHECK(s);
	/* a success after vde_addstack: empty */
	CHECK_STREQ(vde_stack_errmsg(), "");
	vde_delstack(s);

	errno = 0;
	CHECK(!addstack("vde:///nonexistent/vdestack-test", NULL));
	m = vde_stack_errmsg();
	CHECK_MSG(m && *m, "no message after a failed vde_addstack");
	note("errmsg: %s", m);
	CHECK_MSG(strlen(m) < 256, "message longer than 255 bytes");

	errno = 0;
	CHECK(!addstack(NULL, "0123456789abcdefg"));
	CHECK_EQ(errno, EINVAL);
	m = vde_stack_errmsg();
	CHECK_MSG(m && *m, "no message for a bad ifname");
	note("errmsg: %s", m);
}

static void *errmsg_thread(void *arg)
{
	*(const char **)arg = strdup(vde_stack_errmsg());
	return NULL;
}

ISOLATED_TEST(test_errmsg_is_per_thread)
{
	const char *other = NULL;
	pthread_t t;

	require_stacks();
	CHECK(!addstack(NULL, "0123456789abcdefg"));
	CHECK(*vde_stack_errmsg());
	CHECK_EQ(pthread_create(&t, NULL, errmsg_thread, &other), 0);
	pthread_join(t, NULL);
	CHECK_STREQ(other, "");
	CHECK(*vde_stack_errmsg());
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_count_the_frames_of_a_transfer),
		cmocka_unit_test(
			test_stats_start_at_zero_and_none_without_network),
		cmocka_unit_test(test_stats_honour_the_callers_size),
		cmocka_unit_test(test_stats_bad_arguments_are_einval),
		cmocka_unit_test(test_ifname_and_backend_names),
		cmocka_unit_test(
			test_errmsg_describes_the_last_failure_of_this_thread),
		cmocka_unit_test(test_errmsg_is_per_thread),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
