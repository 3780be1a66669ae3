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

#ifdef __cplusplus
}
#endif

#endif
