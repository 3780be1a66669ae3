/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reactor.h - relay threads shared by the stacks of a process
 *
 * A reactor is an epoll thread that serves many clients (stacks): it
 * watches each client's fds for the events the client asks for, calls the
 * client's service() with what happened, and watches again.  A client is
 * attached and detached through requests the reactor answers between
 * rounds, so only the reactor that serves a client ever runs its service()
 * or touches its part of the epoll set.  See reactor.c for the policy
 * (sharing, spilling to more threads, spinning).
 *
 * A client embeds struct reactor_client, aligned to 8 (its address and an
 * fd index share the epoll tag), and fills @ops and @nfds before
 * reactor_attach().  Nothing else of it is the client's to touch.
 */
#ifndef BACKENDS_REACTOR_H
#define BACKENDS_REACTOR_H

#include <pthread.h>
#include <stdint.h>

/* most fds of one client: the index shares the tag with the address */
#define REACTOR_CLIENT_FDS 8

struct reactor;
struct reactor_client;

/**
 * struct reactor_ops - what a reactor asks of a client
 * @name:	thread name (at most 15 characters), taken from the client
 *		that starts a reactor
 * @fd:		the client's fd number @i (0 .. @nfds - 1)
 * @wanted:	the epoll events each fd is to be watched for, from the
 *		client's state; 0 takes an fd out of the set (epoll reports
 *		POLLERR and POLLHUP whatever the mask)
 * @service:	act on the events of one round, in @c->rev[]; the reactor
 *		then watches what @wanted says
 * @error:	an fd the client wanted could not be watched (ENOMEM), in
 *		the reactor's thread: count it
 */
struct reactor_ops {
	const char *name;
	int (*fd)(const struct reactor_client *c, unsigned int i);
	void (*wanted)(const struct reactor_client *c, uint32_t *want);
	void (*service)(struct reactor_client *c);
	void (*error)(struct reactor_client *c);
};

/**
 * struct reactor_client - a client's link to its reactor
 * @ops:	its operations, set by the client
 * @nfds:	its fds, at most REACTOR_CLIENT_FDS, set by the client
 * @rev:	the events of this round, for @ops->service
 *
 * The rest is the reactors': @r serves it; @reg, the events each fd is
 * registered for (0: not in the set); @queued, on this round's list;
 * @rounds, rounds served in the spill window; @srv_next, on @r's list;
 * and, under the reactors' lock, a request (@cmd_next on a list, @asked
 * by a thread waiting for @cmd_done, or @moving from a busy reactor) and
 * its @cmd_result.
 */
struct reactor_client {
	const struct reactor_ops *ops;
	unsigned int nfds;
	short rev[REACTOR_CLIENT_FDS];

	struct reactor *r;
	uint32_t reg[REACTOR_CLIENT_FDS];
	int queued;
	unsigned int rounds;
	struct reactor_client *srv_next;
	struct reactor_client *cmd_next;
	int asked, moving, cmd_done, cmd_result;
} __attribute__((aligned(8)));

/**
 * reactor_attach() - serve @c from now on, starting a reactor if needed
 * @c:		client, ready to be served
 * Return: 0 or -errno (an fd epoll refuses; no thread, no memory left).
 */
int reactor_attach(struct reactor_client *c);

/**
 * reactor_detach() - serve @c no more; a reactor stops with its last client
 * @c:		client
 *
 * On return no reactor touches @c, and a reactor left without clients has
 * been joined.
 */
void reactor_detach(struct reactor_client *c);

#endif
