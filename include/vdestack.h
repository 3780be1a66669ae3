/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdestack.h - private network stacks (user+net namespaces on a VDE network)
 *
 * The first five functions are the API of the original libvdestack 0.1.2,
 * with the same meaning; const on string parameters keeps source and binary
 * compatibility.  Everything else follows the same convention: NULL or -1
 * with errno set on failure.
 */
#ifndef VDESTACK_H
#define VDESTACK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdestack;

struct vdestack *vde_addstack(const char *vdenet, const char *ifname);
void vde_delstack(struct vdestack *stack);
void vde_default_stack(struct vdestack *stack);
int vde_stackcmd(struct vdestack *stack, const char *stackcmd);
int vde_msocket(struct vdestack *stack, int domain, int type, int protocol);

/* Extensions (libvdestack 0.2) */

#define VDESTACK_VERSION "0.2.0"

/*
 * vde_addstack_opt() - vde_addstack() with an options string:
 * "backend=tap|auto,mtu=N,..." (see vde_addstack_opt(3)).
 */
struct vdestack *vde_addstack_opt(const char *vdenet, const char *ifname,
				  const char *options);

/* Message describing the last failure of a vdestack call in this thread. */
const char *vde_stack_errmsg(void);

/* Name of the forwarding backend of @stack ("tap", "none", ...). */
const char *vde_stack_backend(struct vdestack *stack);

/* Interface name of the stack. */
const char *vde_stack_ifname(struct vdestack *stack);

struct vde_stack_stats {
	uint64_t rx_frames;	/* VDE -> stack */
	uint64_t rx_bytes;
	uint64_t tx_frames;	/* stack -> VDE */
	uint64_t tx_bytes;
	uint64_t rx_dropped;
	uint64_t tx_dropped;
	uint64_t errors;
};

int vde_stack_stats(struct vdestack *stack, struct vde_stack_stats *stats,
		    size_t size);

/*
 * Configuration without ip(8): netlink (libnl-route-3) on a socket inside
 * the stack.  All return 0 (or the documented value) on success, -1 and
 * errno on failure; vde_stack_errmsg() then describes it.  @ifname NULL
 * means the stack's own interface.  See vde_stack_config(3).
 */
int vde_stack_ifindex(struct vdestack *stack, const char *ifname);
int vde_stack_link_set(struct vdestack *stack, const char *ifname, int up);
int vde_stack_set_mtu(struct vdestack *stack, const char *ifname,
		      unsigned int mtu);
int vde_stack_set_mac(struct vdestack *stack, const char *ifname,
		      const char *mac);
int vde_stack_addr_add(struct vdestack *stack, const char *ifname,
		       const char *cidr);
int vde_stack_addr_del(struct vdestack *stack, const char *ifname,
		       const char *cidr);
int vde_stack_route_add(struct vdestack *stack, const char *dst,
			const char *gw, const char *ifname);
int vde_stack_route_del(struct vdestack *stack, const char *dst,
			const char *gw, const char *ifname);
struct ifaddrs;
int vde_stack_getifaddrs(struct vdestack *stack, struct ifaddrs **ifap);
void vde_stack_freeifaddrs(struct ifaddrs *ifa);
int vde_stack_config(struct vdestack *stack, const char *config);

/*
 * Backend discovery (libvdestack 0.2)
 *
 * A backend is the plugin that moves frames between a stack's interface
 * and the VDE network (see vdestack-backends(7)).  These calls tell a
 * program, or vdestack-backend-info(1), which backends are installed and
 * which can run here.  struct vde_backend_info only grows, and only with a
 * new symbol version of vde_backend_list().
 */

/**
 * struct vde_backend_option - one option a backend accepts
 * @name:	key, as in "backend=NAME,KEY=VALUE"
 * @help:	one line: value syntax and meaning
 */
struct vde_backend_option {
	const char *name;
	const char *help;
};

/**
 * struct vde_backend_info - one installed backend
 * @name:	backend name: the file name without ".so"
 * @path:	the plugin file
 * @load_errno:	0 if the plugin loaded and its descriptor is valid; else
 *		why not: ELIBBAD (not a valid backend for this library: not a
 *		shared object, missing symbol, wrong ABI, bad descriptor),
 *		EINVAL (the file name is not a backend name), or the error
 *		of stat(2)
 * @load_error:	message for @load_errno, "" if it loaded
 * @abi:	backend ABI the plugin declares, 0 if unknown
 * @summary:	one line, "" if it did not load
 * @schemes:	NULL-terminated VNL schemes the backend claims ("macvtap"),
 *		or NULL for a relay that serves any libvdeplug network
 * @options:	options it accepts, terminated by an entry whose name is
 *		NULL; NULL if it accepts none
 * @priority:	"backend=auto" picks the usable relay with the highest
 * @max_mtu:	largest MTU it can carry, 0 if it did not load
 * @usable:	1 if it loaded and its probe says it can run here, for this
 *		user, now; else 0
 * @probe_errno: 0 if @usable, else the probe's errno (EACCES, ENOENT, ...)
 *		or @load_errno
 * @reason:	why it cannot run ("/dev/net/tun: Permission denied ..."), ""
 *		if @usable
 *
 * A backend also needs user namespaces, which the probe does not check:
 * vdestack-backend-info(1) does.
 */
struct vde_backend_info {
	const char *name;
	const char *path;
	int load_errno;
	const char *load_error;
	unsigned int abi;
	const char *summary;
	const char *const *schemes;
	const struct vde_backend_option *options;
	int priority;
	unsigned int max_mtu;
	int usable;
	int probe_errno;
	const char *reason;
};

/**
 * vde_backend_list() - describe every installed backend, usable or not
 * @list:	set to a malloc'd array (NULL when @n is 0); free it with
 *		vde_backend_list_free()
 * @n:		set to the number of entries
 *
 * Scans vde_backend_dir() again, loads every "*.so" in it and probes the
 * backends that load.  A file that is not a valid backend is listed with
 * its error, not skipped.  Entries are sorted by name.
 *
 * Return: 0, or -1 and errno: ENOENT, EACCES, ENOTDIR (the directory
 * cannot be read; vde_stack_errmsg() names it), ENOMEM, EINVAL (NULL
 * argument).
 */
int vde_backend_list(struct vde_backend_info **list, size_t *n);

/**
 * vde_backend_list_free() - free the result of vde_backend_list()
 * @list:	array, or NULL
 * @n:		its number of entries
 */
void vde_backend_list_free(struct vde_backend_info *list, size_t n);

/**
 * vde_backend_dir() - the directory backends are loaded from
 *
 * "vdestack/" next to the library file, or $VDESTACK_BACKEND_DIR (ignored
 * by set-user-ID and file-capability programs).
 *
 * Return: the directory, or NULL and errno ENOENT if it is unknown.
 */
const char *vde_backend_dir(void);

#ifdef __cplusplus
}
#endif

#endif
