// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tap.c - the tap-relay backend
 *
 * DOC: Theory of Operation
 *
 * A TAP device inside the stack (opened by the agent, so it belongs to the
 * stack's network namespace; configured here, since the application owns
 * the stack's user namespace), and a relay thread moving frames between
 * it and the libvdeplug connection: a reactor, shared with the process's
 * other tap stacks (reactor.c).
 *
 * Both fds are non-blocking and one thread drives both directions: a
 * blocking send toward a peer whose own relay is blocked sending to us
 * would deadlock two stacks of one process.  When VDE cannot take a frame
 * the frame waits, the thread stops reading the TAP (backpressure into the
 * TAP queue) and polls for POLLOUT; VDE -> TAP goes on meanwhile.  The
 * other way round likewise: the TAP has a bounded send buffer
 * (TUNSETSNDBUF); when it is full the received burst waits and the thread
 * stops reading VDE until the TAP polls writable.
 *
 * The connection is used by one thread at a time: switch/hub/vxvde
 * plugins update a MAC table on both send and recv without locks.
 *
 * Rules from upstream's defects: vde_recv() results shorter than an
 * Ethernet header (1 is "event, no frame"; -1 an error) are never written
 * to the TAP; a frame longer than the VDE limit is dropped and counted,
 * never truncated; EOF of the connection turns the carrier off.
 *
 * Speed: the cost is per syscall and per frame, so the TAP runs with
 * IFF_VNET_HDR and TUNSETOFFLOAD (checksum, TSO4/6, USO when the kernel
 * has it).  The stack then hands over TCP super-frames of up to 64 KB
 * with a partial checksum, cut here into frames VDE carries (offload.c),
 * and consecutive segments of a TCP flow received from VDE in one burst
 * go up as one super-frame (GRO).  Bursts: the TAP is read until EAGAIN
 * (or a bound, for fairness between the directions) and the segments go
 * out together; VDE is drained, then its burst is coalesced and written.
 * Where the connection is a plugin proven to do nothing but send(2) and
 * recv(2) on vde_datafd() (seqpacket://FD; udp:// for sending, see
 * relay_direct_mode() in relay_common.c), sendmmsg(2)/recvmmsg(2) on that
 * fd move a whole burst per syscall.  Counters count frames as VDE sees
 * them.
 *
 * MTU: a TAP accepts any MTU up to 65535 and there is no ioctl to lower
 * its maximum, but VDE carries at most VDE_MAXMTU.  The relay listens to
 * link notifications inside the stack and puts a larger MTU back to
 * VDE_MAXMTU at once, so a stack never runs with an MTU whose frames would
 * have to be dropped (TCP would stall, as with upstream).  Segmentation
 * follows the MTU: the stack's gso_size is its MSS.
 */
#include <errno.h>
#include <fcntl.h>
#include <libvdeplug.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vdestack_backend.h>

#include "offload.h"
#include "reactor.h"
#include "relay_common.h"

#define ETH_HLEN_MIN 14
#define VNET_HLEN sizeof(struct virtio_net_hdr)
/*
 * One read from the TAP: virtio-net header and a super-frame (64 KB of IP
 * plus Ethernet and VLAN headers).  A read that fills it completely may
 * have been truncated by the kernel and is dropped.
 */
#define TX_FRAME (65536 + 128)
/* TAP reads are packed into this area until the burst goes out */
#define TX_AREA (4 * TX_FRAME)
/* TAP reads and frames sent per wake-up: bound the time VDE -> TAP waits */
#define TX_BURST 64
#define TX_BUDGET 512
/* frames per recvmmsg() */
#define RX_BATCH 64
/*
 * Frames drained from VDE before they are coalesced and written: the
 * unit of coalescing, and what one wake-up may take.  A relay woken by
 * the first frame of its peer's burst would otherwise coalesce the few
 * that have arrived so far.
 */
#define RX_FRAMES 128
/* one received frame; larger than VDE_ETHBUFSIZE to see oversized ones */
#define RX_SLOT ((VDE_ETHBUFSIZE + 64) & ~63)
/*
 * TAP send buffer.  Writes are charged to it until the stack takes the
 * frame in (normally within the write itself): the default, INT_MAX,
 * would let frames pile up without bound where the stack defers work; a
 * full buffer instead makes write() fail with EAGAIN, which stops reading
 * VDE (backpressure) rather than dropping.  4 MB holds dozens of 64 KB
 * super-frames, so it never throttles a stack that keeps up.
 */
#define TAP_SNDBUF (4 << 20)
/*
 * Frames the stack may queue for the relay.  A TAP's default, 500, is
 * half the Ethernet default and overflows (the TAP drops) while the relay
 * waits for VDE during bursts of small frames from many sockets; TCP small
 * queues bound what one TCP socket puts there.  Not more: the TAP's ring
 * and the qdisc's are allocated at full length, in every idle stack too
 * (4096 measured +50 KiB of kernel memory per stack).
 */
#define TAP_TXQLEN 1000
/*
 * Send buffer of a direct-mode socket.  A unix datagram socket charges
 * each frame to the sender until the peer has read it, and polls writable
 * again only when three quarters are free: with the default 208 KB a dozen
 * 9 KB frames fill it, a third of the sendmmsg() calls end in EAGAIN and
 * bursts average 5 frames.  2 MB lets a whole 64 KB super-frame and more
 * go out at once (measured: a fifth less CPU per byte at MTU 9000, no
 * change at 1500).  The kernel caps it at net.core.wmem_max unless the caller
 * may use SO_SNDBUFFORCE.
 */
#define WIRE_SNDBUF (2 << 20)

/* the fds of a stack the reactor watches; tagged into epoll_event.data */
enum { FD_TAP, FD_DATA, FD_CTL, FD_NL, FD_N };

struct tap {
	struct reactor_client rc; /* first: a reactor's client is the tap */
	int tapfd;
	unsigned int offloads;	  /* TUN_F_* the TAP accepted */
	struct relay_watch watch; /* MTU watch inside the stack */
	struct relay_counters cnt;
	int eof; /* the connection's, seen by the reactor */

	/* TAP -> VDE: the segments in vde point into txarea, which is
	 * reused once they and vde.gso are done */
	struct relay_vde vde;
	size_t txpos;
	unsigned char txarea[TX_AREA];

	/* VDE -> TAP: outs[out_i..out_n) wait to be written; of outs[out_i]
	 * out_done frames are written already if out_split */
	unsigned int out_i, out_n, out_done;
	int out_split;
	struct ofl_frame frames[RX_FRAMES];
	struct ofl_gro_out outs[RX_FRAMES];
	struct mmsghdr rx_msgs[RX_BATCH];
	struct iovec rx_iov[RX_BATCH];
	unsigned char rxarea[RX_FRAMES][RX_SLOT];
};

static int rx_pending(const struct tap *t)
{
	return t->out_i < t->out_n;
}

/**
 * tx_flush() - send the waiting segments
 * @t:	relay
 * Return: 0 when none is left, -EAGAIN when VDE is full.
 */
static int tx_flush(struct tap *t)
{
	int r = relay_vde_flush(&t->vde);

	if (r < 0)
		return r;
	if (!ofl_gso_more(&t->vde.gso))
		t->txpos = 0;
	return 0;
}

/* VDE is gone: what waits for it is lost, the carrier goes off. */
static void vde_gone(struct tap *t)
{
	relay_vde_drop(&t->vde);
	t->txpos = 0;
	relay_set_carrier(t->tapfd, 0);
}

/**
 * tx_run() - TAP -> VDE: send what waits, then read and send a burst
 * @t:		relay
 * @eof:	VDE is gone: read frames are dropped
 */
static void tx_run(struct tap *t, int eof)
{
	struct relay_vde *v = &t->vde;
	unsigned int reads = 0, segs = 0;

	if (tx_flush(t) < 0)
		return;
	for (;;) {
		struct virtio_net_hdr vh;
		unsigned char *buf;
		ssize_t n;
		int r;

		while (relay_vde_cut(v))
			if (tx_flush(t) < 0)
				return;
		if (reads == TX_BURST || segs >= TX_BUDGET)
			break;
		if (TX_AREA - t->txpos < TX_FRAME && tx_flush(t) < 0)
			return;
		buf = t->txarea + t->txpos;
		n = read(t->tapfd, buf, TX_FRAME);
		if (n < 0)
			break;
		reads++;
		if (n < (ssize_t)(VNET_HLEN + ETH_HLEN_MIN) || n == TX_FRAME ||
		    eof) {
			relay_count(&t->cnt.tx_dropped, 1);
			continue;
		}
		memcpy(&vh, buf, VNET_HLEN);
		r = ofl_gso_start(&v->gso, &vh, buf + VNET_HLEN,
				  (size_t)n - VNET_HLEN, VDE_ETHBUFSIZE);
		if (r < 0) {
			relay_count(&t->cnt.tx_dropped, 1);
			continue;
		}
		t->txpos += ((size_t)n + 63) & ~(size_t)63;
		segs += (unsigned int)r;
	}
	tx_flush(t);
}

/**
 * rx_recv() - receive frames from VDE into frames[]
 * @t:		relay
 * @revents:	poll result of the data fd
 * @eof:	set when the connection is at EOF
 * @n:		frames[] in use, updated
 * @slot:	rxarea[] slots in use, updated
 *
 * Runts and oversized frames are dropped and counted.
 *
 * Return: 1 if more may be waiting, 0 if VDE has nothing more now.
 */
static int rx_recv(struct tap *t, short revents, int *eof, unsigned int *n,
		   unsigned int *slot)
{
	unsigned int room = RX_FRAMES - *slot, i;
	int r;

	if (relay_vde_recv_direct(&t->vde)) {
		if (room > RX_BATCH)
			room = RX_BATCH;
		for (i = 0; i < room; i++)
			t->rx_iov[i].iov_base = t->rxarea[*slot + i];
		r = recvmmsg(t->vde.datafd, t->rx_msgs, room, MSG_DONTWAIT,
			     NULL);
		if (r <= 0) {
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				relay_count(&t->cnt.errors, 1);
			return 0;
		}
		for (i = 0; i < (unsigned int)r; i++) {
			unsigned int len = t->rx_msgs[i].msg_len;

			if (len == 0 && relay_vde_hung_up(&t->vde, revents)) {
				/* recvmmsg() fills the rest with EOFs */
				*eof = 1;
				return 0;
			}
			if (len < ETH_HLEN_MIN || len > VDE_ETHBUFSIZE ||
			    (t->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				relay_count(&t->cnt.rx_dropped, 1);
				continue;
			}
			t->frames[*n].data = t->rxarea[*slot + i];
			t->frames[(*n)++].len = len;
		}
		*slot += (unsigned int)r;
		/* fewer than asked for: recvmmsg() stopped at an empty
		 * queue, and asking again would only say EAGAIN */
		return (unsigned int)r == room;
	}
	for (i = 0; i < room; i++) {
		ssize_t len;

		/*
		 * Some plugins' datafd is not the socket frames arrive on
		 * (switch:// has an epoll fd and vde_recv() blocks in
		 * epoll_wait): only a plain socket can be drained until
		 * EAGAIN; anything else is asked first.
		 */
		if ((*n || i) && !t->vde.data_is_socket) {
			struct pollfd p = {.fd = t->vde.datafd,
					   .events = POLLIN};

			if (poll(&p, 1, 0) <= 0)
				return 0;
		}
		len = vde_recv(t->vde.conn, t->rxarea[*slot], RX_SLOT, 0);
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				relay_count(&t->cnt.errors, 1);
			return 0;
		}
		if (len == 0 && relay_vde_hung_up(&t->vde, revents)) {
			*eof = 1;
			return 0;
		}
		if (len < ETH_HLEN_MIN || len > VDE_ETHBUFSIZE) {
			relay_count(&t->cnt.rx_dropped, 1);
			if (len == 0)
				return 0;
			continue;
		}
		t->frames[*n].data = t->rxarea[*slot];
		t->frames[(*n)++].len = (uint32_t)len;
		(*slot)++;
	}
	return 1;
}

/**
 * rx_flush() - write the waiting results of ofl_gro() to the TAP
 * @t:	relay
 * Return: 0 when none is left, -EAGAIN when the TAP is full.
 */
static int rx_flush(struct tap *t)
{
	static const struct virtio_net_hdr plain;
	struct iovec iov[OFL_GRO_MAX_SEGS + 1];
	ssize_t r;

	for (; rx_pending(t); t->out_i++, t->out_done = 0, t->out_split = 0) {
		struct ofl_gro_out *o = &t->outs[t->out_i];

		if (o->count > 1 && !t->out_split) {
			unsigned int niov = ofl_gro_iov(o, t->frames, iov), k;
			uint64_t bytes = 0;

			r = writev(t->tapfd, iov, (int)niov);
			if (r >= 0) {
				for (k = 0; k < o->count; k++)
					bytes += t->frames[o->first + k].len;
				relay_count(&t->cnt.rx_frames, o->count);
				relay_count(&t->cnt.rx_bytes, bytes);
				continue;
			}
			if (errno == EAGAIN || errno == EINTR)
				return -EAGAIN;
			if (errno != EINVAL) {
				relay_count(&t->cnt.rx_dropped, o->count);
				continue;
			}
			/* the kernel refused the super-frame: it gets the
			 * segments one by one, as they came */
			ofl_gro_undo(o, t->frames);
			t->out_split = 1;
		}
		for (; t->out_done < o->count; t->out_done++) {
			const struct ofl_frame *f =
				&t->frames[o->first + t->out_done];

			iov[0].iov_base = (void *)&plain;
			iov[0].iov_len = VNET_HLEN;
			iov[1].iov_base = f->data;
			iov[1].iov_len = f->len;
			r = writev(t->tapfd, iov, 2);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return -EAGAIN;
			if (r < 0) {
				relay_count(&t->cnt.rx_dropped, 1);
			} else {
				relay_count(&t->cnt.rx_frames, 1);
				relay_count(&t->cnt.rx_bytes, f->len);
			}
		}
	}
	return 0;
}

/**
 * rx_run() - VDE -> TAP: drain, coalesce, write
 * @t:		relay
 * @revents:	poll result of the data fd
 * Return: 1 on EOF of the connection.
 */
static int rx_run(struct tap *t, short revents)
{
	unsigned int n = 0, slot = 0;
	int eof = 0;

	while (slot < RX_FRAMES && rx_recv(t, revents, &eof, &n, &slot))
		;
	t->out_n = ofl_gro(t->frames, n, t->outs, relay_gro_flags(t->offloads));
	t->out_i = t->out_done = 0;
	t->out_split = 0;
	rx_flush(t);
	return eof;
}

/* ---------------------------------------- served by a reactor (reactor.c) */

static int tap_fd(const struct reactor_client *c, unsigned int i)
{
	const struct tap *t = (const struct tap *)c;

	switch (i) {
	case FD_TAP:
		return t->tapfd;
	case FD_DATA:
		return t->vde.datafd;
	case FD_CTL:
		return t->vde.ctlfd;
	default:
		return t->watch.nlfd;
	}
}

/**
 * tap_wanted() - the events each fd is watched for, from the state
 * @c:		relay
 * @want:	filled; 0 for an fd not watched
 *
 * Segments waiting for VDE stop the reading of the TAP and ask for
 * POLLOUT on VDE; frames waiting for the TAP likewise the other way
 * round.  A fd not watched leaves the set: epoll reports POLLERR and
 * POLLHUP whatever the mask, and a hung-up connection would spin.
 */
static void tap_wanted(const struct reactor_client *c, uint32_t *want)
{
	const struct tap *t = (const struct tap *)c;
	int txp = relay_vde_pending(&t->vde), rxp = rx_pending(t);
	int ctl = !t->eof && t->vde.ctlfd >= 0 &&
		  t->vde.ctlfd != t->vde.datafd;

	want[FD_TAP] = (txp ? 0 : EPOLLIN) | (rxp ? EPOLLOUT : 0);
	want[FD_DATA] = t->eof ? 0
			       : (rxp ? 0 : EPOLLIN | EPOLLRDHUP) |
					 (txp ? EPOLLOUT : 0);
	want[FD_CTL] = ctl ? EPOLLIN | EPOLLRDHUP : 0;
	want[FD_NL] = t->watch.nlfd >= 0 ? EPOLLIN : 0;
}

/**
 * tap_service() - act on the events of one round
 * @c:	relay; c->rev holds the events
 * Context: its reactor, which then watches what tap_wanted() says.
 */
static void tap_service(struct reactor_client *c)
{
	struct tap *t = (struct tap *)c;
	int txp = relay_vde_pending(&t->vde), rxp = rx_pending(t);
	const short *rev = c->rev;

	if (rev[FD_NL])
		relay_clamp_mtu(&t->watch, VDE_MAXMTU);
	if (rev[FD_CTL] && relay_vde_ctl_eof(&t->vde, rev[FD_CTL]))
		goto gone;
	if (rxp && (rev[FD_TAP] & (POLLOUT | POLLERR | POLLHUP)))
		rx_flush(t);
	if (!rxp && (rev[FD_DATA] & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)) &&
	    rx_run(t, rev[FD_DATA]))
		goto gone;
	if (txp ? (rev[FD_DATA] & (POLLOUT | POLLERR | POLLHUP))
		: (rev[FD_TAP] & POLLIN))
		tx_run(t, t->eof);
	return;
gone:
	t->eof = 1;
	vde_gone(t);
}

/* an fd could not be watched */
static void tap_error(struct reactor_client *c)
{
	relay_count(&((struct tap *)c)->cnt.errors, 1);
}

static const struct reactor_ops tap_reactor_ops = {
	.name = "vdestack-tap",
	.fd = tap_fd,
	.wanted = tap_wanted,
	.service = tap_service,
	.error = tap_error,
};

/**
 * set_offload() - let the stack hand over super-frames and partial sums
 * @t:		relay
 * @svc:	for the log
 */
static void set_offload(struct tap *t, const struct vdestack_services *svc)
{
	t->offloads = relay_tap_offload(t->tapfd);
	svc->log("tap: offloads 0x%x, %s", t->offloads,
		 relay_vde_recv_direct(&t->vde)	     ? "recvmmsg/sendmmsg"
		 : t->vde.direct == RELAY_DIRECT_UDP ? "sendmmsg"
						     : "vde_recv/vde_send");
}

/* Room for bursts on the wire socket (see WIRE_SNDBUF). */
static void set_wire_sndbuf(struct tap *t)
{
	int sz = WIRE_SNDBUF;

	if (t->vde.direct == RELAY_DIRECT_NONE)
		return;
	if (setsockopt(t->vde.datafd, SOL_SOCKET, SO_SNDBUFFORCE, &sz,
		       sizeof(sz)) < 0)
		setsockopt(t->vde.datafd, SOL_SOCKET, SO_SNDBUF, &sz,
			   sizeof(sz));
}

/* TAP queue length and send buffer (see TAP_TXQLEN, TAP_SNDBUF). */
static void set_queues(struct tap *t, const char *ifname,
		       const struct vdestack_services *svc)
{
	int sndbuf = TAP_SNDBUF;
	int r;

	if (ioctl(t->tapfd, TUNSETSNDBUF, &sndbuf) < 0)
		svc->log("tap: TUNSETSNDBUF: %s", strerror(errno));
	r = relay_set_txqlen(&t->watch, ifname, TAP_TXQLEN);
	if (r < 0)
		svc->log("tap: txqueuelen of %s: %s", ifname, strerror(-r));
}

static void init_rx_msgs(struct tap *t)
{
	unsigned int i;

	for (i = 0; i < RX_BATCH; i++) {
		t->rx_iov[i].iov_len = RX_SLOT;
		t->rx_msgs[i].msg_hdr.msg_iov = &t->rx_iov[i];
		t->rx_msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

static int tap_create(const struct vdestack_backend_args *a, void **priv)
{
	struct tap *t;
	int r, vnet_hlen = VNET_HLEN;

	if (!a->conn) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "needs a libvdeplug connection");
		return -EINVAL;
	}
	/* Large (the frame buffers): mapped on its own, so pages are zero
	 * and untouched until used and an idle stack's buffers cost no
	 * memory.  calloc() would do so only the first time: once such a
	 * block is freed, glibc raises its mmap threshold and the next one
	 * comes from the heap, zeroed by hand (1.5 MiB of page faults on
	 * every vde_addstack, all of it resident). */
	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return -ENOMEM;
	r = relay_vde_init(&t->vde, a, &t->cnt, 1);
	if (r < 0)
		goto out_free;
	init_rx_msgs(t);
	t->watch.nlfd = t->watch.ifsock = -1;
	t->tapfd = relay_tap_open(a);
	if (t->tapfd < 0) {
		r = t->tapfd;
		goto out_free;
	}
	if (ioctl(t->tapfd, TUNSETVNETHDRSZ, &vnet_hlen) < 0) {
		r = -errno;
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot set the virtio-net header size of %s: %s",
			 a->ifname, strerror(-r));
		goto out_tap;
	}
	set_offload(t, a->svc);
	if (fcntl(t->tapfd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto out_tap;
	}
	relay_set_carrier(t->tapfd, 1);
	r = relay_watch_open(&t->watch, a);
	if (r < 0) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot watch the MTU of %s: %s", a->ifname,
			 strerror(-r));
		goto out_tap;
	}
	set_queues(t, a->ifname, a->svc);
	set_wire_sndbuf(t);
	r = relay_create_mtu(&t->watch, a);
	if (r < 0)
		goto out_tap;

	t->rc.ops = &tap_reactor_ops;
	t->rc.nfds = FD_N;
	r = reactor_attach(&t->rc);
	if (r < 0) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot start relaying %s: %s", a->ifname,
			 strerror(-r));
		goto out_tap;
	}
	*priv = t;
	return 0;

out_tap:
	relay_watch_close(&t->watch);
	close(t->tapfd);
out_free:
	munmap(t, sizeof(*t));
	return r;
}

static void tap_destroy(void *priv)
{
	struct tap *t = priv;

	reactor_detach(&t->rc);
	relay_watch_close(&t->watch);
	close(t->tapfd);
	munmap(t, sizeof(*t));
}

static int tap_stats(void *priv, struct vde_stack_stats *st)
{
	struct tap *t = priv;

	return relay_stats(&t->cnt, st);
}

__attribute__((visibility("default")))
const struct vdestack_backend vdestack_backend = {
	.abi = VDESTACK_BACKEND_ABI,
	.size = sizeof(struct vdestack_backend),
	.name = "tap",
	.summary = "TAP device in the stack, frames relayed to "
		   "libvdeplug by a library thread",
	.schemes = NULL,
	.options = NULL,
	.priority = 10,
	.max_mtu = VDE_MAXMTU,
	.probe = relay_probe_tun,
	.create = tap_create,
	.destroy = tap_destroy,
	.stats = tap_stats,
	.prefetch = relay_prefetch,
};
