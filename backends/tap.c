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
 * other tap stacks (see "the reactor" below).
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
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

struct reactor;

struct tap {
	int tapfd;
	unsigned int offloads;	  /* TUN_F_* the TAP accepted */
	struct relay_watch watch; /* MTU watch inside the stack */
	struct relay_counters cnt;

	/* the reactor's, once attached: the connection's EOF, the events
	 * each fd is registered for (0: not in the set), this round's */
	struct reactor *r;
	int eof, queued;
	uint32_t reg[FD_N];
	short rev[FD_N];
	unsigned int rounds;	/* served in this window */
	struct tap *srv_next;	/* on r->served */
	/* under reactor_lock: a request to the reactor (on a list by
	 * cmd_next: asked by a thread waiting for cmd_done, or moving from
	 * a busy reactor) and its answer */
	struct tap *cmd_next;
	int asked, moving, cmd_done, cmd_result;

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

/* ------------------------------------------------------------ the reactor */

/*
 * Reactors: relay threads shared by the process's tap stacks.  A stack is
 * served by one reactor at a time, and a new one by the first: frames from
 * one stack to another of the same process cross the wire and are taken
 * off it by the same thread without a wake-up in between, and an idle
 * stack costs no thread.  A saturated reactor (see reactor_main(): a bulk
 * flow between two stacks needs more than one CPU, a frame is copied four
 * times between TAP, wire and TAP) hands its busiest stack to another
 * reactor, up to one per CPU; one with nothing to do spins briefly before
 * it sleeps while that pays off (reactor_wait()).  A reactor runs while it
 * has stacks; the
 * last destroy() joins it.  Stacks are attached and detached through
 * requests the reactor answers (reactor_lock, reactor_done), so that only
 * the reactor serving a stack ever touches its relay state, the epoll set
 * included.
 */
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
 * struct reactor - a relay thread of the process's tap stacks
 * @epfd:	the epoll set; each stack's fds are tagged with (stack | FD_*)
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
	struct tap *served;
	int spinning;
	uint8_t spin_hits;
	uint64_t probed;
	unsigned int waits;
	unsigned int stacks;
	struct tap *adds, *dels;
	int stop;
};

static pthread_mutex_t reactor_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reactor_done = PTHREAD_COND_INITIALIZER;
/* the running reactors, under reactor_lock; reactors_max: one per CPU */
static struct reactor *reactors[REACTORS_MAX];
static unsigned int reactors_max;

static int tap_fd(const struct tap *t, unsigned int i)
{
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
 * @t:		relay
 * @want:	filled; 0 for an fd not watched
 *
 * Segments waiting for VDE stop the reading of the TAP and ask for
 * POLLOUT on VDE; frames waiting for the TAP likewise the other way
 * round.  A fd not watched leaves the set: epoll reports POLLERR and
 * POLLHUP whatever the mask, and a hung-up connection would spin.
 */
static void tap_wanted(const struct tap *t, uint32_t want[FD_N])
{
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
 * tap_watch() - bring the epoll set in line with what tap_wanted() says
 * @t:	relay
 * Return: 0, or -errno of the first registration that failed.
 */
static int tap_watch(struct tap *t)
{
	uint32_t want[FD_N];
	unsigned int i;
	int ret = 0;

	tap_wanted(t, want);
	for (i = 0; i < FD_N; i++) {
		struct epoll_event e = {.events = want[i],
					.data.u64 = (uintptr_t)t | i};
		int op = !t->reg[i]   ? EPOLL_CTL_ADD
			 : !want[i] ? EPOLL_CTL_DEL
				    : EPOLL_CTL_MOD;

		if (want[i] == t->reg[i])
			continue;
		if (epoll_ctl(t->r->epfd, op, tap_fd(t, i), &e) < 0 &&
		    op != EPOLL_CTL_DEL) {
			if (!ret)
				ret = -errno;
			continue;
		}
		t->reg[i] = want[i];
	}
	return ret;
}

/* Every fd of @t out of its reactor's set, and @t off its list. */
static void tap_unwatch(struct tap *t)
{
	struct tap **p;
	unsigned int i;

	for (i = 0; i < FD_N; i++)
		if (t->reg[i]) {
			epoll_ctl(t->r->epfd, EPOLL_CTL_DEL, tap_fd(t, i),
				  NULL);
			t->reg[i] = 0;
		}
	for (p = &t->r->served; *p; p = &(*p)->srv_next)
		if (*p == t) {
			*p = t->srv_next;
			break;
		}
}

/**
 * tap_service() - act on the events of one round, then watch what the new
 * state needs
 * @t:	relay; t->rev holds the events
 * Context: its reactor.
 */
static void tap_service(struct tap *t)
{
	int txp = relay_vde_pending(&t->vde), rxp = rx_pending(t);
	const short *rev = t->rev;

	t->rounds++;
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
	goto watch;
gone:
	t->eof = 1;
	vde_gone(t);
watch:
	if (tap_watch(t) < 0)
		relay_count(&t->cnt.errors, 1);
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
	struct tap *t;
	uint64_t n;
	int stop;

	if (read(r->wakefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return 0;
	pthread_mutex_lock(&reactor_lock);
	while ((t = r->adds)) {
		r->adds = t->cmd_next;
		t->srv_next = r->served;
		r->served = t;
		if (t->moving) {
			/* the same fds in another set: only ENOMEM */
			t->moving = 0;
			if (tap_watch(t) < 0)
				relay_count(&t->cnt.errors, 1);
			continue;
		}
		t->cmd_result = tap_watch(t);
		if (t->cmd_result < 0)
			tap_unwatch(t);
		t->asked = 0;
		t->cmd_done = 1;
	}
	while ((t = r->dels)) {
		r->dels = t->cmd_next;
		tap_unwatch(t);
		t->asked = 0;
		t->cmd_done = 1;
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
 *
 * @first is watched before the thread exists, so it needs no request (and
 * its creator no round trip to the thread): the common case of a process
 * with one stack at a time.
 *
 * Return: it, or NULL with errno (EAGAIN: no free slot; what epoll said
 * of @first's fds).
 * Context: reactor_lock held.
 */
static struct reactor *reactor_start(struct tap *first)
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
		errno = -tap_watch(first);
		if (errno)
			goto fail; /* closing epfd forgets what was watched */
	}
	errno = -relay_thread_start(&r->thread, reactor_main, r,
				    "vdestack-tap");
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
	struct tap *t, *busiest = NULL;
	struct reactor *to = NULL;
	unsigned int active = 0, i;

	pthread_mutex_lock(&reactor_lock);
	for (t = r->served; t; t = t->srv_next) {
		if (t->rounds)
			active++;
		/* one being detached stays */
		if (!t->asked && (!busiest || t->rounds > busiest->rounds))
			busiest = t;
	}
	if (active < 2 || !busiest) {
		pthread_mutex_unlock(&reactor_lock);
		return;
	}
	/* a new reactor while there is room, else the least busy */
	to = reactor_start(NULL);
	if (!to)
		for (i = 0; i < reactors_max; i++)
			if (reactors[i] && reactors[i] != r &&
			    !reactors[i]->stop &&
			    (!to || reactors[i]->stacks < to->stacks))
				to = reactors[i];
	if (to) {
		tap_unwatch(busiest);
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
	struct tap *serve[REACTOR_EVENTS];
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
			struct tap *t = (struct tap *)(tag & ~(uintptr_t)7);

			if (!t) {
				req = 1;
				continue;
			}
			if (!t->queued) {
				t->queued = 1;
				memset(t->rev, 0, sizeof(t->rev));
				serve[ns++] = t;
			}
			t->rev[tag & 7] |= (short)ev[i].events;
		}
		for (i = 0; i < ns; i++) {
			serve[i]->queued = 0;
			tap_service(serve[i]);
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
		for (struct tap *t = r->served; t; t = t->srv_next)
			t->rounds = 0;
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

/* Hand @t to its reactor's @list and wait for the answer. */
static int reactor_ask(struct tap *t, struct tap **list)
{
	t->asked = 1;
	t->cmd_done = 0;
	t->cmd_next = *list;
	*list = t;
	reactor_wake(t->r);
	while (!t->cmd_done)
		pthread_cond_wait(&reactor_done, &reactor_lock);
	return t->cmd_result;
}

/**
 * reactor_attach() - relay @t from now on, starting a reactor if needed
 * @t:	relay, ready to run
 * Return: 0 or -errno (an fd epoll refuses; no thread, no memory).
 */
static int reactor_attach(struct tap *t)
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
		r = reactor_start(t);
		ret = r ? 0 : -errno;
		pthread_mutex_unlock(&reactor_lock);
		return ret;
	}
	r->stacks++;
	t->r = r;
	ret = reactor_ask(t, &r->adds);
	if (ret < 0) {
		reactor_put(r);
		return ret;
	}
	pthread_mutex_unlock(&reactor_lock);
	return 0;
}

/*
 * @t is relayed no more; a reactor stops with its last stack.  Its last
 * stack needs no request: once the thread is joined nothing touches @t.
 */
static void reactor_detach(struct tap *t)
{
	pthread_mutex_lock(&reactor_lock);
	while (t->moving) /* on the way to another reactor */
		pthread_cond_wait(&reactor_done, &reactor_lock);
	if (t->r->stacks > 1)
		reactor_ask(t, &t->r->dels);
	reactor_put(t->r);
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

	r = reactor_attach(t);
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

	reactor_detach(t);
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
