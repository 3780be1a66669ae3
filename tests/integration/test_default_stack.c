// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_default_stack.c - vde_default_stack(): socket(2) of the whole
 * process goes to the default stack; NULL and vde_delstack() restore
 * the host
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

/*
 * A host socket: SIOCGSKNS names the host namespace, or is refused
 * (EPERM: no CAP_NET_ADMIN over the host) - over a stack we always
 * have it, so a refusal means "not a stack".
 */
static int in_host(int fd)
{
	uint64_t ns;

	errno = 0;
	ns = sock_netns(fd);
	if (ns)
		return ns == host_netns();
	return errno == EPERM;
}

static struct vdestack *plain_stack(void)
{
	struct vdestack *s;

	require_stacks();
	s = addstack(NULL, NULL);
	CHECK_MSG(s, "vde_addstack(NULL): %m");
	return s;
}

ISOLATED_TEST(test_default_stack_redirects_socket)
{
	struct vdestack *s = plain_stack();
	uint64_t ns = stack_netns(s);
	int fd;

	fd = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0));
	CHECK(in_host(fd));
	close(fd);
	vde_default_stack(s);
	fd = CHECK_OK(socket(AF_INET, SOCK_STREAM, 0));
	CHECK_EQ(sock_netns(fd), ns);
	close(fd);
	fd = CHECK_OK(socket(AF_INET6, SOCK_DGRAM, 0));
	CHECK_EQ(sock_netns(fd), ns);
	close(fd);
	fd = CHECK_OK(socket(AF_NETLINK, SOCK_RAW, 0));
	CHECK_EQ(sock_netns(fd), ns);
	close(fd);
	vde_default_stack(NULL);
	vde_delstack(s);
}

ISOLATED_TEST(test_default_stack_socket_honours_flags)
{
	struct vdestack *s = plain_stack();
	int fd;

	vde_default_stack(s);
	fd = CHECK_OK(
		socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK_EQ(sock_netns(fd), stack_netns(s));
	close(fd);
	fd = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0));
	CHECK(!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	close(fd);
	vde_default_stack(NULL);
	vde_delstack(s);
}

struct other {
	uint64_t ns;
	int err;
};

static void *other_thread(void *arg)
{
	struct other *o = arg;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0) {
		o->err = errno;
		return NULL;
	}
	o->ns = sock_netns(fd);
	o->err = o->ns ? 0 : errno;
	close(fd);
	return NULL;
}

ISOLATED_TEST(test_default_stack_applies_to_other_threads)
{
	struct vdestack *s = plain_stack();
	struct other o = {0};
	pthread_t t;

	vde_default_stack(s);
	CHECK_EQ(pthread_create(&t, NULL, other_thread, &o), 0);
	pthread_join(t, NULL);
	CHECK_MSG(o.ns == stack_netns(s), "thread socket ns %llu err %d",
		  (unsigned long long)o.ns, o.err);
	vde_default_stack(NULL);
	vde_delstack(s);
}

static void *setter_thread(void *arg)
{
	vde_default_stack(arg);
	return NULL;
}

/* set in a thread, observed in main */
ISOLATED_TEST(test_default_stack_set_from_another_thread)
{
	struct vdestack *s = plain_stack();
	pthread_t t;
	int fd;

	CHECK_EQ(pthread_create(&t, NULL, setter_thread, s), 0);
	pthread_join(t, NULL);
	fd = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0));
	CHECK_EQ(sock_netns(fd), stack_netns(s));
	close(fd);
	vde_default_stack(NULL);
	vde_delstack(s);
}

ISOLATED_TEST(test_default_stack_null_restores_host)
{
	struct vdestack *s = plain_stack();
	int fd;

	vde_default_stack(s);
	vde_default_stack(NULL);
	fd = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0));
	CHECK_MSG(in_host(fd), "socket still in the stack after NULL");
	close(fd);
	vde_delstack(s);
}

ISOLATED_TEST(test_default_stack_cleared_by_delstack)
{
	struct vdestack *s = plain_stack();
	int fd;

	vde_default_stack(s);
	vde_delstack(s);
	fd = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0));
	CHECK_MSG(in_host(fd), "socket not in host after delstack");
	close(fd);
}

ISOLATED_TEST(test_default_stack_deleting_another_stack_keeps_default)
{
	struct vdestack *a = plain_stack(), *b = plain_stack();
	uint64_t ns = stack_netns(a);
	int fd;

	vde_default_stack(a);
	vde_delstack(b);
	fd = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0));
	CHECK_EQ(sock_netns(fd), ns);
	close(fd);
	vde_default_stack(NULL);
	vde_delstack(a);
}

ISOLATED_TEST(test_default_stack_switches_between_stacks)
{
	struct vdestack *a = plain_stack(), *b = plain_stack();
	int fd;

	CHECK(stack_netns(a) != stack_netns(b));
	for (int i = 0; i < 10; i++) {
		struct vdestack *s = i & 1 ? b : a;

		vde_default_stack(s);
		fd = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0));
		CHECK_EQ(sock_netns(fd), stack_netns(s));
		close(fd);
	}
	vde_default_stack(NULL);
	vde_delstack(a);
	vde_delstack(b);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_stack_redirects_socket),
		cmocka_unit_test(test_default_stack_socket_honours_flags),
		cmocka_unit_test(test_default_stack_applies_to_other_threads),
		cmocka_unit_test(test_default_stack_set_from_another_thread),
		cmocka_unit_test(test_default_stack_null_restores_host),
		cmocka_unit_test(test_default_stack_cleared_by_delstack),
		cmocka_unit_test(
			test_default_stack_deleting_another_stack_keeps_default),
		cmocka_unit_test(test_default_stack_switches_between_stacks),
	};

	helpers_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
