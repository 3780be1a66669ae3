// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * prog.c - a libvdestack 0.1.2 client, built against Debian's vdestack.h
 * and libvdestack.so, run with ours on LD_LIBRARY_PATH (see run.sh)
 *
 * Two stacks on a socketpair, configured with vde_stackcmd(), 1 MB of TCP
 * from a vde_msocket() client to a server made by socket(2) under
 * vde_default_stack(), compared byte for byte.  Prints the libvdestack
 * file it runs with (from /proc/self/maps) and exits 0 on success.
 * Uses only what upstream's header declares, with its non-const types.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vdestack.h>

#define N (1 << 20)

static int fail(const char *what)
{
	perror(what);
	return 1;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

static void print_lib(void)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (p && strstr(p, "/libvdestack.so")) {
			printf("loaded: %s", p);
			break;
		}
	}
	if (f)
		fclose(f);
}

int main(void)
{
	char url0[32], url1[32];
	char cmd_a[] = "/bin/ip link set vde0 up; "
		       "/bin/ip addr add 10.0.0.1/24 dev vde0";
	char cmd_b[] = "/bin/ip link set vde0 up; "
		       "/bin/ip addr add 10.0.0.2/24 dev vde0";
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct vdestack *a, *b;
	unsigned char *buf = malloc(N);
	int w[2], lfd, cfd, afd, st;
	size_t got = 0;
	pid_t writer;

	alarm(60);
	print_lib();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, w) < 0)
		return fail("socketpair");
	snprintf(url0, sizeof(url0), "seqpacket://%d", w[0]);
	snprintf(url1, sizeof(url1), "seqpacket://%d", w[1]);
	a = vde_addstack(url0, NULL);
	b = vde_addstack(url1, NULL);
	if (!a || !b)
		return fail("vde_addstack");
	if (vde_stackcmd(a, cmd_a) != 0 || vde_stackcmd(b, cmd_b) != 0)
		return fail("vde_stackcmd");

	/* server: plain socket(2) redirected to stack a */
	vde_default_stack(a);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	vde_default_stack(NULL);
	sin.sin_addr.s_addr = htonl(0x0a000001);
	sin.sin_port = htons(5000);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, 1) < 0)
		return fail("server socket in stack a");

	cfd = vde_msocket(b, AF_INET, SOCK_STREAM, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return fail("client connect from stack b");
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		return fail("accept");
	writer = fork();
	if (writer == 0) {
		for (size_t i = 0; i < N; i++)
			buf[i] = pattern(i);
		for (size_t off = 0; off < N;) {
			ssize_t r = write(cfd, buf + off, N - off);
			if (r <= 0)
				_exit(1);
			off += r;
		}
		_exit(0);
	}
	close(cfd);
	while (got < N) {
		ssize_t r = read(afd, buf + got, N - got);
		if (r <= 0)
			return fail("read");
		got += r;
	}
	for (size_t i = 0; i < N; i++)
		if (buf[i] != pattern(i)) {
			fprintf(stderr, "mismatch at byte %zu\n", i);
			return 1;
		}
	if (waitpid(writer, &st, 0) != writer || st != 0)
		return fail("writer");
	printf("transferred %zu bytes intact\n", got);
	close(afd);
	close(lfd);
	vde_delstack(a);
	vde_delstack(b);
	return 0;
}
