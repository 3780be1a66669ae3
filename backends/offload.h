/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * offload.h - segmentation, checksums and coalescing of Ethernet frames
 *
 * Shared by the relaying backends (tap and vhost-net): the kernel
 * side speaks virtio-net headers and 64 KB super-frames, the VDE side
 * plain frames of at most VDE_ETHBUFSIZE bytes with complete checksums.
 * Nothing here does I/O: the caller owns buffers, fds and counters.
 *
 * Multi-byte fields of struct virtio_net_hdr are in host byte order (the
 * legacy virtio-net header of a TAP that was not switched to LE/BE).
 */
#ifndef VDESTACK_OFFLOAD_H
#define VDESTACK_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* Largest Ethernet + VLAN + IP + L4 header block segmentation copies. */
#define OFL_HDR_MAX 256
/* Most frames one coalesced super-frame is made of. */
#define OFL_GRO_MAX_SEGS 64

/**
 * ofl_csum() - add @len bytes at @buf to a ones' complement sum
 * @buf:	data; starts at an even offset of the checksummed block
 * @len:	bytes
 * @sum:	running sum (0 to start)
 *
 * Return: the new, unfolded sum, in the byte order of memory (fold it
 * with ofl_csum_fold() and store the result with memcpy()).
 */
uint64_t ofl_csum(const void *buf, size_t len, uint64_t sum);

/**
 * ofl_csum_fold() - fold a sum to 16 bits (not complemented)
 * @sum:	sum from ofl_csum()
 * Return: folded sum; store ~value (or 0xffff for 0, in UDP) as checksum.
 */
uint16_t ofl_csum_fold(uint64_t sum);

/**
 * struct ofl_seg - one frame toward VDE: @hdr_len bytes of @hdr, then
 * @len bytes at @data.  @hdr_len is 0 when @data is the whole frame.
 */
struct ofl_seg {
	const unsigned char *data;
	uint32_t len;
	uint16_t hdr_len;
	unsigned char hdr[OFL_HDR_MAX];
};

/**
 * struct ofl_gso - iterator over the segments of one frame from the kernel
 *
 * Filled by ofl_gso_start(); the frame must stay in place and unchanged
 * until ofl_gso_more() is false and every segment is sent.
 */
struct ofl_gso {
	const unsigned char *frame;
	uint32_t len;
	uint32_t payload; /* bytes after the headers */
	uint16_t l3off, l4off, hdr_len, gso_size;
	uint8_t ipv6, l4proto;
	unsigned int nsegs, next;
	uint64_t addr_sum; /* pseudo-header addresses */
	unsigned char hdr[OFL_HDR_MAX];
};

/**
 * ofl_gso_start() - check a frame read from a TAP and prepare its segments
 * @g:		iterator to fill
 * @vh:		its virtio-net header
 * @frame:	the Ethernet frame; a partial checksum of a frame that is not
 *		segmented is completed in place
 * @len:	its length
 * @max_frame:	largest frame the other side carries
 *
 * A GSO frame (TCPv4, TCPv6, UDP_L4; with or without 802.1Q/802.1ad tags)
 * becomes frames of at most gso_size payload bytes, each with its own IP
 * length, IPv4 id and header checksum, TCP sequence number and flags (FIN
 * and PSH on the last, CWR on the first only) or UDP length, and a
 * complete L4 checksum.  Anything else is one frame, its checksum
 * completed if VIRTIO_NET_HDR_F_NEEDS_CSUM asks for it.
 *
 * Return: number of frames (>= 1), or -EPROTONOSUPPORT (unknown GSO
 * type, not IP, IP fragment, IPv6 extension header we do not walk),
 * -EINVAL (truncated or inconsistent headers, checksum position outside
 * the frame) or -EMSGSIZE (a resulting frame larger than @max_frame): the
 * caller drops the frame and counts it.
 */
int ofl_gso_start(struct ofl_gso *g, const struct virtio_net_hdr *vh,
		  unsigned char *frame, size_t len, size_t max_frame);

/**
 * ofl_gso_more() - whether ofl_gso_next() has segments left
 * @g:	iterator
 * Return: true if so
 */
static inline int ofl_gso_more(const struct ofl_gso *g)
{
	return g->next < g->nsegs;
}

/**
 * ofl_gso_next() - produce the next segments
 * @g:		iterator from ofl_gso_start()
 * @segs:	output
 * @max:	room in @segs
 * Return: segments written (0 when none are left)
 */
unsigned int ofl_gso_next(struct ofl_gso *g, struct ofl_seg *segs,
			  unsigned int max);

/**
 * struct ofl_frame - a frame received from VDE
 * @data:	Ethernet frame (the first frame of a coalesced group has its
 *		headers rewritten in place)
 * @len:	length
 */
struct ofl_frame {
	unsigned char *data;
	uint32_t len;
};

/**
 * struct ofl_gro_out - one write toward the kernel: frames @first to
 * @first + @count - 1 of the batch.  If @count is 1 the frame goes as it
 * is with @vh all zero (the kernel checks its checksums); otherwise it is
 * one TCP or UDP super-frame: @vh, the first frame whole (rewritten headers),
 * then the payload of each other frame, past its @hdr_len header bytes.
 * @saved holds the first frame's original headers for ofl_gro_undo().
 */
struct ofl_gro_out {
	struct virtio_net_hdr vh;
	unsigned int first, count;
	uint16_t hdr_len;
	unsigned char saved[OFL_HDR_MAX];
};

/* ofl_gro() flags: UDP datagrams too (the kernel takes GSO_UDP_L4 frames
 * from a TAP that accepted TUN_F_USO4/6: Linux 6.2 and later) */
#define OFL_GRO_UDP 1u

/**
 * ofl_gro() - coalesce consecutive segments of a TCP flow (or datagrams of
 * a UDP flow)
 * @f:		frames of one receive burst, in arrival order
 * @n:		how many
 * @out:	room for @n results
 * @flags:	OFL_GRO_UDP or 0
 *
 * Frames are merged only when the result says exactly what the segments
 * said: IPv4 without options or fragmentation, or IPv6 without extension
 * headers; no VLAN tag; same addresses, ports, TOS/traffic class, TTL/hop
 * limit, DF, ack, window and byte-identical TCP options (none or
 * timestamps); contiguous sequence numbers; only ACK (and ECE) set, PSH
 * allowed on the last; equal payload sizes, the last possibly smaller;
 * and every segment's IPv4 header checksum and TCP checksum verified
 * here, since the super-frame goes up with NEEDS_CSUM and the kernel
 * trusts it.  UDP (with OFL_GRO_UDP): the same IP rules, IPv4 ids in
 * sequence even with DF, same ports, a checksum present and verified,
 * equal payload sizes, the last possibly smaller; the result is one
 * GSO_UDP_L4 frame whose gso_size is the datagrams' payload size.
 * Everything else, and a frame failing any check, goes alone and
 * unchanged.  Order is kept.
 *
 * Return: number of results in @out.
 */
unsigned int ofl_gro(struct ofl_frame *f, unsigned int n,
		     struct ofl_gro_out *out, unsigned int flags);

/**
 * ofl_gro_iov() - the iovec of one result
 * @o:		result of ofl_gro()
 * @f:		the frames given to ofl_gro()
 * @iov:	room for @o->count + 1 entries; the first is @o->vh
 * Return: entries used
 */
unsigned int ofl_gro_iov(struct ofl_gro_out *o, const struct ofl_frame *f,
			 struct iovec *iov);

/**
 * ofl_gro_undo() - give the first frame of a super-frame its original
 * headers back (the kernel refused the super-frame: send them one by one)
 * @o:	result of ofl_gro() with @count > 1
 * @f:	the frames given to ofl_gro()
 */
void ofl_gro_undo(const struct ofl_gro_out *o, struct ofl_frame *f);

#endif
