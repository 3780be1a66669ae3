// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * socket.c - vde_default_stack() and the exported socket(2)
 *
 * The library exports socket so that, as with upstream, every later
 * socket(2) call of the process goes to the default stack while one is
 * set.  With no default it forwards to the next definition (libc's),
 * found once with dlsym(RTLD_NEXT).  A read-write lock keeps a concurrent
 * vde_delstack() of the default stack from freeing it under a socket()
 * call; the common case (no default) takes no lock at all.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "stack.h"

static pthread_rwlock_t default_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct vdestack *default_stack;
static atomic_bool default_set;
/* set while the library itself needs host sockets (vde_open) */
static __thread bool bypass;

void vs_socket_bypass(bool on)
{
	bypass = on;
}

typedef int (*socket_fn)(int, int, int);

static int real_socket(int domain, int type, int protocol)
{
	static _Atomic(socket_fn) next;
	socket_fn fn = atomic_load_explicit(&next, memory_order_acquire);

	if (!fn) {
		fn = (socket_fn)dlsym(RTLD_NEXT, "socket");
		if (!fn)
			return (int)syscall(SYS_socket, domain, type, protocol);
		atomic_store_explicit(&next, fn, memory_order_release);
	}
	return fn(domain, type, protocol);
}

VS_EXPORT int socket(int domain, int type, int protocol)
{
	struct vdestack *s = NULL;
	int r;

	if (!atomic_load_explicit(&default_set, memory_order_acquire) ||
	    bypass)
		return real_socket(domain, type, protocol);
	pthread_rwlock_rdlock(&default_lock);
	if (default_stack && vs_stack_get(default_stack) == 0)
		s = default_stack;
	pthread_rwlock_unlock(&default_lock);
	if (!s)
		return real_socket(domain, type, protocol);
	r = vs_msocket(s, domain, type, protocol); /* sets the message */
	vs_stack_put(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/*
 * A fork()ed child has one thread, but may have inherited default_lock
 * held by a thread of the parent that does not exist in it: it starts
 * with a fresh lock.  (The pointer itself is always consistent: it is
 * only written under the write lock, with one store.)
 */
static void atfork_child(void)
{
	pthread_rwlock_init(&default_lock, NULL);
}

__attribute__((constructor)) static void socket_init(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

VS_EXPORT void vde_default_stack(struct vdestack *stack)
{
	pthread_rwlock_wrlock(&default_lock);
	default_stack = stack;
	atomic_store_explicit(&default_set, stack != NULL,
			      memory_order_release);
	pthread_rwlock_unlock(&default_lock);
}

/* vde_delstack(): the default stack must not outlive its stack */
void vs_default_forget(struct vdestack *s)
{
	pthread_rwlock_wrlock(&default_lock);
	if (default_stack == s) {
		default_stack = NULL;
		atomic_store_explicit(&default_set, false,
				      memory_order_release);
	}
	pthread_rwlock_unlock(&default_lock);
}
