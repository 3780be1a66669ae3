// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tap.c - the tap-relay backend
 *
 * DOC: Theory of Operation
 *
 * A TAP device inside the stack (opened by the agent, so it belongs to the
 * stack's network namespace; configured here, since the application owns
 * the stack's user namespace) and one relay thread per stack moving frames
 * between it and the libvdeplug connection.
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
 * The connection is used by this thread only: switch/hub/vxvde plugins
 * update a MAC table on both send and recv without locks.
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
 * direct_mode()), sendmmsg(2)/recvmmsg(2) on that fd move a whole burst
 * per syscall.  Counters count frames as VDE sees them.
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vdestack_backend.h>

#include "offload.h"
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
/* segments handed to sendmmsg() at once */
#define TX_SEGS 128
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

enum direct {
	DIRECT_NONE,	  /* vde_send()/vde_recv() */
	DIRECT_SEQPACKET, /* sendmmsg() and recvmmsg() on the fd */
	DIRECT_UDP,	  /* sendmmsg() once connected; vde_recv() */
};

struct tap {
	int tapfd;
	int stopfd;
	struct vdeconn *conn;
	int datafd;
	int ctlfd;
	int data_is_socket;
	enum direct direct;
	unsigned int offloads;	  /* TUN_F_* the TAP accepted */
	struct relay_watch watch; /* MTU watch inside the stack */
	pthread_t thread;
	struct relay_counters cnt;

	/* TAP -> VDE: segs[seg_i..seg_n) wait to be sent; they point into
	 * txarea, which is reused once they and @gso are done */
	struct ofl_gso gso;
	unsigned int seg_i, seg_n;
	size_t txpos;
	struct ofl_seg segs[TX_SEGS];
	struct mmsghdr tx_msgs[TX_SEGS];
	struct iovec tx_iov[TX_SEGS][2];
	unsigned char flat[VDE_ETHBUFSIZE]; /* a segment for vde_send() */
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

static int tx_pending(const struct tap *t)
{
	return t->seg_i < t->seg_n;
}

static int rx_pending(const struct tap *t)
{
	return t->out_i < t->out_n;
}

/**
 * tx_send_one() - send segs[seg_i] with vde_send()
 * @t:	relay
 * Return: 0 sent or dropped, -EAGAIN if VDE is full.
 */
static int tx_send_one(struct tap *t)
{
	const struct ofl_seg *s = &t->segs[t->seg_i];
	const void *buf = s->data;
	size_t len = s->len;
	ssize_t n;

	if (s->hdr_len) {
		/* ofl_gso_start() bounds a segment by VDE_ETHBUFSIZE */
		memcpy(t->flat, s->hdr, s->hdr_len);
		memcpy(t->flat + s->hdr_len, s->data, s->len);
		buf = t->flat;
		len += s->hdr_len;
	}
	n = vde_send(t->conn, buf, len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR))
		return -EAGAIN;
	if (n < 0) {
		relay_count(&t->cnt.tx_dropped, 1);
	} else {
		relay_count(&t->cnt.tx_frames, 1);
		relay_count(&t->cnt.tx_bytes, len);
	}
	t->seg_i++;
	return 0;
}

/**
 * tx_send_many() - send segs[seg_i..seg_n) with one sendmmsg()
 * @t:	relay (direct mode)
 * Return: 0 if some were sent or one dropped, -EAGAIN if VDE is full.
 */
static int tx_send_many(struct tap *t)
{
	unsigned int n = t->seg_n - t->seg_i, k;
	uint64_t bytes = 0;
	int r;

	for (k = 0; k < n; k++) {
		const struct ofl_seg *s = &t->segs[t->seg_i + k];
		struct msghdr *m = &t->tx_msgs[k].msg_hdr;
		struct iovec *iov = t->tx_iov[k];

		memset(m, 0, sizeof(*m));
		m->msg_iov = iov;
		if (s->hdr_len) {
			iov[0].iov_base = (void *)s->hdr;
			iov[0].iov_len = s->hdr_len;
			m->msg_iovlen = 1;
		}
		iov[m->msg_iovlen].iov_base = (void *)s->data;
		iov[m->msg_iovlen].iov_len = s->len;
		m->msg_iovlen++;
	}
	/* a peer gone: EPIPE, not a SIGPIPE left pending on this thread */
	r = sendmmsg(t->datafd, t->tx_msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r > 0) {
		for (k = 0; k < (unsigned int)r; k++)
			bytes += t->segs[t->seg_i + k].hdr_len +
				 t->segs[t->seg_i + k].len;
		relay_count(&t->cnt.tx_frames, (unsigned int)r);
		relay_count(&t->cnt.tx_bytes, bytes);
		t->seg_i += (unsigned int)r;
		return 0;
	}
	if (r < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR))
		return -EAGAIN;
	/* udp:// connects its socket on the first send: let it */
	if (r < 0 && t->direct == DIRECT_UDP &&
	    (errno == ENOTCONN || errno == EDESTADDRREQ))
		return tx_send_one(t);
	/* the first message failed (errors after it are not reported): it
	 * is dropped, the rest are tried again */
	relay_count(&t->cnt.tx_dropped, 1);
	t->seg_i++;
	return 0;
}

/**
 * tx_flush() - send the waiting segments
 * @t:	relay
 * Return: 0 when none is left, -EAGAIN when VDE is full.
 */
static int tx_flush(struct tap *t)
{
	while (tx_pending(t)) {
		int r = t->direct != DIRECT_NONE ? tx_send_many(t)
						 : tx_send_one(t);

		if (r < 0)
			return r;
	}
	t->seg_i = t->seg_n = 0;
	if (!ofl_gso_more(&t->gso))
		t->txpos = 0;
	return 0;
}

/* VDE is gone: what waits for it is lost. */
static void tx_drop_pending(struct tap *t)
{
	uint64_t n = t->seg_n - t->seg_i;

	n += t->gso.nsegs - t->gso.next;
	if (n)
		relay_count(&t->cnt.tx_dropped, n);
	t->seg_i = t->seg_n = 0;
	t->gso.nsegs = t->gso.next = 0;
	t->txpos = 0;
}

/**
 * tx_run() - TAP -> VDE: send what waits, then read and send a burst
 * @t:		relay
 * @eof:	VDE is gone: read frames are dropped
 */
static void tx_run(struct tap *t, int eof)
{
	unsigned int reads = 0, segs = 0;

	if (tx_flush(t) < 0)
		return;
	for (;;) {
		struct virtio_net_hdr vh;
		unsigned char *buf;
		ssize_t n;
		int r;

		while (ofl_gso_more(&t->gso)) {
			if (t->seg_n == TX_SEGS && tx_flush(t) < 0)
				return;
			t->seg_n += ofl_gso_next(&t->gso, t->segs + t->seg_n,
						 TX_SEGS - t->seg_n);
		}
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
		r = ofl_gso_start(&t->gso, &vh, buf + VNET_HLEN,
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

/* Whether the connection's peer has hung up (a 0-byte recv is EOF then). */
static int hung_up(struct tap *t, short revents)
{
	struct pollfd p = {.fd = t->datafd, .events = POLLRDHUP};

	if (revents & (POLLHUP | POLLRDHUP))
		return 1;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP));
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

	if (t->direct == DIRECT_SEQPACKET) {
		if (room > RX_BATCH)
			room = RX_BATCH;
		for (i = 0; i < room; i++)
			t->rx_iov[i].iov_base = t->rxarea[*slot + i];
		r = recvmmsg(t->datafd, t->rx_msgs, room, MSG_DONTWAIT, NULL);
		if (r <= 0) {
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				relay_count(&t->cnt.errors, 1);
			return 0;
		}
		for (i = 0; i < (unsigned int)r; i++) {
			unsigned int len = t->rx_msgs[i].msg_len;

			if (len == 0 && hung_up(t, revents)) {
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
		return 1;
	}
	for (i = 0; i < room; i++) {
		ssize_t len;

		/*
		 * Some plugins' datafd is not the socket frames arrive on
		 * (switch:// has an epoll fd and vde_recv() blocks in
		 * epoll_wait): only a plain socket can be drained until
		 * EAGAIN; anything else is asked first.
		 */
		if ((*n || i) && !t->data_is_socket) {
			struct pollfd p = {.fd = t->datafd, .events = POLLIN};

			if (poll(&p, 1, 0) <= 0)
				return 0;
		}
		len = vde_recv(t->conn, t->rxarea[*slot], RX_SLOT, 0);
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				relay_count(&t->cnt.errors, 1);
			return 0;
		}
		if (len == 0 && hung_up(t, revents)) {
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
	t->out_n = ofl_gro(t->frames, n, t->outs);
	t->out_i = t->out_done = 0;
	t->out_split = 0;
	rx_flush(t);
	return eof;
}

static void *relay(void *arg)
{
	struct tap *t = arg;
	int eof = 0;

	for (;;) {
		int txp = tx_pending(t), rxp = rx_pending(t);
		short tev = (short)((txp ? 0 : POLLIN) | (rxp ? POLLOUT : 0));
		short dev = (short)((rxp ? 0 : POLLIN | POLLRDHUP) |
				    (txp ? POLLOUT : 0));
		struct pollfd pfd[5] = {
			{.fd = t->stopfd, .events = POLLIN},
			{.fd = tev ? t->tapfd : -1, .events = tev},
			{.fd = eof || !dev ? -1 : t->datafd, .events = dev},
			{.fd = eof || t->ctlfd == t->datafd ? -1 : t->ctlfd,
			 .events = POLLIN | POLLRDHUP},
			{.fd = t->watch.nlfd, .events = POLLIN},
		};

		if (poll(pfd, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[4].revents)
			relay_clamp_mtu(&t->watch, VDE_MAXMTU);
		if (pfd[3].revents) {
			char c;
			ssize_t n = recv(t->ctlfd, &c, 1, MSG_DONTWAIT);

			if (n == 0 ||
			    (pfd[3].revents & (POLLHUP | POLLRDHUP)) ||
			    (n < 0 && errno != EAGAIN && errno != EINTR &&
			     errno != ENOTSOCK)) {
				eof = 1;
				tx_drop_pending(t);
				relay_set_carrier(t->tapfd, 0);
				continue;
			}
		}
		if (rxp && (pfd[1].revents & (POLLOUT | POLLERR | POLLHUP)))
			rx_flush(t);
		if (!rxp && (pfd[2].revents &
			     (POLLIN | POLLHUP | POLLRDHUP | POLLERR))) {
			if (rx_run(t, pfd[2].revents)) {
				eof = 1;
				tx_drop_pending(t);
				relay_set_carrier(t->tapfd, 0);
				continue;
			}
		}
		if (txp ? (pfd[2].revents & (POLLOUT | POLLERR | POLLHUP))
			: (pfd[1].revents & POLLIN))
			tx_run(t, eof);
	}
	return NULL;
}

/**
 * direct_mode() - whether frames may bypass the plugin on vde_datafd()
 * @vdenet:	the VNL
 * @datafd:	vde_datafd() of its connection
 *
 * libvdeplug 4's seqpacket plugin is recv(fd, buf, len, 0) and
 * send(fd, buf, len, 0) (never for len 0) on the fd given in the VNL, and
 * nothing else: recvmmsg()/sendmmsg() on that fd are the same calls,
 * batched.  Its udp plugin sends with send() on a socket it connects on
 * the first ENOTCONN/EDESTADDRREQ (tx_send_many() hands exactly those to
 * vde_send()), but disconnects it on a 0-byte receive: receiving stays
 * with the plugin.  Anything else, or a fd that is not what the plugin
 * would have made, goes through vde_send()/vde_recv().
 *
 * Return: enum direct.
 */
static enum direct direct_mode(const char *vdenet, int datafd)
{
	int type = 0, dom = 0;
	socklen_t l = sizeof(int);

	if (datafd < 0 ||
	    getsockopt(datafd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		return DIRECT_NONE;
	l = sizeof(int);
	if (getsockopt(datafd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0)
		return DIRECT_NONE;
	if (!strncmp(vdenet, "seqpacket://", 12) && type == SOCK_SEQPACKET &&
	    dom == AF_UNIX && strtol(vdenet + 12, NULL, 0) == datafd)
		return DIRECT_SEQPACKET;
	if (!strncmp(vdenet, "udp://", 6) && type == SOCK_DGRAM &&
	    (dom == AF_INET || dom == AF_INET6))
		return DIRECT_UDP;
	return DIRECT_NONE;
}

/**
 * set_offload() - let the stack hand over super-frames and partial sums
 * @t:		relay
 * @svc:	for the log
 */
static void set_offload(struct tap *t, const struct vdestack_services *svc)
{
	t->offloads = relay_tap_offload(t->tapfd);
	svc->log("tap: offloads 0x%x, %s", t->offloads,
		 t->direct == DIRECT_SEQPACKET ? "recvmmsg/sendmmsg"
		 : t->direct == DIRECT_UDP     ? "sendmmsg"
					       : "vde_recv/vde_send");
}

/* Room for bursts on the wire socket (see WIRE_SNDBUF). */
static void set_wire_sndbuf(struct tap *t)
{
	int sz = WIRE_SNDBUF;

	if (t->direct == DIRECT_NONE)
		return;
	if (setsockopt(t->datafd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) <
	    0)
		setsockopt(t->datafd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
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
	struct stat st;
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
	t->conn = a->conn;
	t->datafd = vde_datafd(a->conn);
	t->ctlfd = vde_ctlfd(a->conn);
	t->data_is_socket = fstat(t->datafd, &st) == 0 && S_ISSOCK(st.st_mode);
	t->direct = direct_mode(a->vdenet, t->datafd);
	init_rx_msgs(t);
	t->watch.nlfd = t->watch.ifsock = -1;
	t->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->stopfd < 0) {
		r = -errno;
		goto out_free;
	}
	t->tapfd = relay_tap_open(a);
	if (t->tapfd < 0) {
		r = t->tapfd;
		goto out_stop;
	}
	if (ioctl(t->tapfd, TUNSETVNETHDRSZ, &vnet_hlen) < 0) {
		r = -errno;
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot set the virtio-net header size of %s: %s",
			 a->ifname, strerror(-r));
		goto out_tap;
	}
	set_offload(t, a->svc);
	if (fcntl(t->tapfd, F_SETFL, O_NONBLOCK) < 0 ||
	    (t->datafd >= 0 &&
	     fcntl(t->datafd, F_SETFL, fcntl(t->datafd, F_GETFL) | O_NONBLOCK) <
		     0)) {
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
	if (a->mtu) {
		r = relay_set_mtu(&t->watch, a->ifname, a->mtu);
		if (r < 0) {
			snprintf(a->reason, VDESTACK_REASON_MAX,
				 "cannot set MTU %u on %s: %s", a->mtu,
				 a->ifname, strerror(-r));
			goto out_tap;
		}
	}

	r = relay_thread_start(&t->thread, relay, t, "vdestack-tap");
	if (r < 0) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot start the relay thread: %s", strerror(-r));
		goto out_tap;
	}
	*priv = t;
	return 0;

out_tap:
	relay_watch_close(&t->watch);
	close(t->tapfd);
out_stop:
	close(t->stopfd);
out_free:
	munmap(t, sizeof(*t));
	return r;
}

static void tap_destroy(void *priv)
{
	struct tap *t = priv;

	if (relay_thread_stop(t->stopfd, t->thread) < 0)
		return;
	relay_watch_close(&t->watch);
	close(t->tapfd);
	close(t->stopfd);
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
};
