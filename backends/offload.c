// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * offload.c - segmentation, checksums and coalescing of Ethernet frames
 *
 * DOC: Theory of Operation
 *
 * A TAP with IFF_VNET_HDR and TUNSETOFFLOAD hands over TCP (and UDP, with
 * USO) super-frames of up to 64 KB with a partial checksum, and accepts
 * the same in the other direction.  VDE carries plain frames no longer
 * than VDE_ETHBUFSIZE, with complete checksums, to peers that may be
 * anything (another stack, a VM, a switch, a router).
 *
 * Toward VDE (ofl_gso_start(), ofl_gso_next()) a GSO frame is cut like the
 * kernel's own software GSO does it: each segment gets a copy of the
 * headers with its IP length, IPv4 id (+1 per segment) and header
 * checksum, TCP sequence number, FIN/PSH on the last segment only and CWR
 * on the first only, or its UDP length; the L4 checksum is computed from
 * scratch over the pseudo-header, the header and the payload, so it does
 * not depend on what the kernel left in the checksum field.  A segment's
 * payload is not copied: struct ofl_seg points into the super-frame, the
 * caller gathers header and payload with an iovec.  A frame that cannot
 * be cut exactly is refused (the caller drops and counts it): sending it
 * whole would exceed what VDE carries, and guessing would corrupt it.
 *
 * Toward the kernel (ofl_gro()) consecutive segments of one TCP flow in a
 * receive burst become one super-frame with GSO_TCPV4/6 and NEEDS_CSUM,
 * and, where the kernel takes them (OFL_GRO_UDP), consecutive datagrams
 * of one UDP flow one GSO_UDP_L4 super-frame, which the kernel cuts at
 * the receiving socket into the same datagrams (udp_rcv_segment()).
 * With NEEDS_CSUM the kernel treats the payload as locally generated and
 * never checks it, so every merged segment's checksums are verified here
 * first; a segment that fails is passed on alone and unchanged, for the
 * kernel to drop and count as it would without us.  Merging is limited to
 * segments whose headers the super-frame reproduces exactly (see
 * ofl_gro()), the rules of the kernel's own GRO.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#ifdef __x86_64__
#include <immintrin.h>
#endif

#include "offload.h"

#define ETH_HLEN 14
#define ETHTYPE_IP 0x0800
#define ETHTYPE_IPV6 0x86dd
#define ETHTYPE_VLAN 0x8100
#define ETHTYPE_QINQ 0x88a8

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

static inline uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(unsigned char *p, unsigned int v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static inline void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* a + b with the carry added back: a ones' complement sum stays exact */
static inline uint64_t add_carry(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

#ifdef __x86_64__
/**
 * csum_avx2() - sum of the 16-bit words of a block, 64 bytes at a time
 * @p:		data
 * @len:	bytes, a multiple of 64
 *
 * Each 32-bit lane of the four accumulators takes one word per 64 bytes,
 * so a lane cannot overflow within 65536 blocks; they are emptied into
 * the 64-bit result before that.
 *
 * Return: the unfolded sum, in the byte order of memory (little endian).
 */
__attribute__((target("avx2"))) static uint64_t
csum_avx2(const unsigned char *p, size_t len)
{
	const __m256i zero = _mm256_setzero_si256();
	uint64_t sum = 0;

	while (len) {
		size_t chunk =
			len < (size_t)65535 * 64 ? len : (size_t)65535 * 64;
		__m256i a = zero, b = zero, c = zero, d = zero;
		uint32_t lane[4][8];
		int i, j;

		len -= chunk;
		for (; chunk; chunk -= 64, p += 64) {
			__m256i v = _mm256_loadu_si256((const __m256i *)p);
			__m256i w = _mm256_loadu_si256((const __m256i *)p + 1);

			a = _mm256_add_epi32(a, _mm256_unpacklo_epi16(v, zero));
			b = _mm256_add_epi32(b, _mm256_unpackhi_epi16(v, zero));
			c = _mm256_add_epi32(c, _mm256_unpacklo_epi16(w, zero));
			d = _mm256_add_epi32(d, _mm256_unpackhi_epi16(w, zero));
		}
		_mm256_storeu_si256((__m256i *)lane[0], a);
		_mm256_storeu_si256((__m256i *)lane[1], b);
		_mm256_storeu_si256((__m256i *)lane[2], c);
		_mm256_storeu_si256((__m256i *)lane[3], d);
		for (i = 0; i < 4; i++)
			for (j = 0; j < 8; j++)
				sum += lane[i][j];
	}
	return sum;
}

/* AVX2 is there (asked once; every answer is the same) */
static int have_avx2(void)
{
	static _Atomic int avx2 = -1;
	int r = atomic_load_explicit(&avx2, memory_order_relaxed);

	if (r < 0) {
		__builtin_cpu_init();
		r = __builtin_cpu_supports("avx2") ? 1 : 0;
		atomic_store_explicit(&avx2, r, memory_order_relaxed);
	}
	return r;
}
#endif

uint64_t ofl_csum(const void *buf, size_t len, uint64_t sum)
{
	const unsigned char *p = buf;
	uint64_t a = 0, b = 0, c = 0, d = 0;

#ifdef __x86_64__
	/* a segment's payload and more: worth the vector unit */
	if (len >= 256 && have_avx2()) {
		size_t n = len & ~(size_t)63;

		a = csum_avx2(p, n);
		p += n;
		len -= n;
	}
#endif

	/*
	 * 32-bit halves of 64-bit loads summed into 64-bit accumulators: no
	 * carry to track for any buffer below 16 GB, and four independent
	 * chains keep the pipeline busy.  2^16 = 1 modulo 0xffff, so sums of
	 * wider words fold to the RFC 1071 sum of 16-bit words.
	 */
	while (len >= 32) {
		uint64_t w[4];

		memcpy(w, p, sizeof(w));
		a += (uint32_t)w[0] + (w[0] >> 32);
		b += (uint32_t)w[1] + (w[1] >> 32);
		c += (uint32_t)w[2] + (w[2] >> 32);
		d += (uint32_t)w[3] + (w[3] >> 32);
		p += 32;
		len -= 32;
	}
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, sizeof(w));
		a += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, sizeof(w));
		b += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;

		/* the odd byte is the first of a word padded with zero */
		memcpy(&w, p, 1);
		c += w;
	}
	return add_carry(add_carry(add_carry(a, b), add_carry(c, d)), sum);
}

uint16_t ofl_csum_fold(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* the pseudo-header's protocol and length words, in memory order */
static inline uint64_t pseudo_rest(unsigned int proto, unsigned int len)
{
	return (uint64_t)htons((uint16_t)proto) + htons((uint16_t)len);
}

static inline void store_csum(unsigned char *p, uint16_t c)
{
	memcpy(p, &c, sizeof(c));
}

/* Complete a partial checksum as a NIC would (skb_checksum_help()). */
static int complete_csum(unsigned char *f, size_t len, unsigned int start,
			 unsigned int off)
{
	uint16_t c;

	if (start >= len || (size_t)start + off + 2 > len)
		return -EINVAL;
	c = (uint16_t)~ofl_csum_fold(ofl_csum(f + start, len - start, 0));
	/* 0 means "no checksum" to UDP; 0xffff is the same sum */
	store_csum(f + start + off, c ? c : 0xffff);
	return 0;
}

/* Where the headers of a frame are. */
struct hdrs {
	uint16_t l3off, l4off, hdr_len;
	uint8_t ipv6, l4proto;
};

/**
 * parse() - find the IP and L4 headers of a frame to segment
 * @f:		Ethernet frame
 * @len:	its length
 * @h:		result
 * Return: 0, -EPROTONOSUPPORT or -EINVAL (see ofl_gso_start()).
 */
static int parse(const unsigned char *f, size_t len, struct hdrs *h)
{
	size_t off = 12, l4;
	unsigned int type, nh, i;

	if (len < ETH_HLEN)
		return -EINVAL;
	type = get16(f + off);
	for (i = 0; type == ETHTYPE_VLAN || type == ETHTYPE_QINQ; i++) {
		if (i == 2)
			return -EPROTONOSUPPORT;
		off += 4;
		if (len < off + 2)
			return -EINVAL;
		type = get16(f + off);
	}
	off += 2;
	h->l3off = (uint16_t)off;
	if (type == ETHTYPE_IP) {
		unsigned int ihl;

		if (len < off + 20 || f[off] >> 4 != 4)
			return -EINVAL;
		ihl = (f[off] & 15u) * 4;
		if (ihl < 20 || len < off + ihl)
			return -EINVAL;
		/* MF or a fragment offset: a fragment cannot be cut */
		if (get16(f + off + 6) & 0x3fff)
			return -EPROTONOSUPPORT;
		nh = f[off + 9];
		l4 = off + ihl;
		h->ipv6 = 0;
	} else if (type == ETHTYPE_IPV6) {
		if (len < off + 40 || f[off] >> 4 != 6)
			return -EINVAL;
		nh = f[off + 6];
		l4 = off + 40;
		/*
		 * Extension headers the kernel copies into every segment.
		 * A routing header with segments left changes the
		 * destination the checksum covers: not handled, refused.
		 */
		for (i = 0; nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
			    nh == IPPROTO_DSTOPTS;
		     i++) {
			if ((nh == IPPROTO_HOPOPTS && i) || i == 8)
				return -EPROTONOSUPPORT;
			if (len < l4 + 8)
				return -EINVAL;
			if (nh == IPPROTO_ROUTING && f[l4 + 3])
				return -EPROTONOSUPPORT;
			nh = f[l4];
			l4 += (f[l4 + 1] + 1u) * 8;
		}
		if (l4 > len)
			return -EINVAL;
		h->ipv6 = 1;
	} else {
		return -EPROTONOSUPPORT;
	}
	h->l4off = (uint16_t)l4;
	h->l4proto = (uint8_t)nh;
	if (nh == IPPROTO_TCP) {
		unsigned int doff;

		if (len < l4 + 20)
			return -EINVAL;
		doff = (f[l4 + 12] >> 4) * 4u;
		if (doff < 20 || len < l4 + doff)
			return -EINVAL;
		h->hdr_len = (uint16_t)(l4 + doff);
	} else if (nh == IPPROTO_UDP) {
		if (len < l4 + 8)
			return -EINVAL;
		h->hdr_len = (uint16_t)(l4 + 8);
	} else {
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int ofl_gso_start(struct ofl_gso *g, const struct virtio_net_hdr *vh,
		  unsigned char *frame, size_t len, size_t max_frame)
{
	unsigned int type = vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	size_t l3len;
	struct hdrs h;
	int r;

	/* nothing to iterate over unless this succeeds */
	g->frame = frame;
	g->len = (uint32_t)len;
	g->next = 0;
	g->nsegs = 0;
	g->hdr_len = 0;
	g->payload = 0;
	if (len < ETH_HLEN || len > UINT32_MAX)
		return -EINVAL;
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		if (len > max_frame)
			return -EMSGSIZE;
		if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			r = complete_csum(frame, len, vh->csum_start,
					  vh->csum_offset);
			if (r < 0)
				return r;
		}
		g->nsegs = 1;
		return 1;
	}
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 &&
	    type != VIRTIO_NET_HDR_GSO_TCPV6 &&
	    type != VIRTIO_NET_HDR_GSO_UDP_L4)
		return -EPROTONOSUPPORT;
	r = parse(frame, len, &h);
	if (r < 0)
		return r;
	if ((type == VIRTIO_NET_HDR_GSO_TCPV4 &&
	     (h.ipv6 || h.l4proto != IPPROTO_TCP)) ||
	    (type == VIRTIO_NET_HDR_GSO_TCPV6 &&
	     (!h.ipv6 || h.l4proto != IPPROTO_TCP)) ||
	    (type == VIRTIO_NET_HDR_GSO_UDP_L4 && h.l4proto != IPPROTO_UDP))
		return -EINVAL;
	if ((vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (vh->csum_start != h.l4off ||
	     vh->csum_offset != (h.l4proto == IPPROTO_TCP ? 16 : 6)))
		return -EINVAL;
	if (!vh->gso_size)
		return -EINVAL;
	if (h.hdr_len > OFL_HDR_MAX)
		return -EMSGSIZE;
	/* the IP length must describe exactly this frame */
	l3len = len - h.l3off;
	if (h.ipv6 ? get16(frame + h.l3off + 4) + 40u != l3len
		   : get16(frame + h.l3off + 2) != l3len)
		return -EINVAL;
	g->payload = (uint32_t)(len - h.hdr_len);
	if (h.hdr_len +
		    (g->payload < vh->gso_size ? g->payload : vh->gso_size) >
	    max_frame)
		return -EMSGSIZE;
	g->nsegs =
		g->payload ? (g->payload + vh->gso_size - 1) / vh->gso_size : 1;
	g->l3off = h.l3off;
	g->l4off = h.l4off;
	g->hdr_len = h.hdr_len;
	g->gso_size = vh->gso_size;
	g->ipv6 = h.ipv6;
	g->l4proto = h.l4proto;
	memcpy(g->hdr, frame, h.hdr_len);
	g->addr_sum = h.ipv6 ? ofl_csum(frame + h.l3off + 8, 32, 0)
			     : ofl_csum(frame + h.l3off + 12, 8, 0);
	return (int)g->nsegs;
}

unsigned int ofl_gso_next(struct ofl_gso *g, struct ofl_seg *segs,
			  unsigned int max)
{
	unsigned int k;

	for (k = 0; k < max && g->next < g->nsegs; k++, g->next++) {
		struct ofl_seg *s = &segs[k];
		unsigned int i = g->next, off, plen, l4len;
		unsigned char *ip, *l4;
		uint64_t sum;
		uint16_t c;

		if (!g->hdr_len) {
			s->data = g->frame;
			s->len = g->len;
			s->hdr_len = 0;
			continue;
		}
		off = i * g->gso_size;
		plen = g->payload - off < g->gso_size ? g->payload - off
						      : g->gso_size;
		memcpy(s->hdr, g->hdr, g->hdr_len);
		s->hdr_len = g->hdr_len;
		s->data = g->frame + g->hdr_len + off;
		s->len = plen;
		ip = s->hdr + g->l3off;
		l4 = s->hdr + g->l4off;
		l4len = g->hdr_len - g->l4off + plen;
		if (g->ipv6) {
			put16(ip + 4, g->hdr_len - g->l3off - 40 + plen);
		} else {
			put16(ip + 2, g->hdr_len - g->l3off + plen);
			put16(ip + 4, get16(ip + 4) + i);
			ip[10] = ip[11] = 0;
			store_csum(ip + 10, (uint16_t)~ofl_csum_fold(ofl_csum(
						    ip, (ip[0] & 15u) * 4, 0)));
		}
		sum = g->addr_sum + pseudo_rest(g->l4proto, l4len);
		if (g->l4proto == IPPROTO_TCP) {
			put32(l4 + 4, get32(l4 + 4) + off);
			if (i + 1 < g->nsegs)
				l4[13] &= (unsigned char)~(TCP_FIN | TCP_PSH);
			if (i)
				l4[13] &= (unsigned char)~TCP_CWR;
			l4[16] = l4[17] = 0;
			sum = ofl_csum(l4, g->hdr_len - g->l4off, sum);
			sum = ofl_csum(s->data, plen, sum);
			store_csum(l4 + 16, (uint16_t)~ofl_csum_fold(sum));
		} else {
			put16(l4 + 4, l4len);
			l4[6] = l4[7] = 0;
			sum = ofl_csum(l4, 8, sum);
			sum = ofl_csum(s->data, plen, sum);
			c = (uint16_t)~ofl_csum_fold(sum);
			store_csum(l4 + 6, c ? c : 0xffff);
		}
	}
	return k;
}

/* A TCP segment or UDP datagram that may be coalesced, and its fields. */
struct cand {
	uint16_t l4off, hdr_len;
	uint8_t ipv6, l4proto, flags;
	uint32_t seq, plen;
};

/*
 * gro_parse_udp() - the UDP part of gro_parse(): a datagram with a
 * checksum, its length field exact, a payload of one byte at least
 */
static int gro_parse_udp(const unsigned char *f, size_t len, size_t l4,
			 struct cand *c)
{
	const unsigned char *uh = f + l4;

	if (len <= l4 + 8 || get16(uh + 4) != len - l4 ||
	    (!c->ipv6 && !get16(uh + 6)))
		return 0;
	c->flags = 0;
	c->l4off = (uint16_t)l4;
	c->hdr_len = (uint16_t)(l4 + 8);
	c->seq = 0;
	c->plen = (uint32_t)(len - l4 - 8);
	return 1;
}

/**
 * gro_parse() - whether a frame is a TCP segment (or a UDP datagram, if
 * @udp) ofl_gro() may merge
 * @fr:		frame
 * @c:		its fields, if so
 * @udp:	UDP datagrams may be merged
 * Return: 1 if it is a candidate, 0 if it goes alone.
 */
static int gro_parse(const struct ofl_frame *fr, struct cand *c, int udp)
{
	const unsigned char *f = fr->data, *th;
	size_t len = fr->len, l4;
	unsigned int doff;

	if (len < ETH_HLEN + 20 + 8)
		return 0;
	switch (get16(f + 12)) {
	case ETHTYPE_IP:
		/* no options, not a fragment, no Ethernet padding */
		if (f[14] != 0x45 || (get16(f + 20) & 0x3fff) ||
		    get16(f + 16) != len - ETH_HLEN)
			return 0;
		l4 = ETH_HLEN + 20;
		c->ipv6 = 0;
		c->l4proto = f[23];
		break;
	case ETHTYPE_IPV6:
		if (len < ETH_HLEN + 40 + 8 || f[14] >> 4 != 6 ||
		    get16(f + 18) != len - ETH_HLEN - 40)
			return 0;
		l4 = ETH_HLEN + 40;
		c->ipv6 = 1;
		c->l4proto = f[20];
		break;
	default:
		return 0;
	}
	if (c->l4proto == IPPROTO_UDP && udp)
		return gro_parse_udp(f, len, l4, c);
	if (c->l4proto != IPPROTO_TCP || len < l4 + 20)
		return 0;
	th = f + l4;
	doff = (th[12] >> 4) * 4u;
	if (doff < 20 || l4 + doff >= len)
		return 0;
	/* no options, or exactly NOP NOP timestamp, as Linux sends them */
	if (doff != 20 && (doff != 32 || th[20] != 1 || th[21] != 1 ||
			   th[22] != 8 || th[23] != 10))
		return 0;
	c->flags = th[13];
	if (!(c->flags & TCP_ACK) ||
	    (c->flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_CWR)))
		return 0;
	c->l4off = (uint16_t)l4;
	c->hdr_len = (uint16_t)(l4 + doff);
	c->seq = get32(th + 4);
	c->plen = (uint32_t)(len - l4 - doff);
	return 1;
}

/* The IPv4 header checksum and the L4 checksum of a candidate are right. */
static int gro_verify(const struct ofl_frame *fr, const struct cand *c)
{
	const unsigned char *f = fr->data;
	unsigned int l4len = fr->len - c->l4off;
	uint64_t sum;

	if (c->ipv6) {
		sum = ofl_csum(f + ETH_HLEN + 8, 32, 0);
	} else {
		if (ofl_csum_fold(ofl_csum(f + ETH_HLEN, 20, 0)) != 0xffff)
			return 0;
		sum = ofl_csum(f + ETH_HLEN + 12, 8, 0);
	}
	sum += pseudo_rest(c->l4proto, l4len);
	return ofl_csum_fold(ofl_csum(f + c->l4off, l4len, sum)) == 0xffff;
}

/**
 * gro_fits() - whether segment @n may follow @last in the group of @first
 * @f0:		first frame of the group
 * @c0:		its fields
 * @fl:		last frame of the group
 * @cl:		its fields
 * @fn:		candidate
 * @cn:		its fields
 * Return: 1 if the super-frame would still say what every segment says.
 */
static int gro_fits(const unsigned char *f0, const struct cand *c0,
		    const unsigned char *fl, const struct cand *cl,
		    const unsigned char *fn, const struct cand *cn)
{
	const unsigned char *t0 = f0 + c0->l4off, *tn = fn + cn->l4off;
	int udp = c0->l4proto == IPPROTO_UDP;

	if (cl->flags & TCP_PSH || cl->plen != c0->plen ||
	    cn->plen > c0->plen || cn->ipv6 != c0->ipv6 ||
	    cn->l4proto != c0->l4proto || cn->hdr_len != c0->hdr_len ||
	    (!udp && cn->seq != cl->seq + cl->plen) ||
	    (cn->flags & ~TCP_PSH) != c0->flags)
		return 0;
	/* Ethernet addresses and type */
	if (memcmp(f0, fn, ETH_HLEN))
		return 0;
	if (c0->ipv6) {
		/* version, traffic class, flow label; hop limit; addresses */
		if (memcmp(f0 + 14, fn + 14, 4) || f0[21] != fn[21] ||
		    memcmp(f0 + 22, fn + 22, 32))
			return 0;
	} else {
		/* TOS, DF, TTL, addresses; ids in sequence unless DF (the
		 * kernel numbers UDP segments in sequence, DF or not) */
		if (f0[15] != fn[15] || (f0[20] & 0x40) != (fn[20] & 0x40) ||
		    f0[22] != fn[22] || memcmp(f0 + 26, fn + 26, 8))
			return 0;
		if ((udp || !(fn[20] & 0x40)) &&
		    get16(fn + 18) != ((get16(fl + 18) + 1) & 0xffff))
			return 0;
	}
	if (udp) /* ports; lengths and checksums are each datagram's own */
		return !memcmp(t0, tn, 4);
	/* ports; ack; data offset and window; options byte for byte */
	return !memcmp(t0, tn, 4) && !memcmp(t0 + 8, tn + 8, 5) &&
	       !memcmp(t0 + 14, tn + 14, 2) &&
	       !memcmp(t0 + 20, tn + 20, c0->hdr_len - c0->l4off - 20u);
}

/* Turn the group @o (count >= 2, @total payload bytes) into a super-frame. */
static void gro_close(struct ofl_gro_out *o, struct ofl_frame *f,
		      const struct cand *c0, const struct cand *cl,
		      uint32_t total)
{
	unsigned char *p = f[o->first].data, *th = p + c0->l4off;
	unsigned int l4len = c0->hdr_len - c0->l4off + total;
	uint64_t sum;

	memcpy(o->saved, p, c0->hdr_len);
	o->hdr_len = c0->hdr_len;
	if (c0->ipv6) {
		put16(p + 18, l4len);
		sum = ofl_csum(p + ETH_HLEN + 8, 32, 0);
	} else {
		put16(p + 16, 20 + l4len);
		p[24] = p[25] = 0;
		store_csum(p + 24, (uint16_t)~ofl_csum_fold(
					   ofl_csum(p + ETH_HLEN, 20, 0)));
		sum = ofl_csum(p + ETH_HLEN + 12, 8, 0);
	}
	/* NEEDS_CSUM: the checksum field holds the pseudo-header sum, as
	 * the kernel's own TSO/USO frames do; a UDP super-frame's length
	 * field is its whole length, which the kernel's segmentation
	 * replaces in each datagram and in that sum */
	sum = ofl_csum_fold(sum + pseudo_rest(c0->l4proto, l4len));
	o->vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	o->vh.hdr_len = c0->hdr_len;
	o->vh.gso_size = (uint16_t)c0->plen;
	o->vh.csum_start = c0->l4off;
	if (c0->l4proto == IPPROTO_UDP) {
		put16(th + 4, l4len);
		store_csum(th + 6, (uint16_t)sum);
		o->vh.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
		o->vh.csum_offset = 6;
		return;
	}
	th[13] |= cl->flags & TCP_PSH;
	store_csum(th + 16, (uint16_t)sum);
	o->vh.gso_type =
		c0->ipv6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	o->vh.csum_offset = 16;
}

unsigned int ofl_gro(struct ofl_frame *f, unsigned int n,
		     struct ofl_gro_out *out, unsigned int flags)
{
	struct cand c0 = {0}, cl = {0}, cn;
	struct ofl_gro_out *o = NULL; /* the group that may grow */
	int first_ok = 0;	      /* its first frame is verified */
	unsigned int nout = 0, i;
	uint32_t total = 0;

	for (i = 0; i < n; i++) {
		int cand = gro_parse(&f[i], &cn, flags & OFL_GRO_UDP);

		/* the IP length field of the result must hold it */
		if (o && cand && o->count < OFL_GRO_MAX_SEGS &&
		    c0.hdr_len - ETH_HLEN - (c0.ipv6 ? 40u : 0u) + total +
				    cn.plen <=
			    65535 &&
		    gro_fits(f[o->first].data, &c0,
			     f[o->first + o->count - 1].data, &cl, f[i].data,
			     &cn)) {
			if (!first_ok && !gro_verify(&f[o->first], &c0)) {
				/* the first goes alone; @i may start anew */
				o = NULL;
			} else {
				first_ok = 1;
				if (!gro_verify(&f[i], &cn)) {
					if (o->count > 1)
						gro_close(o, f, &c0, &cl,
							  total);
					o = NULL;
					cand = 0;
				} else {
					o->count++;
					total += cn.plen;
					cl = cn;
					continue;
				}
			}
		}
		if (o && o->count > 1)
			gro_close(o, f, &c0, &cl, total);
		o = &out[nout++];
		memset(&o->vh, 0, sizeof(o->vh));
		o->first = i;
		o->count = 1;
		o->hdr_len = 0;
		if (!cand || (cn.flags & TCP_PSH)) {
			o = NULL;
			continue;
		}
		c0 = cl = cn;
		total = cn.plen;
		first_ok = 0;
	}
	if (o && o->count > 1)
		gro_close(o, f, &c0, &cl, total);
	return nout;
}

unsigned int ofl_gro_iov(struct ofl_gro_out *o, const struct ofl_frame *f,
			 struct iovec *iov)
{
	unsigned int k;

	iov[0].iov_base = &o->vh;
	iov[0].iov_len = sizeof(o->vh);
	iov[1].iov_base = f[o->first].data;
	iov[1].iov_len = f[o->first].len;
	for (k = 1; k < o->count; k++) {
		iov[k + 1].iov_base = f[o->first + k].data + o->hdr_len;
		iov[k + 1].iov_len = f[o->first + k].len - o->hdr_len;
	}
	return o->count + 1;
}

void ofl_gro_undo(const struct ofl_gro_out *o, struct ofl_frame *f)
{
	memcpy(f[o->first].data, o->saved, o->hdr_len);
}
