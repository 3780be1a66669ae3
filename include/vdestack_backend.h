/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdestack_backend.h - SDK for libvdestack forwarding backends
 *
 * A backend is a shared object in <libdir>/vdestack/ named <name>.so that
 * exports one symbol, VDESTACK_BACKEND_SYMBOL, a struct vdestack_backend.
 * The core dlopen()s it with RTLD_NOW|RTLD_LOCAL, checks abi, size and name,
 * and only then calls its ops.  A backend includes this header, vdestack.h
 * and system headers only: everything it needs from the core comes through
 * struct vdestack_services.  See doc/writing-a-backend.md.
 */
#ifndef VDESTACK_BACKEND_H
#define VDESTACK_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <vdestack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of the structures below. */
#define VDESTACK_BACKEND_ABI 1
#define VDESTACK_BACKEND_SYMBOL "vdestack_backend"

/* Size of the buffer for a human-readable reason of a failure. */
#define VDESTACK_REASON_MAX 256

struct vdeconn;

/**
 * struct vdestack_services - what the core offers to a backend
 * @abi:	VDESTACK_BACKEND_ABI of the core
 * @size:	sizeof(struct vdestack_services) of the core
 * @open_tun:	open /dev/net/tun inside the stack's namespaces (the device
 *		will belong to that network namespace); fd or -errno.  The fd
 *		is O_CLOEXEC; TUNSETIFF and other ioctls on it work from the
 *		caller's process.
 * @msocket:	socket(2) inside the stack; fd or -errno.
 * @log:	debug logging (silent unless VDESTACK_DEBUG is set).
 */
struct vdestack_services {
	uint32_t abi;
	uint32_t size;
	int (*open_tun)(void *stack);
	int (*msocket)(void *stack, int domain, int type, int protocol);
	void (*log)(const char *fmt, ...)
		__attribute__((format(printf, 1, 2)));
};

/**
 * struct vdestack_backend_args - everything create() gets
 * @size:	sizeof(struct vdestack_backend_args) of the core
 * @svc:	core services
 * @stack:	opaque handle to pass to @svc calls
 * @vdenet:	the VNL given to vde_addstack (never NULL here)
 * @conn:	the libvdeplug connection opened by the core, or NULL when the
 *		backend claims the VNL's scheme (it then opens what it needs)
 * @ifname:	interface name inside the stack
 * @mtu:	requested MTU, 0 for the default (1500)
 * @options:	backend-specific options "key=value/key=value" (keys already
 *		checked against the backend's option table), "" if none
 * @reason:	buffer of VDESTACK_REASON_MAX bytes for a failure's reason
 */
struct vdestack_backend_args {
	uint32_t size;
	const struct vdestack_services *svc;
	void *stack;
	const char *vdenet;
	struct vdeconn *conn;
	const char *ifname;
	unsigned int mtu;
	const char *options;
	char *reason;
};

/**
 * struct vdestack_backend_option - one option a backend accepts
 * @name:	key
 * @help:	one line: value syntax and meaning
 */
struct vdestack_backend_option {
	const char *name;
	const char *help;
};

/* @domain of a struct vdestack_fd_request that stands for @open_tun */
#define VDESTACK_FD_TUN (-1)
/* Most entries of a backend's @prefetch list that the core makes. */
#define VDESTACK_PREFETCH_MAX 4

/**
 * struct vdestack_fd_request - a descriptor create() will ask the core for
 * @domain:	socket(2) domain of an @msocket call, or VDESTACK_FD_TUN for
 *		an @open_tun call; 0 ends a list
 * @type:	socket(2) type (SOCK_CLOEXEC and SOCK_NONBLOCK are ignored:
 *		the call's own flags apply); 0 for VDESTACK_FD_TUN
 * @protocol:	socket(2) protocol; 0 for VDESTACK_FD_TUN
 */
struct vdestack_fd_request {
	int domain;
	int type;
	int protocol;
};

/**
 * struct vdestack_backend - the descriptor a plugin exports
 * @abi:	VDESTACK_BACKEND_ABI the plugin was built against
 * @size:	sizeof(struct vdestack_backend) the plugin was built against
 * @name:	must equal the file name without ".so"
 * @summary:	one line
 * @schemes:	NULL-terminated VNL schemes claimed ("macvtap"), or NULL for a
 *		relay that works on any libvdeplug connection
 * @options:	NULL-terminated table (terminator has name NULL), or NULL
 * @priority:	"auto" picks the usable backend with the highest priority
 * @max_mtu:	largest MTU the backend can carry
 * @probe:	0 if it can run here for this user, else -errno and a reason
 * @create:	start forwarding for a stack; 0 and *priv, or -errno and a
 *		reason.  Must leave nothing behind on failure.
 * @destroy:	stop forwarding, release everything (not the conn: the core
 *		closes it after destroy)
 * @stats:	fill counters; may be called concurrently with forwarding
 * @prefetch:	the descriptors create() will ask for, as a list ending with
 *		domain 0, or NULL.  Only the first VDESTACK_PREFETCH_MAX
 *		entries are read (a list that long needs no end).
 *		The core makes them together with the stack's namespace,
 *		before create() runs, so those @open_tun and @msocket calls
 *		need no round trip to the agent; what create() does not take
 *		is closed after it returns.  A descriptor the core could not
 *		make ahead is made on request as usual, with its error.
 *		Optional: a descriptor whose @size ends before this field
 *		loads too.
 */
struct vdestack_backend {
	uint32_t abi;
	uint32_t size;
	const char *name;
	const char *summary;
	const char *const *schemes;
	const struct vdestack_backend_option *options;
	int priority;
	unsigned int max_mtu;
	int (*probe)(char *reason, size_t len);
	int (*create)(const struct vdestack_backend_args *args, void **priv);
	void (*destroy)(void *priv);
	int (*stats)(void *priv, struct vde_stack_stats *stats);
	const struct vdestack_fd_request *prefetch;
};

#ifdef __cplusplus
}
#endif

#endif
