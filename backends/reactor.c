// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * reactor.c - relay threads shared by the stacks of a process
 *
 * DOC: Theory of Operation
 *
 * The interface is in reactor.h; the tap backend (tap.c) is its client.
 *
 * A stack is served by one reactor at a time, and a new one by the first:
 * frames from one stack to another of the same process cross the wire and
 * are taken off it by the same thread without a wake-up in between, and
 * an idle stack costs no thread.  A saturated reactor (see reactor_main():
 * a bulk flow between two stacks needs more than one CPU, a frame is
 * copied four times between TAP, wire and TAP) hands its busiest stack to
 * another reactor, up to one per CPU; one with nothing to do spins briefly
 * before it sleeps while that pays off (reactor_wait()).  A reactor runs
 * while it has stacks; the last reactor_detach() joins it.  Stacks are
 * attached and detached through requests the reactor answers
 * (reactor_lock, reactor_done), so that only the reactor serving a stack
 * ever touches its relay state, the epoll set included.  A fork()ed child
 * forgets its parent's reactors: their threads stayed in the parent.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "reactor.h"
#include "relay_common.h"

#define REACTOR_EVENTS 64
#define REACTORS_MAX 8
/* a reactor busy for SPILL_BUSY of a window of SPILL_WINDOW_NS spills */
#define SPILL_WINDOW_NS 10000000
#define SPILL_BUSY 0.8
/*
 * Adaptive spinning (see reactor_wait()): how long one spin lasts, how
 * many of the last 8 spins must have caught something to go on, and how
 * often a reactor that does not spin tries once.
 */
#define SPIN_NS 40000
#define SPIN_KEEP 6
#define SPIN_PROBE_NS 100000000

/**
 * struct reactor - a relay thread of the process's stacks
 * @epfd:	the epoll set; each client's fds are tagged with (client |
 *		fd index)
 * @wakefd:	eventfd of the requests, tagged 0
 * @pid:	the process that started it (a fork()ed child has no thread)
 * @slot:	its index in reactors[]
 * @thread:	the thread
 * @served:	stacks it serves (list by srv_next), its own
 * @spinning:	whether it spins before it sleeps, its own
 * @spin_hits:	outcomes of the last 8 spins (bit set: caught), its own
 * @probed:	when it last spun without @spinning, its own
 * @waits:	rounds in this window that found nothing ready at once
 *		(it spun or slept), its own
 * @stacks:	stacks attached or being attached, under reactor_lock
 * @adds:	stacks to attach, linked by cmd_next, under reactor_lock
 * @dels:	stacks to detach, likewise
 * @stop:	return, under reactor_lock
 */
struct reactor {
	int epfd, wakefd;
	pid_t pid;
	unsigned int slot;
	pthread_t thread;
	struct reactor_client *served;
	int spinning;
	uint8_t spin_hits;
	uint64_t probed;
	unsigned int waits;
	unsigned int stacks;
	struct reactor_client *adds, *dels;
	int stop;
};

static pthread_mutex_t reactor_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reactor_done = PTHREAD_COND_INITIALIZER;
/* the running reactors, under reactor_lock; reactors_max: one per CPU */
static struct reactor *reactors[REACTORS_MAX];
static unsigned int reactors_max;

/**
 * client_watch() - bring the epoll set in line with what @c wants
 * @c:	client
 * Return: 0, or -errno of the first registration that failed.
 */
static int client_watch(struct reactor_client *c)
{
	uint32_t want[REACTOR_CLIENT_FDS] = {0};
	unsigned int i;
	int ret = 0;

	c->ops->wanted(c, want);
	for (i = 0; i < c->nfds; i++) {
		struct epoll_event e = {.events = want[i],
					.data.u64 = (uintptr_t)c | i};
		int op = !c->reg[i]   ? EPOLL_CTL_ADD
			 : !want[i] ? EPOLL_CTL_DEL
				    : EPOLL_CTL_MOD;

		if (want[i] == c->reg[i])
			continue;
		if (epoll_ctl(c->r->epfd, op, c->ops->fd(c, i), &e) < 0 &&
		    op != EPOLL_CTL_DEL) {
			if (!ret)
				ret = -errno;
			continue;
		}
		c->reg[i] = want[i];
	}
	return ret;
}

/* Every fd of @c out of its reactor's set, and @c off its list. */
static void client_unwatch(struct reactor_client *c)
{
	struct reactor_client **p;
	unsigned int i;

	for (i = 0; i < c->nfds; i++)
		if (c->reg[i]) {
			epoll_ctl(c->r->epfd, EPOLL_CTL_DEL, c->ops->fd(c, i),
				  NULL);
			c->reg[i] = 0;
		}
	for (p = &c->r->served; *p; p = &(*p)->srv_next)
		if (*p == c) {
			*p = c->srv_next;
			break;
		}
}

/* @c's events of this round, then what its new state needs watched */
static void client_serve(struct reactor_client *c)
{
	c->rounds++;
	c->ops->service(c);
	if (client_watch(c) < 0)
		c->ops->error(c);
}

static void reactor_wake(struct reactor *r)
{
	uint64_t one = 1;

	/* cannot fail: the counter is far from overflow */
	(void)!write(r->wakefd, &one, sizeof(one));
}

/**
 * reactor_requests() - attach and detach the stacks asked for
 * @r:	reactor
 * Return: true if the reactor is to return.
 * Context: the reactor, between rounds (no stack is being served).
 */
static int reactor_requests(struct reactor *r)
{
	struct reactor_client *c;
	uint64_t n;
	int stop;

	if (read(r->wakefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return 0;
	pthread_mutex_lock(&reactor_lock);
	while ((c = r->adds)) {
		r->adds = c->cmd_next;
		c->srv_next = r->served;
		r->served = c;
		if (c->moving) {
			/* the same fds in another set: only ENOMEM */
			c->moving = 0;
			if (client_watch(c) < 0)
				c->ops->error(c);
			continue;
		}
		c->cmd_result = client_watch(c);
		if (c->cmd_result < 0)
			client_unwatch(c);
		c->asked = 0;
		c->cmd_done = 1;
	}
	while ((c = r->dels)) {
		r->dels = c->cmd_next;
		client_unwatch(c);
		c->asked = 0;
		c->cmd_done = 1;
	}
	stop = r->stop;
	pthread_cond_broadcast(&reactor_done);
	pthread_mutex_unlock(&reactor_lock);
	return stop;
}

static void *reactor_main(void *arg);

/**
 * reactor_start() - a new reactor in a free slot, its thread running
 * @first:	a stack to serve from the start, or NULL
 * @name:	the thread's name
 *
 * @first is watched before the thread exists, so it needs no request (and
 * its creator no round trip to the thread): the common case of a process
 * with one stack at a time.
 *
 * Return: it, or NULL with errno (EAGAIN: no free slot; what epoll said
 * of @first's fds).
 * Context: reactor_lock held.
 */
static struct reactor *reactor_start(struct reactor_client *first,
				     const char *name)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = 0};
	struct reactor *r;
	unsigned int slot;
	int err;

	for (slot = 0; slot < reactors_max && reactors[slot]; slot++)
		;
	if (slot == reactors_max) {
		errno = EAGAIN;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->pid = getpid();
	r->slot = slot;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->epfd < 0 || r->wakefd < 0 ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &e) < 0)
		goto fail;
	if (first) {
		r->stacks = 1;
		r->served = first;
		first->srv_next = NULL;
		first->r = r;
		errno = -client_watch(first);
		if (errno)
			goto fail; /* closing epfd forgets what was watched */
	}
	errno = -relay_thread_start(&r->thread, reactor_main, r, name);
	if (!errno) {
		reactors[slot] = r;
		return r;
	}
fail:
	if (first)
		memset(first->reg, 0, sizeof(first->reg));
	err = errno;
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->wakefd >= 0)
		close(r->wakefd);
	free(r);
	errno = err;
	return NULL;
}

/**
 * reactor_spill() - hand the busiest of @r's stacks to another reactor
 * @r:	reactor, busy; it serves two active stacks at least
 * Context: @r, between rounds.
 */
static void reactor_spill(struct reactor *r)
{
	struct reactor_client *c, *busiest = NULL;
	struct reactor *to = NULL;
	unsigned int active = 0, i;

	pthread_mutex_lock(&reactor_lock);
	for (c = r->served; c; c = c->srv_next) {
		if (c->rounds)
			active++;
		/* one being detached stays */
		if (!c->asked && (!busiest || c->rounds > busiest->rounds))
			busiest = c;
	}
	if (active < 2 || !busiest) {
		pthread_mutex_unlock(&reactor_lock);
		return;
	}
	/* a new reactor while there is room, else the least busy */
	to = reactor_start(NULL, busiest->ops->name);
	if (!to)
		for (i = 0; i < reactors_max; i++)
			if (reactors[i] && reactors[i] != r &&
			    !reactors[i]->stop &&
			    (!to || reactors[i]->stacks < to->stacks))
				to = reactors[i];
	if (to) {
		client_unwatch(busiest);
		r->stacks--;
		to->stacks++;
		busiest->r = to;
		busiest->cmd_next = to->adds;
		to->adds = busiest;
		busiest->moving = 1;
		reactor_wake(to);
	}
	pthread_mutex_unlock(&reactor_lock);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/**
 * reactor_wait() - the next events, spinning before sleeping when spinning
 * has paid off lately
 * @r:		reactor
 * @ev:		room for REACTOR_EVENTS events
 *
 * A request/response exchange between two stacks of the process (or with
 * a peer that answers quickly) has the reactor sleep between the request
 * and the answer: each sleep costs a wake-up, the largest part of the
 * latency.  Polling for up to SPIN_NS first catches the answer awake.
 * Only a spin that found nothing ready at once counts: it goes on while
 * SPIN_KEEP of the last 8 such spins caught something, and a reactor
 * that does not spin tries once every SPIN_PROBE_NS.  A paced or idle
 * flow's spins catch nothing and stop; a bulk flow never waits.  Never
 * with one CPU, where spinning would only keep the other side from
 * running.
 *
 * Return: what epoll_wait() returned.
 */
static int reactor_wait(struct reactor *r, struct epoll_event *ev)
{
	uint64_t now, end;
	int n;

	/* one CPU: no spinning, no spilling, no need to look first */
	if (reactors_max < 2)
		return epoll_wait(r->epfd, ev, REACTOR_EVENTS, -1);
	n = epoll_wait(r->epfd, ev, REACTOR_EVENTS, 0);
	if (n)
		return n;
	r->waits++;
	if (!r->spinning) {
		now = mono_ns();
		if (now - r->probed < SPIN_PROBE_NS)
			return epoll_wait(r->epfd, ev, REACTOR_EVENTS, -1);
		r->probed = now;
	}
	end = mono_ns() + SPIN_NS;
	do
		n = epoll_wait(r->epfd, ev, REACTOR_EVENTS, 0);
	while (!n && mono_ns() < end);
	if (r->spinning) {
		r->spin_hits = (uint8_t)(r->spin_hits << 1 | !!n);
		r->spinning = __builtin_popcount(r->spin_hits) >= SPIN_KEEP;
	} else if (n) {
		r->spinning = 1;
		r->spin_hits = 0xff;
	}
	return n ? n : epoll_wait(r->epfd, ev, REACTOR_EVENTS, -1);
}

/*
 * The reactor: serve the stacks whose fds are ready, then the requests;
 * measure how busy it is over windows of SPILL_WINDOW_NS.
 */
static void *reactor_main(void *arg)
{
	struct reactor *r = arg;
	struct epoll_event ev[REACTOR_EVENTS];
	struct reactor_client *serve[REACTOR_EVENTS];
	uint64_t window = 0, busy = 0, woke = 0, now;
	unsigned int rounds = 0, multi = 0;

	for (;;) {
		int n = reactor_wait(r, ev), i, ns = 0;
		int req = n < 0 && errno != EINTR;

		if (reactors_max >= 2) {
			woke = mono_ns();
			rounds++;
		}
		for (i = 0; i < n; i++) {
			uintptr_t tag = (uintptr_t)ev[i].data.u64;
			struct reactor_client *c =
				(struct reactor_client *)(tag & ~(uintptr_t)7);

			if (!c) {
				req = 1;
				continue;
			}
			if (!c->queued) {
				c->queued = 1;
				memset(c->rev, 0, sizeof(c->rev));
				serve[ns++] = c;
			}
			c->rev[tag & 7] |= (short)ev[i].events;
		}
		for (i = 0; i < ns; i++) {
			serve[i]->queued = 0;
			client_serve(serve[i]);
		}
		multi += ns > 1;
		if (req && reactor_requests(r))
			return NULL;
		if (reactors_max < 2)
			continue;
		now = mono_ns();
		busy += now - woke;
		if (now - window < SPILL_WINDOW_NS)
			continue;
		/*
		 * Saturated: busy for most of the window, work waiting at
		 * the end of nearly every round, and for several stacks at
		 * once in a third of the rounds at least (a bulk flow: a half
		 * and more), i.e. work another thread could take.
		 * A request/response flow between two stacks keeps the
		 * reactor as busy (busy time is wall time, and includes the
		 * application's threads when they preempt the reactor on its
		 * CPU), but its stacks have work in turn, never together:
		 * a second reactor would only add a wake-up to each turn.
		 */
		if (busy > (uint64_t)(SPILL_BUSY * (double)(now - window)) &&
		    r->waits * 10 < rounds && multi * 3 >= rounds)
			reactor_spill(r);
		for (struct reactor_client *c = r->served; c; c = c->srv_next)
			c->rounds = 0;
		window = now;
		busy = 0;
		rounds = multi = r->waits = 0;
	}
}

static void reactor_free(struct reactor *r)
{
	close(r->epfd);
	close(r->wakefd);
	free(r);
}

/**
 * reactor_put() - one stack less on @r; the last one stops it
 * @r:	reactor
 * Context: reactor_lock held; released on return.
 */
static void reactor_put(struct reactor *r)
{
	if (--r->stacks) {
		pthread_mutex_unlock(&reactor_lock);
		return;
	}
	reactors[r->slot] = NULL;
	r->stop = 1;
	reactor_wake(r);
	pthread_mutex_unlock(&reactor_lock);
	pthread_join(r->thread, NULL);
	reactor_free(r);
}

/* Hand @c to its reactor's @list and wait for the answer. */
static int reactor_ask(struct reactor_client *c,
		       struct reactor_client **list)
{
	c->asked = 1;
	c->cmd_done = 0;
	c->cmd_next = *list;
	*list = c;
	reactor_wake(c->r);
	while (!c->cmd_done)
		pthread_cond_wait(&reactor_done, &reactor_lock);
	return c->cmd_result;
}

int reactor_attach(struct reactor_client *c)
{
	struct reactor *r = NULL;
	unsigned int i;
	int ret;

	pthread_mutex_lock(&reactor_lock);
	if (!reactors_max) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		reactors_max = n < 1 ? 1 : n > REACTORS_MAX ? REACTORS_MAX : n;
	}
	for (i = 0; i < REACTORS_MAX; i++) {
		if (reactors[i] && reactors[i]->pid != getpid()) {
			/* a fork()ed child: the threads stayed in the
			 * parent, and so do the stacks on them
			 * (vde_delstack() leaves them alone) */
			reactor_free(reactors[i]);
			reactors[i] = NULL;
		}
		if (!r && reactors[i])
			r = reactors[i];
	}
	if (!r) {
		r = reactor_start(c, c->ops->name);
		ret = r ? 0 : -errno;
		pthread_mutex_unlock(&reactor_lock);
		return ret;
	}
	r->stacks++;
	c->r = r;
	ret = reactor_ask(c, &r->adds);
	if (ret < 0) {
		reactor_put(r);
		return ret;
	}
	pthread_mutex_unlock(&reactor_lock);
	return 0;
}

/* A reactor's last client needs no request: once the thread is joined
 * nothing touches it. */
void reactor_detach(struct reactor_client *c)
{
	pthread_mutex_lock(&reactor_lock);
	while (c->moving) /* on the way to another reactor */
		pthread_cond_wait(&reactor_done, &reactor_lock);
	if (c->r->stacks > 1)
		reactor_ask(c, &c->r->dels);
	reactor_put(c->r);
}

