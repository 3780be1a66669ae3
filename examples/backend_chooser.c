// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * backend_chooser.c - list the installed backends, then make a stack with
 * the one asked for (or "auto") and say which one it got and why a
 * backend could not be used.
 *
 *	backend_chooser [BACKEND]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vdestack.h>

int main(int argc, char **argv)
{
	const char *want = argc > 1 ? argv[1] : "auto";
	struct vde_backend_info *b;
	struct vdestack *s;
	char net[32], opt[64];
	int wire[2];
	size_t n, i;

	if (vde_backend_list(&b, &n) < 0) {
		fprintf(stderr, "backends: %s\n", vde_stack_errmsg());
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%-10s prio %-3d %s\n", b[i].name, b[i].priority,
		       b[i].usable ? "usable" : b[i].reason);
	vde_backend_list_free(b, n);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, wire) < 0)
		return 1;
	snprintf(net, sizeof(net), "seqpacket://%d", wire[0]);
	snprintf(opt, sizeof(opt), "backend=%s", want);
	s = vde_addstack_opt(net, NULL, opt);
	if (!s) {
		printf("backend=%s: %s (%s)\n", want, strerror(errno),
		       vde_stack_errmsg());
		return 2;
	}
	printf("backend=%s: the stack uses %s\n", want, vde_stack_backend(s));
	vde_delstack(s);
	close(wire[1]);
	return 0;
}
