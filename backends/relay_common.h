/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * relay_common.h - what the relaying backends share besides offload.c
 *
 * tap, vhost-net and macvtap each give the stack a TAP and move its frames
 * with one thread of their own.  What they do alike is here: the counters
 * behind stats(), the stack's TAP (creation, offloads, carrier), the
 * sockets that watch its interface (MTU), starting and stopping the relay
 * thread, and, for the relays of a libvdeplug connection (tap, vhost-net),
 * the VDE side: the connection's fds, which plugins may be bypassed with
 * sendmmsg()/recvmmsg(), and the segments waiting to be sent, with their
 * backpressure.
 *
 * Compiled into every plugin (SHARED in backends/SConscript), hidden like
 * the rest of it: a plugin still exports only its descriptor.
 */
#ifndef VDESTACK_RELAY_COMMON_H
#define VDESTACK_RELAY_COMMON_H

#include <libvdeplug.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <vdestack_backend.h>

#include "offload.h"

/* USO is in Linux 6.2 and later; the flags are the same on older headers */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* ------------------------------------------------------------ counters */

/**
 * struct relay_counters - what stats() reports
 *
 * rx is toward the stack, tx toward the other side; frames and bytes as
 * that other side (VDE, the macvtap) sees them.  Updated by the relay
 * thread, read by stats() in any thread: relaxed atomics are enough.
 */
struct relay_counters {
	_Atomic uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	_Atomic uint64_t rx_dropped, tx_dropped, errors;
};

/**
 * relay_count() - add @n to one counter
 * @c:	a field of struct relay_counters
 * @n:	amount
 */
static inline void relay_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/**
 * relay_stats() - the counters, for a backend's stats() op
 * @c:	counters
 * @st:	filled
 * Context: any thread, while the relay runs.
 * Return: 0.
 */
int relay_stats(struct relay_counters *c, struct vde_stack_stats *st);

/* ------------------------------------------------------------- the TAP */

/**
 * relay_probe_tun() - whether /dev/net/tun can be opened, for probe()
 * @reason:	buffer for the reason
 * @len:	its size
 * Return: 0, or -errno with @reason set.
 */
int relay_probe_tun(char *reason, size_t len);

/*
 * relay_prefetch - the descriptors relay_tap_open() and relay_watch_open()
 * ask for, as a backend's prefetch list: they come with the namespace.
 */
extern const struct vdestack_fd_request relay_prefetch[];

/**
 * relay_tap_open() - the stack's TAP, with a virtio-net header, persistent
 * @a:	create() arguments (the stack, the interface name)
 *
 * The header's size and byte order, offloads and O_NONBLOCK are the
 * caller's to set.
 *
 * Return: its fd, or -errno with a->reason set (nothing left open).
 */
int relay_tap_open(const struct vdestack_backend_args *a);

/**
 * relay_tap_offload() - let the stack hand over super-frames and partial
 * checksums
 * @tapfd:	the TAP
 * Return: the TUN_F_* set the TAP accepted, 0 if none (frames then come
 * whole and checksummed, and a relay still works).
 */
unsigned int relay_tap_offload(int tapfd);

/**
 * relay_gro_flags() - what ofl_gro() may coalesce for a TAP
 * @offloads:	what relay_tap_offload() returned
 *
 * A TAP that accepted USO (Linux 6.2 and later) also takes GSO_UDP_L4
 * frames written to it.
 *
 * Return: ofl_gro() flags.
 */
static inline unsigned int relay_gro_flags(unsigned int offloads)
{
	return (offloads & (TUN_F_USO4 | TUN_F_USO6)) ==
			       (TUN_F_USO4 | TUN_F_USO6)
		       ? OFL_GRO_UDP
		       : 0;
}

/**
 * relay_set_carrier() - the TAP's carrier, as the stack sees it
 * @tapfd:	the TAP
 * @on:		nonzero for on
 */
void relay_set_carrier(int tapfd, int on);

/* ----------------------------------------------- the stack's interface */

/**
 * struct relay_watch - sockets inside the stack for its interface
 * @ifsock:	AF_INET datagram socket for SIOC[GS]IF*, or -1
 * @nlfd:	NETLINK_ROUTE socket bound to RTMGRP_LINK, non-blocking, or -1
 * @ifindex:	the interface
 */
struct relay_watch {
	int ifsock, nlfd, ifindex;
};

/**
 * relay_watch_open() - open the sockets and find the interface
 * @w:	filled; @ifsock and @nlfd are -1 on entry
 * @a:	create() arguments (the stack, the interface name)
 *
 * On failure @w tells the step that failed: @ifsock < 0 (the inet
 * socket), else @nlfd < 0 (the netlink socket), else binding it or
 * finding the interface.  What is open stays open for the caller to close.
 *
 * Return: 0 or -errno.
 */
int relay_watch_open(struct relay_watch *w,
		     const struct vdestack_backend_args *a);

/**
 * relay_watch_close() - close what relay_watch_open() opened
 * @w:	watch; its fds become -1
 */
void relay_watch_close(struct relay_watch *w);

/**
 * relay_set_mtu() - SIOCSIFMTU on the stack's interface
 * @w:		watch (its @ifsock)
 * @ifname:	the interface
 * @mtu:	MTU
 * Return: 0 or -errno.
 */
int relay_set_mtu(const struct relay_watch *w, const char *ifname,
		  unsigned int mtu);

/**
 * relay_create_mtu() - the MTU create() was asked for, if any
 * @w:	watch (its @ifsock)
 * @a:	create() arguments (@mtu, @ifname); a->reason says why on failure
 * Return: 0 or -errno.
 */
int relay_create_mtu(const struct relay_watch *w,
		     const struct vdestack_backend_args *a);

/**
 * relay_set_txqlen() - SIOCSIFTXQLEN on the stack's interface
 * @w:		watch (its @ifsock)
 * @ifname:	the interface
 * @qlen:	frames the stack may queue for the relay
 * Return: 0 or -errno.
 */
int relay_set_txqlen(const struct relay_watch *w, const char *ifname,
		     unsigned int qlen);

/**
 * relay_clamp_mtu() - read the link notifications waiting on @w->nlfd and
 * put an MTU of the interface above @max back to @max
 * @w:		watch
 * @max:	the largest MTU the other side carries
 *
 * A TAP accepts any MTU up to 65535 and there is no ioctl to lower its
 * maximum: the stack could set an MTU whose frames would be dropped.
 *
 * Context: the relay thread, when @w->nlfd polls readable.
 */
void relay_clamp_mtu(const struct relay_watch *w, unsigned int max);

/* ---------------------------------------------------------- the thread */

/**
 * relay_thread_start() - start a relay thread with every signal blocked
 * @thread:	set to the thread
 * @fn:		its function
 * @arg:	its argument
 * @name:	its name (so that top -H and perf tell it from the
 *		application's threads), or NULL
 *
 * The relay thread must never take the application's signals.
 *
 * Return: 0 or -errno.
 */
int relay_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg,
		       const char *name);

/**
 * relay_thread_stop() - make a relay thread return and join it
 * @stopfd:	eventfd the thread polls for POLLIN, and then returns
 * @thread:	the thread
 * Return: 0, or -errno if it could not be told (it cannot happen: the
 * counter is far from overflow); it still runs then.
 */
int relay_thread_stop(int stopfd, pthread_t thread);

/* -------------------------------------------------------- the VDE side */

/**
 * enum relay_direct - how frames cross the libvdeplug connection
 * @RELAY_DIRECT_NONE:		vde_send() and vde_recv()
 * @RELAY_DIRECT_CONNECTED:	sendmmsg() and recvmmsg() on the data fd, a
 *				connected socket (seqpacket://, vde://)
 * @RELAY_DIRECT_UDP:		sendmmsg() on the data fd; vde_recv()
 * @RELAY_DIRECT_PTP:		recvmmsg() on the data fd, sendmmsg() to the
 *				peer's socket (struct relay_vde's @peer)
 */
enum relay_direct {
	RELAY_DIRECT_NONE,
	RELAY_DIRECT_CONNECTED,
	RELAY_DIRECT_UDP,
	RELAY_DIRECT_PTP,
};

/* segments toward VDE queued, and handed to one sendmmsg(), at most */
#define RELAY_SEGS 128

/**
 * struct relay_vde - a libvdeplug connection, and the segments waiting to
 * be sent on it
 * @conn:	the connection; used by the relay thread only (the switch,
 *		hub, vxvde and vxlan plugins update a MAC table without locks)
 * @datafd:	vde_datafd(), non-blocking
 * @ctlfd:	vde_ctlfd()
 * @data_is_socket: @datafd is a socket: it can be drained until EAGAIN,
 *		and polls writable (switch://'s is an epoll fd)
 * @direct:	how frames cross, see relay_direct_mode()
 * @peer:	RELAY_DIRECT_PTP: the other end's socket address
 * @peerlen:	its length
 * @cnt:	counters: segments sent and dropped are tx_*
 * @gso:	the frame being cut into @segs
 * @seg_i:	first segment not sent yet
 * @seg_n:	segments in @segs; @segs[@seg_i..@seg_n) wait, pointing into
 *		frames that must stay in place until they are sent
 * @segs:	segments
 * @msgs:	for sendmmsg(), private to relay_vde_flush()
 * @iov:	likewise
 * @flat:	a segment in one piece for vde_send(), likewise
 */
struct relay_vde {
	struct vdeconn *conn;
	int datafd, ctlfd, data_is_socket;
	enum relay_direct direct;
	struct sockaddr_un peer;
	socklen_t peerlen;
	struct relay_counters *cnt;
	struct ofl_gso gso;
	unsigned int seg_i, seg_n;
	struct ofl_seg segs[RELAY_SEGS];
	struct mmsghdr msgs[RELAY_SEGS];
	struct iovec iov[RELAY_SEGS][2];
	unsigned char flat[VDE_ETHBUFSIZE];
};

/**
 * relay_vde_init() - take the connection and make its data fd non-blocking
 * @v:		filled (zeroed by the caller)
 * @a:		create() arguments; a->conn is not NULL
 * @cnt:	counters
 * @udp:	whether udp:// may be sent to directly (RELAY_DIRECT_UDP);
 *		else only seqpacket:// is bypassed
 * Return: 0 or -errno.
 */
int relay_vde_init(struct relay_vde *v, const struct vdestack_backend_args *a,
		   struct relay_counters *cnt, int udp);

/**
 * relay_vde_recv_direct() - whether frames are received with recvmmsg()
 * on the data fd (else vde_recv())
 * @v:	VDE side
 */
static inline int relay_vde_recv_direct(const struct relay_vde *v)
{
	return v->direct == RELAY_DIRECT_CONNECTED ||
	       v->direct == RELAY_DIRECT_PTP;
}

/**
 * relay_vde_cut() - cut the frame in @v->gso into segments, as far as
 * @v->segs has room
 * @v:	VDE side
 *
 * Segments of several frames pile up in @v->segs and go out in one burst;
 * the caller flushes when told to and calls again.
 *
 * Return: 1 if @v->segs is full and the frame has segments left (flush,
 * then call again), 0 once the frame is cut.
 */
static inline int relay_vde_cut(struct relay_vde *v)
{
	while (ofl_gso_more(&v->gso)) {
		if (v->seg_n == RELAY_SEGS)
			return 1;
		v->seg_n += ofl_gso_next(&v->gso, v->segs + v->seg_n,
					 RELAY_SEGS - v->seg_n);
	}
	return 0;
}

/**
 * relay_vde_pending() - whether segments wait to be sent
 * @v:	VDE side
 * Return: true if so.
 */
static inline int relay_vde_pending(const struct relay_vde *v)
{
	return v->seg_i < v->seg_n;
}

/**
 * relay_vde_flush() - send the segments that wait
 * @v:	VDE side
 *
 * A segment refused for another reason than a full VDE is dropped and
 * counted.
 *
 * Return: 0 when none is left (@segs is empty again), -EAGAIN when VDE is
 * full: the caller stops reading what feeds @segs (backpressure) and
 * polls @v->datafd for POLLOUT.
 */
int relay_vde_flush(struct relay_vde *v);

/**
 * relay_vde_drop() - VDE is gone: what waits for it, and the segments
 * @v->gso has not cut yet, are dropped and counted
 * @v:	VDE side; @segs and @gso are empty after
 */
void relay_vde_drop(struct relay_vde *v);

/**
 * relay_vde_hung_up() - whether the connection's peer has hung up (a
 * 0-byte receive is EOF then)
 * @v:		VDE side
 * @revents:	poll result of the data fd
 * Return: true if so.
 */
int relay_vde_hung_up(const struct relay_vde *v, short revents);

/**
 * relay_vde_ctl_eof() - read the control fd that polled @revents, and say
 * whether the connection has ended (EOF of some plugins shows there)
 * @v:		VDE side
 * @revents:	poll result of @v->ctlfd
 * Return: true if so: the caller turns the carrier off, stops polling the
 * connection and drops what waits for it.
 */
int relay_vde_ctl_eof(const struct relay_vde *v, short revents);

#endif
