// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vhost_net.c - the vhost-net backend
 *
 * DOC: Theory of Operation
 *
 * The stack gets a TAP device, as with the tap backend (opened by the
 * agent so it belongs to the stack's network namespace, configured from
 * here), but the relay never reads or writes it: the TAP is attached to a
 * /dev/vhost-net instance (opened here, in the application's process: the
 * device is not namespaced), and the kernel's vhost worker moves frames
 * between the TAP and two virtqueues in this process's memory, as it would
 * for a virtual machine.  The relay thread moves them between the
 * virtqueues and the libvdeplug connection.  So the TAP side costs no
 * syscall per frame; the VDE side is batched (recvmmsg/sendmmsg where the
 * connection is a plain seqpacket socket).
 *
 * Memory: the vhost worker reads and writes our memory through the table
 * given with VHOST_SET_MEM_TABLE, in the owner's address space (a kernel
 * thread using our mm on Linux < 6.4, a thread of ours after).  Rings,
 * receive buffers and transmit slots therefore live in one anonymous
 * mapping, registered once, identity-mapped (a descriptor's "guest
 * physical" address is our pointer).  MADV_DONTFORK keeps a fork()ed child
 * from sharing it copy-on-write: the worker keeps writing into the parent.
 *
 * Virtqueue 0 (RX, stack -> VDE): the vhost worker fills our buffers with
 * what the stack sends.  With VIRTIO_NET_F_MRG_RXBUF (offered by every
 * vhost-net) the buffers are one page each and a 64 KB super-frame spans
 * several; without it every buffer must hold the largest frame.  The
 * worker takes buffers in ring order and we give them back in ring order,
 * so descriptor i is always buffer i, the avail ring never changes (entry
 * i is i) and giving buffers back is one store of avail->idx; the buffers
 * of one frame are adjacent in memory except where the ring wraps (that
 * frame is copied out).  Buffers go back only once every segment cut from
 * them has been sent: while VDE cannot take more, the worker runs out of
 * buffers and the TAP's queue fills (backpressure into the stack, as with
 * the tap backend).
 *
 * Virtqueue 1 (TX, VDE -> stack): each descriptor owns one slot big enough
 * for a VDE frame and its virtio-net header, so frames are received from
 * VDE straight into memory the worker reads (no copy).  Consecutive TCP
 * segments of a burst are coalesced (offload.c): their slots become one
 * descriptor chain, the first slot carrying the header and the rewritten
 * first frame, the others only their payload.  A slot is free again when
 * the worker has consumed its chain.  When every slot is in flight the
 * relay stops reading VDE until the worker returns some.
 *
 * Notifications: we kick only when the worker asked for it (it clears
 * VRING_USED_F_NO_NOTIFY when it is about to sleep), after a full barrier,
 * the usual virtio pairing.  The worker's interrupts (call eventfds) wake
 * the relay for RX when it is about to sleep (off while it drains the
 * ring, as a NAPI driver does), for TX only while it is starved of slots.
 *
 * Cost: the TAP side needs no syscall per frame, but every hop between
 * the relay and the worker that finds the other asleep is a wake-up.
 * Where they run on different CPUs that buys parallelism (the worker
 * copies frames while the relay talks to VDE); on a single CPU it only
 * adds context switches, and the tap backend is cheaper there.
 *
 * Offloads and the vnet header: the TAP runs with IFF_VNET_HDR and a
 * header of the size vhost uses (TUNSETVNETHDRSZ: 12 bytes with
 * VERSION_1 or MRG_RXBUF, else 10; little-endian with VERSION_1,
 * TUNSETVNETLE), and VHOST_NET_F_VIRTIO_NET_HDR is not negotiated, so the
 * worker passes the header between the TAP and our buffers untouched.
 * TUNSETOFFLOAD then lets the stack hand over TCP super-frames with
 * partial checksums, segmented for VDE by the same code as the tap
 * backend (offload.c).
 *
 * Everything else follows the tap backend's rules: one thread drives both
 * directions of the connection (libvdeplug plugins are not thread-safe),
 * all fds are non-blocking, runts and results of vde_recv() shorter than
 * an Ethernet header are never passed on, a frame longer than VDE carries
 * is dropped and counted, EOF of the connection turns the carrier off, an
 * MTU above VDE_MAXMTU is put back at once.
 *
 * Teardown: VHOST_RESET_OWNER stops the worker and detaches the TAP
 * synchronously, even if a fork()ed child still holds a copy of the
 * vhost fd, so the mapping can go right after.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libvdeplug.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
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

#define VHOST_DEV "/dev/vhost-net"
#define PAGE 4096UL
#define ROUND_UP(x, a) (((x) + (a)-1) & ~((a)-1))

#define RING_DEFAULT 256
/* a 64 KB super-frame takes 17 one-page buffers: leave room for several */
#define RING_MIN 64
#define RING_MAX 1024
/* longest worker busy-poll we let a user ask for, in microseconds */
#define BUSYLOOP_MAX 1000

#define ETH_HLEN_MIN 14
#define VNET_HLEN_MAX sizeof(struct virtio_net_hdr_mrg_rxbuf)
/* largest frame a TAP with TSO hands over: 64 KB of IP, Ethernet, VLAN */
#define SUPER_FRAME (65536 + 64)
/* receive room past VDE_ETHBUFSIZE, to see (and drop) oversized frames */
#define VDE_ROOM ROUND_UP(VDE_ETHBUFSIZE + 64, 64UL)
/*
 * TX slot: [2 bytes pad][vnet header, ending at SLOT_FRAME][frame].  The
 * frame starts at 14 mod 16, so its IP header is 4-byte aligned.
 */
#define SLOT_FRAME 14
#define SLOT_SIZE ROUND_UP(SLOT_FRAME + VDE_ROOM, 64UL)
/* mergeable RX buffer */
#define RXBUF_MRG PAGE

/* VDE -> stack: frames per receive burst (the unit of coalescing) */
#define TX_BATCH 64
/* ... bursts per wake-up */
#define TX_BURSTS 4
/* ... frames per wake-up, for fairness between the directions */
#define RX_FRAMES 256

/* The tun queue between the stack and the worker (see tap.c: TAP_TXQLEN). */
#define TAP_TXQLEN 4096

struct vq {
	struct vring vr;
	unsigned int num;
	uint16_t last_used; /* next used entry to look at */
	uint16_t avail_idx; /* what we published in avail->idx */
	int kick, call;
};

/**
 * struct vh - one stack's vhost-net relay
 *
 * Fields below "relay state" belong to the relay thread once it runs.
 */
struct vh {
	int vhostfd, tapfd, stopfd;
	struct relay_watch watch; /* MTU watch inside the stack */
	int owner;		  /* VHOST_SET_OWNER done */
	pthread_t thread;
	int running;

	/* negotiated */
	uint64_t features;
	unsigned int hlen; /* vnet header in buffers and on the TAP */
	int v1, mergeable;
	unsigned int offloads; /* TUN_F_* the TAP accepted */

	/* the registered mapping */
	unsigned char *mem;
	size_t memlen;
	unsigned char *rxbufs, *slots, *scratch;
	size_t rxbuf_size, scratch_size;
	struct vq rx, tx;

	struct relay_counters cnt;

	/* relay state, stack -> VDE (virtqueue 0) */
	uint16_t rx_done;     /* used entries whose frames are all in segs */
	uint16_t rx_returned; /* used entries given back to the worker */
	uint16_t scratch_end; /* used position after the copied frame */
	int scratch_busy, rx_blocked, rx_more;
	/* the connection; its segments point into the RX buffers (or the
	 * scratch copy), which go back once the segments are sent */
	struct relay_vde vde;

	/* relay state, VDE -> stack (virtqueue 1) */
	int tx_starved, recv_more;
	unsigned int nfree;
	uint16_t free_slots[RING_MAX];
	uint16_t frame_slot[TX_BATCH];
	struct ofl_frame frames[TX_BATCH];
	struct ofl_gro_out outs[TX_BATCH];
	struct mmsghdr rmsgs[TX_BATCH];
	struct iovec riov[TX_BATCH];
};

/* ------------------------------------------------------------ ring access */

/*
 * Ring fields and vnet headers are little-endian with VERSION_1 and native
 * without (legacy): one swap, its own inverse, serves both directions.
 */
static inline uint16_t vio16(const struct vh *h, uint16_t v)
{
	return h->v1 ? htole16(v) : v;
}

static inline uint32_t vio32(const struct vh *h, uint32_t v)
{
	return h->v1 ? htole32(v) : v;
}

static inline uint64_t vio64(const struct vh *h, uint64_t v)
{
	return h->v1 ? htole64(v) : v;
}

/* Receive buffer i, which is also RX descriptor i. */
static inline unsigned char *rxbuf(const struct vh *h, unsigned int i)
{
	return h->rxbufs + (size_t)i * h->rxbuf_size;
}

/* Where a frame from VDE goes in TX slot @s (and its header before it). */
static inline unsigned char *slot_frame(const struct vh *h, unsigned int s)
{
	return h->slots + (size_t)s * SLOT_SIZE + SLOT_FRAME;
}

static inline unsigned char *slot_hdr(const struct vh *h, unsigned int s)
{
	return slot_frame(h, s) - h->hlen;
}

/* used->idx as the worker last published it; entries before it are ours */
static inline uint16_t used_idx(const struct vh *h, const struct vq *q)
{
	return vio16(h, __atomic_load_n(&q->vr.used->idx, __ATOMIC_ACQUIRE));
}

/**
 * vq_publish() - make avail entries up to @q->avail_idx visible, and kick
 * the worker if it waits for that
 * @h:	relay
 * @q:	virtqueue
 *
 * The barrier pairs with the worker's: it clears VRING_USED_F_NO_NOTIFY,
 * then looks at avail->idx once more before sleeping; we store avail->idx,
 * then look at the flag.  One of the two sees the other's store.
 */
static void vq_publish(struct vh *h, struct vq *q)
{
	uint64_t one = 1;

	__atomic_store_n(&q->vr.avail->idx, vio16(h, q->avail_idx),
			 __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vio16(h, __atomic_load_n(&q->vr.used->flags, __ATOMIC_RELAXED)) &
	    VRING_USED_F_NO_NOTIFY)
		return;
	/* cannot fail: the eventfd counter is far from full */
	if (write(q->kick, &one, sizeof(one)) < 0)
		relay_count(&h->cnt.errors, 1);
}

/*
 * Without EVENT_IDX the worker signals the call eventfd after a batch
 * unless VRING_AVAIL_F_NO_INTERRUPT is set.  Turning interrupts on is
 * followed by a full barrier: the caller then looks at the used ring
 * again, and an entry added before the worker saw the flag is found there.
 */
static void set_interrupts(struct vh *h, struct vq *q, int on)
{
	__atomic_store_n(&q->vr.avail->flags,
			 vio16(h, on ? 0 : VRING_AVAIL_F_NO_INTERRUPT),
			 __ATOMIC_RELAXED);
	if (on)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Reset an eventfd that poll() reported readable. */
static void drain_eventfd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: nothing was pending */
}

/* ----------------------------------------------- stack -> VDE (RX ring) */

/**
 * rx_return() - give the buffers of used entries before @upto back
 * @h:		relay
 * @upto:	used position
 */
static void rx_return(struct vh *h, uint16_t upto)
{
	uint16_t n = (uint16_t)(upto - h->rx_returned);

	if (!n)
		return;
	h->rx.avail_idx = (uint16_t)(h->rx.avail_idx + n);
	h->rx_returned = upto;
	if (h->scratch_busy && (int16_t)(upto - h->scratch_end) >= 0)
		h->scratch_busy = 0;
	vq_publish(h, &h->rx);
}

/**
 * rx_flush() - send the waiting segments, then give back the buffers of
 * the frames they came from
 * @h:	relay
 * Return: 0 when nothing waits, -EAGAIN when VDE is full (rx_blocked set).
 */
static int rx_flush(struct vh *h)
{
	int r = relay_vde_flush(&h->vde);

	if (r < 0) {
		h->rx_blocked = 1;
		return r;
	}
	h->rx_blocked = 0;
	rx_return(h, h->rx_done);
	return 0;
}

/* VDE is gone: what waits for it is dropped, the buffers go back. */
static void rx_drop_pending(struct vh *h)
{
	relay_vde_drop(&h->vde);
	h->rx_blocked = 0;
	h->rx_done = h->rx.last_used;
	rx_return(h, h->rx_done);
}

/**
 * rx_take() - the next frame the worker put in the RX ring
 * @h:		relay
 * @frame:	set to the frame (in the ring's buffers, or in the scratch
 *		copy if it wraps around the end of the ring)
 * @len:	set to its length
 * @vh:		set to its virtio-net header, in host byte order
 *
 * Return: 1 for a frame; 0 if there is none; -EBUSY if the frame must be
 * copied and the scratch buffer is still in use (flush, then retry);
 * -EBADMSG for a runt, an oversized frame or an inconsistent ring entry
 * (its buffers are consumed: the caller counts the drop).
 */
static int rx_take(struct vh *h, unsigned char **frame, size_t *len,
		   struct virtio_net_hdr *vh)
{
	struct vq *q = &h->rx;
	uint16_t ready = (uint16_t)(used_idx(h, q) - q->last_used);
	unsigned int mask = q->num - 1, first = q->last_used & mask;
	unsigned int nb = 1, k;
	int contiguous;
	size_t total = 0;
	unsigned char *buf;

	if (!ready)
		return 0;
	buf = rxbuf(h, first);
	if (h->mergeable) {
		struct virtio_net_hdr_mrg_rxbuf m;

		memcpy(&m, buf, sizeof(m));
		nb = vio16(h, m.num_buffers);
		/* the worker publishes all buffers of a frame at once */
		if (nb == 0 || nb > ready)
			nb = 1;
	}
	contiguous = first + nb <= q->num;
	for (k = 0; k < nb; k++) {
		const struct vring_used_elem *e =
			&q->vr.used->ring[(first + k) & mask];
		uint32_t l = vio32(h, e->len);

		/* in order: the k-th buffer of the frame is descriptor
		 * first + k (see the Theory of Operation) */
		if (vio32(h, e->id) != ((first + k) & mask) ||
		    l > h->rxbuf_size) {
			q->last_used = (uint16_t)(q->last_used + k + 1);
			relay_count(&h->cnt.errors, 1);
			return -EBADMSG;
		}
		if (k + 1 < nb && l != h->rxbuf_size)
			contiguous = 0;
		total += l;
	}
	if (total < h->hlen + ETH_HLEN_MIN || total - h->hlen > SUPER_FRAME) {
		q->last_used = (uint16_t)(q->last_used + nb);
		return -EBADMSG;
	}
	if (!contiguous) {
		size_t off = 0;

		if (h->scratch_busy)
			return -EBUSY;
		for (k = 0; k < nb; k++) {
			unsigned int i = (first + k) & mask;
			size_t l = vio32(h, q->vr.used->ring[i].len);
			size_t skip = k ? 0 : h->hlen;

			memcpy(h->scratch + off, rxbuf(h, i) + skip, l - skip);
			off += l - skip;
		}
		*frame = h->scratch;
		h->scratch_busy = 1;
		h->scratch_end = (uint16_t)(q->last_used + nb);
	} else {
		*frame = buf + h->hlen;
	}
	*len = total - h->hlen;
	memcpy(vh, buf, sizeof(*vh));
	vh->hdr_len = vio16(h, vh->hdr_len);
	vh->gso_size = vio16(h, vh->gso_size);
	vh->csum_start = vio16(h, vh->csum_start);
	vh->csum_offset = vio16(h, vh->csum_offset);
	q->last_used = (uint16_t)(q->last_used + nb);
	return 1;
}

/**
 * rx_run() - stack -> VDE: segment what the worker received, send it
 * @h:		relay
 * @eof:	VDE is gone: frames are dropped (and their buffers returned)
 *
 * Sets rx_more when it stopped for fairness with entries left.
 */
static void rx_run(struct vh *h, int eof)
{
	struct relay_vde *v = &h->vde;
	unsigned int frames = 0;
	int irq = 0;

	h->rx_more = 0;
	/* no interrupt while we look anyway (on again before we sleep) */
	set_interrupts(h, &h->rx, 0);
	if (rx_flush(h) < 0)
		return;
	for (;;) {
		struct virtio_net_hdr vh;
		unsigned char *frame;
		size_t len;
		int r;

		while (relay_vde_cut(v))
			if (rx_flush(h) < 0)
				return;
		h->rx_done = h->rx.last_used;
		if (frames == RX_FRAMES) {
			h->rx_more = 1;
			break;
		}
		/* hand buffers back regularly: the worker needs them */
		if ((uint16_t)(h->rx.last_used - h->rx_returned) >=
			    h->rx.num / 2 &&
		    rx_flush(h) < 0)
			return;
		r = rx_take(h, &frame, &len, &vh);
		if (r == 0 && !irq) {
			set_interrupts(h, &h->rx, 1);
			irq = 1;
			continue;
		}
		if (r == 0)
			break;
		if (r == -EBUSY) {
			if (rx_flush(h) < 0)
				return;
			continue;
		}
		frames++;
		if (r < 0 || eof) {
			relay_count(&h->cnt.tx_dropped, 1);
			continue;
		}
		if (ofl_gso_start(&v->gso, &vh, frame, len, VDE_ETHBUFSIZE) < 0)
			relay_count(&h->cnt.tx_dropped, 1);
	}
	rx_flush(h);
}

/* ----------------------------------------------- VDE -> stack (TX ring) */

/* Slots whose chains the worker has consumed are free again. */
static void tx_reclaim(struct vh *h)
{
	struct vq *q = &h->tx;
	uint16_t end = used_idx(h, q);

	while (q->last_used != end) {
		uint32_t id = vio32(
			h, q->vr.used->ring[q->last_used & (q->num - 1)].id);
		unsigned int n = 0;

		q->last_used++;
		while (id < q->num && n++ < q->num && h->nfree < q->num) {
			uint16_t fl = vio16(h, q->vr.desc[id].flags);

			h->free_slots[h->nfree++] = (uint16_t)id;
			if (!(fl & VRING_DESC_F_NEXT))
				break;
			id = vio16(h, q->vr.desc[id].next);
		}
	}
}

/**
 * tx_starve() - no free slot: ask the worker to call when it frees some
 * @h:	relay
 *
 * Interrupts are enabled before looking once more, so a slot freed in
 * between is either seen here or signalled.
 */
static void tx_starve(struct vh *h)
{
	set_interrupts(h, &h->tx, 1);
	tx_reclaim(h);
	if (h->nfree) {
		set_interrupts(h, &h->tx, 0);
		return;
	}
	h->tx_starved = 1;
}

/**
 * tx_recv() - receive up to @want frames from VDE into free slots
 * @h:		relay
 * @want:	1..min(nfree, TX_BATCH)
 * @revents:	poll result of the data fd
 * @eof:	set when the connection is at EOF
 *
 * Fills frames[] and frame_slot[]; slots left unused go back to the free
 * list.  Sets recv_more if VDE may have more.
 *
 * Return: frames received (runts and oversized frames dropped, counted).
 */
static unsigned int tx_recv(struct vh *h, unsigned int want, short revents,
			    int *eof)
{
	uint16_t *take = &h->free_slots[h->nfree - want];
	unsigned int n = 0, i, got = 0;

	h->nfree -= want;
	h->recv_more = 0;
	if (relay_vde_recv_direct(&h->vde)) {
		int r;

		for (i = 0; i < want; i++) {
			h->riov[i].iov_base = slot_frame(h, take[i]);
			h->riov[i].iov_len = VDE_ROOM;
			memset(&h->rmsgs[i].msg_hdr, 0, sizeof(struct msghdr));
			h->rmsgs[i].msg_hdr.msg_iov = &h->riov[i];
			h->rmsgs[i].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(h->vde.datafd, h->rmsgs, want, MSG_DONTWAIT, NULL);
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			relay_count(&h->cnt.errors, 1);
		for (i = 0; r > 0 && i < (unsigned int)r; i++) {
			unsigned int len = h->rmsgs[i].msg_len;

			got++;
			if (len == 0 && relay_vde_hung_up(&h->vde, revents)) {
				*eof = 1;
				h->free_slots[h->nfree++] = take[i];
				break;
			}
			if (len < ETH_HLEN_MIN || len > VDE_ETHBUFSIZE ||
			    (h->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				relay_count(&h->cnt.rx_dropped, 1);
				h->free_slots[h->nfree++] = take[i];
				continue;
			}
			h->frame_slot[n] = take[i];
			h->frames[n].data = slot_frame(h, take[i]);
			h->frames[n++].len = len;
		}
		h->recv_more = r == (int)want && !*eof;
	} else {
		for (i = 0; i < want; i++) {
			ssize_t len;

			/*
			 * Only a plain socket can be drained until EAGAIN:
			 * switch://'s datafd is an epoll fd and vde_recv()
			 * would block in epoll_wait().  Ask first, every
			 * time: this call may follow a full burst rather
			 * than a wake-up (recv_more), and then even the
			 * first vde_recv() could block the relay.
			 */
			if (!h->vde.data_is_socket) {
				struct pollfd p = {.fd = h->vde.datafd,
						   .events = POLLIN};

				if (poll(&p, 1, 0) <= 0)
					break;
			}
			len = vde_recv(h->vde.conn, slot_frame(h, take[i]),
				       VDE_ROOM, 0);
			if (len < 0) {
				if (errno != EAGAIN && errno != EINTR)
					relay_count(&h->cnt.errors, 1);
				break;
			}
			got++;
			if (len == 0 && relay_vde_hung_up(&h->vde, revents)) {
				*eof = 1;
				h->free_slots[h->nfree++] = take[i];
				break;
			}
			if (len < ETH_HLEN_MIN || len > VDE_ETHBUFSIZE) {
				relay_count(&h->cnt.rx_dropped, 1);
				h->free_slots[h->nfree++] = take[i];
				if (len == 0)
					break;
				continue;
			}
			h->frame_slot[n] = take[i];
			h->frames[n].data = slot_frame(h, take[i]);
			h->frames[n++].len = (uint32_t)len;
		}
		h->recv_more = i == want && !*eof;
	}
	/*
	 * Slots not received into go back too.  Every push lands at or
	 * below the position of the slot being pushed (one push at most per
	 * slot looked at), so take[] is never overwritten before it is read.
	 */
	for (i = got; i < want; i++)
		h->free_slots[h->nfree++] = take[i];
	return n;
}

/* Make descriptor (chain) @s the next avail entry (published later). */
static void tx_add_head(struct vh *h, unsigned int s)
{
	struct vq *q = &h->tx;

	q->vr.avail->ring[q->avail_idx & (q->num - 1)] = vio16(h, (uint16_t)s);
	q->avail_idx++;
}

/* One frame, as it came, with an all-zero header (the stack checks it). */
static void tx_post_plain(struct vh *h, unsigned int i)
{
	unsigned int s = h->frame_slot[i];
	struct vring_desc *d = &h->tx.vr.desc[s];

	memset(slot_hdr(h, s), 0, h->hlen);
	d->addr = vio64(h, (uintptr_t)slot_hdr(h, s));
	d->len = vio32(h, h->hlen + h->frames[i].len);
	d->flags = 0;
	tx_add_head(h, s);
}

/* A coalesced super-frame: one chain over the slots of its segments. */
static void tx_post_chain(struct vh *h, struct ofl_gro_out *o)
{
	struct iovec iov[OFL_GRO_MAX_SEGS + 1];
	struct virtio_net_hdr_mrg_rxbuf m;
	unsigned int k, s0 = h->frame_slot[o->first];

	ofl_gro_iov(o, h->frames, iov);
	memset(&m, 0, sizeof(m));
	m.hdr.flags = o->vh.flags;
	m.hdr.gso_type = o->vh.gso_type;
	m.hdr.hdr_len = vio16(h, o->vh.hdr_len);
	m.hdr.gso_size = vio16(h, o->vh.gso_size);
	m.hdr.csum_start = vio16(h, o->vh.csum_start);
	m.hdr.csum_offset = vio16(h, o->vh.csum_offset);
	memcpy(slot_hdr(h, s0), &m, h->hlen);
	/* iov[1] is the first frame, whole, in its slot right after the
	 * header: one descriptor for both */
	for (k = 0; k < o->count; k++) {
		unsigned int s = h->frame_slot[o->first + k];
		struct vring_desc *d = &h->tx.vr.desc[s];

		if (k == 0) {
			d->addr = vio64(h, (uintptr_t)slot_hdr(h, s));
			d->len = vio32(h, h->hlen + iov[1].iov_len);
		} else {
			d->addr = vio64(h, (uintptr_t)iov[k + 1].iov_base);
			d->len = vio32(h, iov[k + 1].iov_len);
		}
		if (k + 1 < o->count) {
			d->flags = vio16(h, VRING_DESC_F_NEXT);
			d->next = vio16(h, h->frame_slot[o->first + k + 1]);
		} else {
			d->flags = 0;
		}
	}
	tx_add_head(h, s0);
}

/* Coalesce the received burst, put it in the TX ring, tell the worker. */
static void tx_post(struct vh *h, unsigned int n)
{
	uint64_t bytes = 0;
	unsigned int i, nout;

	for (i = 0; i < n; i++)
		bytes += h->frames[i].len;
	if (h->offloads) {
		nout = ofl_gro(h->frames, n, h->outs,
			       relay_gro_flags(h->offloads));
		for (i = 0; i < nout; i++) {
			if (h->outs[i].count > 1)
				tx_post_chain(h, &h->outs[i]);
			else
				tx_post_plain(h, h->outs[i].first);
		}
	} else {
		for (i = 0; i < n; i++)
			tx_post_plain(h, i);
	}
	relay_count(&h->cnt.rx_frames, n);
	relay_count(&h->cnt.rx_bytes, bytes);
	vq_publish(h, &h->tx);
}

/**
 * tx_run() - VDE -> stack: receive bursts into free slots and post them
 * @h:		relay
 * @revents:	poll result of the data fd
 * Return: 1 on EOF of the connection.
 */
static int tx_run(struct vh *h, short revents)
{
	int eof = 0, b;

	for (b = 0; b < TX_BURSTS; b++) {
		unsigned int want, n;

		tx_reclaim(h);
		want = h->nfree < TX_BATCH ? h->nfree : TX_BATCH;
		if (!want) {
			tx_starve(h);
			break;
		}
		n = tx_recv(h, want, revents, &eof);
		if (n)
			tx_post(h, n);
		if (eof || !h->recv_more)
			break;
	}
	return eof;
}

/* --------------------------------------------------------------- relay */

/* The connection is gone: carrier off, nothing more for VDE. */
static void vde_gone(struct vh *h)
{
	rx_drop_pending(h);
	relay_set_carrier(h->tapfd, 0);
}

/**
 * relay() - the relay thread: both directions, until destroy
 * @arg:	struct vh
 *
 * Waits on the stop eventfd, the worker's RX interrupt (unless VDE is
 * full: then nothing could be sent anyway), the connection (readable
 * unless every TX slot is in flight; writable when a send waits), its
 * control fd (EOF of some plugins shows there), the link watch, and the
 * TX interrupt while starved of slots.
 *
 * Return: NULL.
 */
static void *relay(void *arg)
{
	struct vh *h = arg;
	int eof = 0;

	for (;;) {
		short dev =
			(short)((eof || h->tx_starved ? 0
						      : POLLIN | POLLRDHUP) |
				(h->rx_blocked && !eof ? POLLOUT : 0));
		struct pollfd pfd[6] = {
			{.fd = h->stopfd, .events = POLLIN},
			{.fd = h->rx_blocked ? -1 : h->rx.call,
			 .events = POLLIN},
			{.fd = dev ? h->vde.datafd : -1, .events = dev},
			{.fd = eof || h->vde.ctlfd == h->vde.datafd
				       ? -1
				       : h->vde.ctlfd,
			 .events = POLLIN | POLLRDHUP},
			{.fd = h->watch.nlfd, .events = POLLIN},
			{.fd = h->tx_starved ? h->tx.call : -1,
			 .events = POLLIN},
		};
		/* a non-socket datafd (switch://) never polls writable:
		 * retry a blocked send every millisecond instead */
		int timeout = h->rx_more				? 0
			      : h->rx_blocked && !h->vde.data_is_socket ? 1
									: -1;
		int r = poll(pfd, 6, timeout);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[4].revents)
			relay_clamp_mtu(&h->watch, VDE_MAXMTU);
		if (pfd[3].revents &&
		    relay_vde_ctl_eof(&h->vde, pfd[3].revents)) {
			eof = 1;
			vde_gone(h);
			continue;
		}
		if (pfd[5].revents) {
			drain_eventfd(h->tx.call);
			tx_reclaim(h);
			if (h->nfree) {
				h->tx_starved = 0;
				set_interrupts(h, &h->tx, 0);
			}
		}
		if (h->rx_blocked) {
			if ((pfd[2].revents & (POLLOUT | POLLERR | POLLHUP)) ||
			    !h->vde.data_is_socket)
				rx_run(h, eof);
		} else if (pfd[1].revents || h->rx_more) {
			/* clear before looking: a frame after the look
			 * signals again */
			if (pfd[1].revents)
				drain_eventfd(h->rx.call);
			rx_run(h, eof);
		}
		if (!eof && !h->tx_starved &&
		    (pfd[2].revents &
		     (POLLIN | POLLHUP | POLLRDHUP | POLLERR)) &&
		    tx_run(h, pfd[2].revents)) {
			eof = 1;
			vde_gone(h);
		}
	}
	return NULL;
}

/* ----------------------------------------------------- device and probe */

/**
 * access_hint() - how to get access to @path, for a message
 * @path:	the device
 * @buf:	output
 * @len:	its size
 *
 * Names the group that owns the device when the group may use it (Debian's
 * udev makes /dev/vhost-net root:kvm 0660), else says how to make it so.
 */
static void access_hint(const char *path, char *buf, size_t len)
{
	char gbuf[1024], name[64];
	struct group gr, *g = NULL;
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(buf, len, "check the permissions of %s", path);
		return;
	}
	if (getgrgid_r(st.st_gid, &gr, gbuf, sizeof(gbuf), &g) == 0 && g)
		snprintf(name, sizeof(name), "%s", g->gr_name);
	else
		snprintf(name, sizeof(name), "%u", (unsigned int)st.st_gid);
	if (st.st_gid != 0 && (st.st_mode & 060) == 060)
		snprintf(buf, len, "add the user to group %s", name);
	else
		snprintf(buf, len,
			 "%s is mode %04o group %s: make it group kvm, mode "
			 "0660, and add the user to group kvm",
			 path, (unsigned int)(st.st_mode & 07777), name);
}

/**
 * vhost_open() - open /dev/vhost-net, explaining a failure
 * @reason:	buffer for the reason
 * @len:	its size
 * Return: fd, or -errno with @reason set.
 */
static int vhost_open(char *reason, size_t len)
{
	int fd = open(VHOST_DEV, O_RDWR | O_CLOEXEC);
	char hint[160];
	int e;

	if (fd >= 0)
		return fd;
	e = errno;
	switch (e) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		snprintf(reason, len,
			 VHOST_DEV ": no such device (module vhost_net not "
				   "loaded: modprobe vhost_net)");
		break;
	case EACCES:
	case EPERM:
		access_hint(VHOST_DEV, hint, sizeof(hint));
		snprintf(reason, len, VHOST_DEV ": permission denied (%s)",
			 hint);
		break;
	default:
		snprintf(reason, len, VHOST_DEV ": %s", strerror(e));
	}
	return -e;
}

/**
 * pick_features() - the feature set we ask for, from what vhost offers
 * @offered:	VHOST_GET_FEATURES
 * @mrg:	whether mergeable RX buffers are wanted
 *
 * VERSION_1 fixes the header and ring layout to little-endian; MRG_RXBUF
 * lets page-sized buffers carry super-frames.  Not VHOST_NET_F_VIRTIO_NET_HDR
 * (the TAP, not vhost, must own the header: it carries the offloads), not
 * EVENT_IDX (flag-based suppression is enough for one relay), not
 * ACCESS_PLATFORM (it needs an IOTLB), not LOG_ALL (no migration).
 *
 * Return: the features.
 */
static uint64_t pick_features(uint64_t offered, int mrg)
{
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1;

	if (mrg)
		want |= 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	return offered & want;
}

/**
 * negotiate() - VHOST_GET_FEATURES, then VHOST_SET_FEATURES
 * @fd:		vhost-net fd
 * @mrg:	want mergeable RX buffers
 * @features:	set to the negotiated features
 * @reason:	buffer for the reason
 * @len:	its size
 * Return: 0 or -errno with @reason set.
 */
static int negotiate(int fd, int mrg, uint64_t *features, char *reason,
		     size_t len)
{
	uint64_t offered, f;

	if (ioctl(fd, VHOST_GET_FEATURES, &offered) < 0) {
		int e = errno;

		snprintf(reason, len,
			 VHOST_DEV ": feature negotiation failed: "
				   "VHOST_GET_FEATURES: %s",
			 strerror(e));
		return -e;
	}
	f = pick_features(offered, mrg);
	if (ioctl(fd, VHOST_SET_FEATURES, &f) < 0) {
		int e = errno;

		snprintf(reason, len,
			 VHOST_DEV
			 ": feature negotiation failed: "
			 "VHOST_SET_FEATURES 0x%llx (offered 0x%llx): "
			 "%s",
			 (unsigned long long)f, (unsigned long long)offered,
			 strerror(e));
		return -e;
	}
	*features = f;
	return 0;
}

/**
 * vh_probe() - can a stack use vhost-net here, as this user, now?
 * @reason:	buffer for the reason
 * @len:	its size
 *
 * Opens the device and negotiates features (which needs no worker: no
 * VHOST_SET_OWNER), then checks /dev/net/tun like the tap backend, since
 * the stack's interface is a TAP.
 *
 * Return: 0, or -errno with @reason set.
 */
static int vh_probe(char *reason, size_t len)
{
	uint64_t f;
	int fd, r;

	fd = vhost_open(reason, len);
	if (fd < 0)
		return fd;
	r = negotiate(fd, 1, &f, reason, len);
	close(fd);
	if (r < 0)
		return r;
	return relay_probe_tun(reason, len);
}

/* ------------------------------------------------------------- options */

struct vh_opts {
	unsigned int ring, busyloop;
	int offload, mrg;
};

static const struct vdestack_backend_option vh_options[] = {
	{"ring", "N: descriptors per virtqueue, a power of two from 64 to "
		 "1024 (default 256)"},
	{"offload", "0|1: TCP/UDP segmentation and checksum offload between "
		    "the stack and the relay (default 1)"},
	{"mrg_rxbuf", "0|1: mergeable receive buffers (default 1: one page "
		      "each; 0: each holds the largest frame)"},
	{"busyloop", "MICROSECONDS: the vhost worker polls that long for more "
		     "work before it sleeps (default 0, at most 1000)"},
	{NULL, NULL},
};

/**
 * parse_opts() - the backend options "key=value/key=value"
 * @s:		options (keys already checked by the core)
 * @o:		result
 * @reason:	buffer for the reason
 * Return: 0 or -EINVAL with @reason set.
 */
static int parse_opts(const char *s, struct vh_opts *o, char *reason)
{
	o->ring = RING_DEFAULT;
	o->busyloop = 0;
	o->offload = 1;
	o->mrg = 1;
	while (s && *s) {
		const char *end = strchr(s, '/'), *eq = strchr(s, '=');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		char key[16], val[16], *e;
		unsigned long v;

		if (!eq || eq > s + n || (size_t)(eq - s) >= sizeof(key) ||
		    (size_t)(s + n - eq - 1) >= sizeof(val)) {
			snprintf(reason, VDESTACK_REASON_MAX,
				 "options: '%.*s' is not KEY=VALUE", (int)n, s);
			return -EINVAL;
		}
		memcpy(key, s, (size_t)(eq - s));
		key[eq - s] = '\0';
		memcpy(val, eq + 1, (size_t)(s + n - eq - 1));
		val[s + n - eq - 1] = '\0';
		errno = 0;
		v = strtoul(val, &e, 10);
		if (!strcmp(key, "ring")) {
			if (errno || *e || !val[0] || v < RING_MIN ||
			    v > RING_MAX || (v & (v - 1))) {
				snprintf(reason, VDESTACK_REASON_MAX,
					 "option ring: '%s' is not a power of "
					 "two from %d to %d",
					 val, RING_MIN, RING_MAX);
				return -EINVAL;
			}
			o->ring = (unsigned int)v;
		} else if (!strcmp(key, "busyloop")) {
			if (errno || *e || !val[0] || v > BUSYLOOP_MAX) {
				snprintf(
					reason, VDESTACK_REASON_MAX,
					"option busyloop: '%s' is not a number "
					"of microseconds from 0 to %d",
					val, BUSYLOOP_MAX);
				return -EINVAL;
			}
			o->busyloop = (unsigned int)v;
		} else {
			if (strcmp(val, "0") && strcmp(val, "1")) {
				snprintf(reason, VDESTACK_REASON_MAX,
					 "option %s: '%s' is not 0 or 1", key,
					 val);
				return -EINVAL;
			}
			if (!strcmp(key, "offload"))
				o->offload = (int)v;
			else
				o->mrg = (int)v;
		}
		s = end ? end + 1 : s + n;
	}
	return 0;
}

/* --------------------------------------------------------------- setup */

/**
 * map_memory() - lay out and map rings, buffers and slots
 * @h:		relay (ring sizes, mergeable and offloads decided)
 * Return: 0 or -errno.
 */
static int map_memory(struct vh *h)
{
	size_t rxring = ROUND_UP(vring_size(h->rx.num, PAGE), PAGE);
	size_t txring = ROUND_UP(vring_size(h->tx.num, PAGE), PAGE);
	size_t rxbufs, slots;
	unsigned int i;

	if (h->mergeable)
		h->rxbuf_size = RXBUF_MRG;
	else
		h->rxbuf_size = ROUND_UP(
			h->hlen + (h->offloads ? SUPER_FRAME : VDE_ROOM), 64UL);
	h->scratch_size = ROUND_UP((size_t)SUPER_FRAME, PAGE);
	rxbufs = ROUND_UP(h->rx.num * h->rxbuf_size, PAGE);
	slots = ROUND_UP(h->tx.num * SLOT_SIZE, PAGE);
	h->memlen = rxring + txring + rxbufs + slots + h->scratch_size;
	/* untouched pages cost nothing: an idle stack uses a few pages */
	h->mem = mmap(NULL, h->memlen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h->mem == MAP_FAILED) {
		h->mem = NULL;
		return -errno;
	}
	madvise(h->mem, h->memlen, MADV_DONTFORK);
	vring_init(&h->rx.vr, h->rx.num, h->mem, PAGE);
	vring_init(&h->tx.vr, h->tx.num, h->mem + rxring, PAGE);
	h->rxbufs = h->mem + rxring + txring;
	h->slots = h->rxbufs + rxbufs;
	h->scratch = h->slots + slots;

	/* RX: every buffer posted, descriptor i = buffer i = avail entry i */
	for (i = 0; i < h->rx.num; i++) {
		h->rx.vr.desc[i].addr = vio64(h, (uintptr_t)rxbuf(h, i));
		h->rx.vr.desc[i].len = vio32(h, (uint32_t)h->rxbuf_size);
		h->rx.vr.desc[i].flags = vio16(h, VRING_DESC_F_WRITE);
		h->rx.vr.avail->ring[i] = vio16(h, (uint16_t)i);
	}
	h->rx.avail_idx = (uint16_t)h->rx.num;
	h->rx.vr.avail->idx = vio16(h, h->rx.avail_idx);
	/* TX: all slots free, no interrupt unless starved */
	for (i = 0; i < h->tx.num; i++)
		h->free_slots[i] = (uint16_t)(h->tx.num - 1 - i);
	h->nfree = h->tx.num;
	h->tx.vr.avail->flags = vio16(h, VRING_AVAIL_F_NO_INTERRUPT);
	return 0;
}

/**
 * setup_vq() - size, place and wire one virtqueue
 * @h:		relay
 * @idx:	0 (RX) or 1 (TX)
 * @q:		the queue
 * @busyloop:	worker busy-poll time in microseconds, 0 for none
 * @what:	set to the failing step, for the message
 * Return: 0 or -errno.
 */
static int setup_vq(struct vh *h, unsigned int idx, struct vq *q,
		    unsigned int busyloop, const char **what)
{
	struct vhost_vring_state spin = {.index = idx, .num = busyloop};
	struct vhost_vring_state num = {.index = idx, .num = q->num};
	struct vhost_vring_state base = {.index = idx, .num = 0};
	struct vhost_vring_addr addr = {
		.index = idx,
		.desc_user_addr = (uintptr_t)q->vr.desc,
		.avail_user_addr = (uintptr_t)q->vr.avail,
		.used_user_addr = (uintptr_t)q->vr.used,
	};
	struct vhost_vring_file kick = {.index = idx}, call = {.index = idx};

	q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	*what = "eventfd";
	if (q->kick < 0 || q->call < 0)
		return -errno;
	kick.fd = q->kick;
	call.fd = q->call;
	*what = "VHOST_SET_VRING_NUM";
	if (ioctl(h->vhostfd, VHOST_SET_VRING_NUM, &num) < 0)
		return -errno;
	*what = "VHOST_SET_VRING_BASE";
	if (ioctl(h->vhostfd, VHOST_SET_VRING_BASE, &base) < 0)
		return -errno;
	*what = "VHOST_SET_VRING_ADDR";
	if (ioctl(h->vhostfd, VHOST_SET_VRING_ADDR, &addr) < 0)
		return -errno;
	*what = "VHOST_SET_VRING_KICK";
	if (ioctl(h->vhostfd, VHOST_SET_VRING_KICK, &kick) < 0)
		return -errno;
	*what = "VHOST_SET_VRING_CALL";
	if (ioctl(h->vhostfd, VHOST_SET_VRING_CALL, &call) < 0)
		return -errno;
	*what = "VHOST_SET_VRING_BUSYLOOP_TIMEOUT";
	if (busyloop &&
	    ioctl(h->vhostfd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &spin) < 0)
		return -errno;
	return 0;
}

/**
 * setup_vhost() - owner, features, memory table, virtqueues
 * @h:		relay
 * @o:		options
 * @reason:	buffer for the reason
 * Return: 0 or -errno with @reason set.
 */
static int setup_vhost(struct vh *h, const struct vh_opts *o, char *reason)
{
	struct vhost_memory *m;
	const char *what;
	int r;

	h->vhostfd = vhost_open(reason, VDESTACK_REASON_MAX);
	if (h->vhostfd < 0)
		return h->vhostfd;
	/* binds the device to this process's memory, starts its worker */
	if (ioctl(h->vhostfd, VHOST_SET_OWNER) < 0) {
		r = -errno;
		snprintf(reason, VDESTACK_REASON_MAX,
			 VHOST_DEV ": VHOST_SET_OWNER: %s", strerror(-r));
		return r;
	}
	h->owner = 1;
	r = negotiate(h->vhostfd, o->mrg, &h->features, reason,
		      VDESTACK_REASON_MAX);
	if (r < 0)
		return r;
	h->v1 = !!(h->features & (1ULL << VIRTIO_F_VERSION_1));
	h->mergeable = !!(h->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
	h->hlen = h->v1 || h->mergeable
			  ? sizeof(struct virtio_net_hdr_mrg_rxbuf)
			  : sizeof(struct virtio_net_hdr);
	h->rx.num = h->tx.num = o->ring;
	/* the RX buffer size depends on offloads: decided before mapping */
	h->offloads = o->offload ? 1 : 0;
	r = map_memory(h);
	if (r < 0) {
		snprintf(reason, VDESTACK_REASON_MAX,
			 "cannot map %zu bytes for the virtqueues: %s",
			 h->memlen, strerror(-r));
		return r;
	}
	m = calloc(1, sizeof(*m) + sizeof(m->regions[0]));
	if (!m)
		return -ENOMEM;
	m->nregions = 1;
	m->regions[0].guest_phys_addr = (uintptr_t)h->mem;
	m->regions[0].userspace_addr = (uintptr_t)h->mem;
	m->regions[0].memory_size = h->memlen;
	r = ioctl(h->vhostfd, VHOST_SET_MEM_TABLE, m) < 0 ? -errno : 0;
	free(m);
	if (r < 0) {
		snprintf(reason, VDESTACK_REASON_MAX,
			 VHOST_DEV ": VHOST_SET_MEM_TABLE: %s", strerror(-r));
		return r;
	}
	r = setup_vq(h, 0, &h->rx, o->busyloop, &what);
	if (r == 0)
		r = setup_vq(h, 1, &h->tx, o->busyloop, &what);
	if (r < 0)
		snprintf(reason, VDESTACK_REASON_MAX, VHOST_DEV ": %s: %s",
			 what, strerror(-r));
	return r;
}

/**
 * setup_tap() - the stack's TAP, with a vnet header matching vhost's
 * @h:		relay (features negotiated)
 * @a:		create() arguments
 * @want_offload: whether to enable offloads
 * Return: 0 or -errno with a->reason set.
 */
static int setup_tap(struct vh *h, const struct vdestack_backend_args *a,
		     int want_offload)
{
	int hlen = (int)h->hlen, le = 1, r;

	h->tapfd = relay_tap_open(a);
	if (h->tapfd < 0)
		return h->tapfd;
	if (ioctl(h->tapfd, TUNSETVNETHDRSZ, &hlen) < 0 ||
	    (h->v1 && ioctl(h->tapfd, TUNSETVNETLE, &le) < 0)) {
		r = -errno;
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot give TAP %s the %d-byte%s virtio-net header "
			 "vhost-net uses: %s",
			 a->ifname, hlen, h->v1 ? " little-endian" : "",
			 strerror(-r));
		return r;
	}
	/* with none accepted the frames come whole and checksummed */
	h->offloads = want_offload ? relay_tap_offload(h->tapfd) : 0;
	relay_set_carrier(h->tapfd, 1);
	return 0;
}

/* Close *@fd if open and mark it closed. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/**
 * vh_free() - release everything @h holds, in an order safe for the worker
 * @h:	relay (the thread, if any, stopped)
 *
 * VHOST_RESET_OWNER detaches the TAP and stops the worker before it
 * returns, so the memory can be unmapped even if a fork()ed child keeps
 * the vhost fd open (closing ours would then release nothing).
 */
static void vh_free(struct vh *h)
{
	if (h->owner)
		ioctl(h->vhostfd, VHOST_RESET_OWNER);
	close_fd(&h->vhostfd);
	close_fd(&h->rx.kick);
	close_fd(&h->rx.call);
	close_fd(&h->tx.kick);
	close_fd(&h->tx.call);
	relay_watch_close(&h->watch);
	close_fd(&h->tapfd);
	close_fd(&h->stopfd);
	if (h->mem)
		munmap(h->mem, h->memlen);
	free(h);
}

/**
 * vh_create() - start forwarding for a stack
 * @a:		the core's arguments (a libvdeplug connection is required)
 * @priv:	set to the relay on success
 *
 * Order matters: the vhost device and its memory first (they fail for
 * reasons the user can fix, before anything is created in the stack),
 * then the TAP with the header vhost negotiated, then the TAP becomes the
 * worker's socket, and only then does the relay thread start.
 *
 * Return: 0, or -errno with a->reason set; nothing is left behind.
 */
static int vh_create(const struct vdestack_backend_args *a, void **priv)
{
	struct vhost_vring_file be;
	struct vh_opts o;
	struct vh *h;
	uint64_t one = 1;
	int r;

	if (!a->conn) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "needs a libvdeplug connection");
		return -EINVAL;
	}
	r = parse_opts(a->options, &o, a->reason);
	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->vhostfd = h->tapfd = h->watch.nlfd = h->watch.ifsock = -1;
	h->rx.kick = h->rx.call = h->tx.kick = h->tx.call = -1;
	h->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->stopfd < 0) {
		r = -errno;
		goto fail;
	}
	/* no direct sends to udp://: never measured with vhost-net */
	r = relay_vde_init(&h->vde, a, &h->cnt, 0);
	if (r < 0)
		goto fail;
	r = setup_vhost(h, &o, a->reason);
	if (r < 0)
		goto fail;
	r = setup_tap(h, a, o.offload);
	if (r < 0)
		goto fail;
	r = relay_watch_open(&h->watch, a);
	if (r < 0) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot watch the MTU of %s: %s", a->ifname,
			 strerror(-r));
		goto fail;
	}
	r = relay_set_txqlen(&h->watch, a->ifname, TAP_TXQLEN);
	if (r < 0)
		a->svc->log("vhost-net: txqueuelen of %s: %s", a->ifname,
			    strerror(-r));
	r = relay_create_mtu(&h->watch, a);
	if (r < 0)
		goto fail;
	/* the TAP becomes the worker's socket for both queues */
	be.fd = h->tapfd;
	for (be.index = 0; be.index < 2; be.index++) {
		if (ioctl(h->vhostfd, VHOST_NET_SET_BACKEND, &be) < 0) {
			r = -errno;
			snprintf(a->reason, VDESTACK_REASON_MAX,
				 VHOST_DEV ": VHOST_NET_SET_BACKEND (TAP %s): "
					   "%s",
				 a->ifname, strerror(-r));
			goto fail;
		}
	}
	/* the RX ring is full of buffers: let the worker know */
	if (write(h->rx.kick, &one, sizeof(one)) < 0) {
		r = -errno;
		goto fail;
	}
	a->svc->log("vhost-net: %s: features 0x%llx, %u-byte header, ring %u, "
		    "%s RX buffers of %zu bytes, offloads 0x%x, %s, %zu KiB "
		    "mapped",
		    a->ifname, (unsigned long long)h->features, h->hlen,
		    h->rx.num, h->mergeable ? "mergeable" : "whole-frame",
		    h->rxbuf_size, h->offloads,
		    h->vde.direct ? "recvmmsg/sendmmsg" : "vde_recv/vde_send",
		    h->memlen / 1024);

	r = relay_thread_start(&h->thread, relay, h, NULL);
	if (r < 0) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot start the relay thread: %s", strerror(-r));
		goto fail;
	}
	*priv = h;
	return 0;

fail:
	vh_free(h);
	return r;
}

/**
 * vh_destroy() - stop the relay thread, then the worker, free everything
 * @priv:	relay from vh_create()
 *
 * Context: the core has stopped the agent; the connection is closed by
 * the core after this returns.
 */
static void vh_destroy(void *priv)
{
	struct vh *h = priv;

	if (relay_thread_stop(h->stopfd, h->thread) < 0)
		return;
	vh_free(h);
}

/**
 * vh_stats() - the relay's counters
 * @priv:	relay
 * @st:		filled; rx is VDE -> stack, tx stack -> VDE, in VDE frames
 *
 * Context: any thread, while the relay runs (relaxed atomics).
 * Return: 0.
 */
static int vh_stats(void *priv, struct vde_stack_stats *st)
{
	struct vh *h = priv;

	return relay_stats(&h->cnt, st);
}

__attribute__((visibility("default")))
const struct vdestack_backend vdestack_backend = {
	.abi = VDESTACK_BACKEND_ABI,
	.size = sizeof(struct vdestack_backend),
	.name = "vhost-net",
	.summary = "TAP in the stack served by the kernel's vhost-net "
		   "worker; frames relayed to libvdeplug in batches",
	.schemes = NULL,
	.options = vh_options,
	/* above tap (10): no syscall per frame on the TAP side */
	.priority = 20,
	.max_mtu = VDE_MAXMTU,
	.probe = vh_probe,
	.create = vh_create,
	.destroy = vh_destroy,
	.stats = vh_stats,
	.prefetch = relay_prefetch,
};
