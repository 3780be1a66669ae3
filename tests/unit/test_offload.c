// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_offload.c - segmentation, checksums and coalescing of backends/offload.c
 *
 * Frames are built here byte by byte, as the kernel hands them to a TAP
 * with offloads on (a super-frame whose TCP/UDP checksum field holds the
 * pseudo-header sum, NEEDS_CSUM), cut with ofl_gso_start()/ofl_gso_next()
 * and every segment is checked field by field against the super-frame,
 * with a checksum computed by a reference implementation of RFC 1071
 * written here independently (big-endian 16-bit words, one at a time).
 * The segments are then coalesced with ofl_gro() and the result compared
 * with what was cut, and cut again: coalescing then segmenting must give
 * back the very same bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* offload.c is part of the backends, not of the core archive */
#include "../../backends/offload.c"

#define MAXF (65536 + 256)
#define VDE_MAX (9216 + 14 + 4)

/* ------------------------------------------------------ reference sums */

/* RFC 1071 over big-endian words, one at a time; not folded to ~ */
static uint32_t ref_sum(const uint8_t *p, size_t len, uint64_t acc)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v & 0xffff);
}

/* pseudo-header sum of the L4 block at @l4 (@l4len bytes) */
static uint32_t ref_pseudo(const uint8_t *ip, int v6, unsigned int proto,
			   unsigned int l4len)
{
	uint64_t acc = proto + (l4len & 0xffff) + (l4len >> 16);

	if (v6)
		return ref_sum(ip + 8, 32, acc);
	return ref_sum(ip + 12, 8, acc);
}

/* whether the L4 checksum of a frame is right */
static int ref_l4_ok(const uint8_t *ip, int v6, unsigned int proto,
		     const uint8_t *l4, unsigned int l4len)
{
	return ref_sum(l4, l4len, ref_pseudo(ip, v6, proto, l4len)) == 0xffff;
}

static void test_csum_matches_reference_for_every_length_and_offset(void **s)
{
	static uint8_t buf[70000];
	size_t len, off, i;

	(void)s;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	/* ofl_csum() sums in memory order: the same 16 bits, read as a
	 * big-endian number, are the reference */
	for (off = 0; off < 8; off++)
		for (len = 0; len < 600; len++)
			assert_int_equal(
				ofl_csum_fold(ofl_csum(buf + off, len, 0)),
				ntohs((uint16_t)ref_sum(buf + off, len, 0)));
	for (len = 60000; len < 60000 + 70; len++)
		assert_int_equal(ofl_csum_fold(ofl_csum(buf + 1, len, 0)),
				 ntohs((uint16_t)ref_sum(buf + 1, len, 0)));
	/* all-ones data: the sum must not overflow into garbage */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(ofl_csum_fold(ofl_csum(buf, sizeof(buf), 0)), 0xffff);
}

static void test_csum_adds_up_over_split_buffers(void **s)
{
	uint8_t buf[3000];
	size_t i, cut;

	(void)s;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	for (cut = 0; cut <= sizeof(buf); cut += 2)
		assert_int_equal(
			ofl_csum_fold(ofl_csum(buf + cut, sizeof(buf) - cut,
					       ofl_csum(buf, cut, 0))),
			ofl_csum_fold(ofl_csum(buf, sizeof(buf), 0)));
}

/* -------------------------------------------------- synthetic frames */

struct spec {
	int v6, vlans, udp, ts;
	unsigned int payload, gso;
	uint8_t flags; /* TCP flags */
	int df;
	uint16_t id;
	uint32_t seq;
};

static uint8_t pat(size_t i)
{
	return (uint8_t)((i * 7 + 3) ^ (i >> 8) ^ (i >> 16));
}

/**
 * build() - a super-frame as the kernel hands it to a TAP
 * @sp:	what to build
 * @f:	buffer of MAXF bytes
 * @vh:	its virtio-net header
 * Return: frame length
 */
static size_t build(const struct spec *sp, uint8_t *f,
		    struct virtio_net_hdr *vh)
{
	static const uint8_t src6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
					 0,    0, 0, 0, 0, 0, 0, 1};
	static const uint8_t dst6[16] = {0xfd, 0, 0, 0, 0,    0,    0, 0,
					 0,    0, 0, 0, 0x12, 0x34, 0, 2};
	size_t off = 12, l3, l4, hl, i, len;
	unsigned int l4hl = sp->udp ? 8 : (sp->ts ? 32 : 20);
	int v;

	memset(f, 0, 128);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (v = 0; v < sp->vlans; v++) {
		wr16(f + off, v + 1 < sp->vlans ? 0x88a8 : 0x8100);
		wr16(f + off + 2, 0x0064 + v);
		off += 4;
	}
	wr16(f + off, sp->v6 ? 0x86dd : 0x0800);
	l3 = off + 2;
	l4 = l3 + (sp->v6 ? 40 : 20);
	hl = l4 + l4hl;
	len = hl + sp->payload;
	if (sp->v6) {
		f[l3] = 0x60;
		f[l3 + 1] = 0x0a; /* traffic class, flow label */
		f[l3 + 3] = 0x42;
		wr16(f + l3 + 4, (unsigned int)(len - l3 - 40));
		f[l3 + 6] = sp->udp ? 17 : 6;
		f[l3 + 7] = 64;
		memcpy(f + l3 + 8, src6, 16);
		memcpy(f + l3 + 24, dst6, 16);
	} else {
		f[l3] = 0x45;
		f[l3 + 1] = 0x10;
		wr16(f + l3 + 2, (unsigned int)(len - l3));
		wr16(f + l3 + 4, sp->id);
		wr16(f + l3 + 6, sp->df ? 0x4000 : 0);
		f[l3 + 8] = 63;
		f[l3 + 9] = sp->udp ? 17 : 6;
		memcpy(f + l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		/* the kernel's GSO frame has a valid header checksum, but it
		 * does not matter to segmentation: leave garbage */
		wr16(f + l3 + 10, 0xdead);
	}
	if (sp->udp) {
		wr16(f + l4, 4000);
		wr16(f + l4 + 2, 5000);
		wr16(f + l4 + 4, (unsigned int)(len - l4));
	} else {
		wr16(f + l4, 40000);
		wr16(f + l4 + 2, 5201);
		wr32(f + l4 + 4, sp->seq);
		wr32(f + l4 + 8, 0x11223344);
		f[l4 + 12] = (uint8_t)((l4hl / 4) << 4);
		f[l4 + 13] = sp->flags;
		wr16(f + l4 + 14, 502);
		if (sp->ts) {
			memcpy(f + l4 + 20, "\x01\x01\x08\x0a", 4);
			wr32(f + l4 + 24, 0xa1b2c3d4);
			wr32(f + l4 + 28, 0x01020304);
		}
	}
	for (i = 0; i < sp->payload; i++)
		f[hl + i] = pat(i);
	/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum */
	wr16(f + l4 + (sp->udp ? 6 : 16),
	     ref_pseudo(f + l3, sp->v6, sp->udp ? 17 : 6,
			(unsigned int)(len - l4)));
	memset(vh, 0, sizeof(*vh));
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = sp->udp	? VIRTIO_NET_HDR_GSO_UDP_L4
		       : sp->v6 ? VIRTIO_NET_HDR_GSO_TCPV6
				: VIRTIO_NET_HDR_GSO_TCPV4;
	vh->hdr_len = (uint16_t)hl;
	vh->gso_size = (uint16_t)sp->gso;
	vh->csum_start = (uint16_t)l4;
	vh->csum_offset = sp->udp ? 6 : 16;
	return len;
}

/* A segment as one contiguous frame. */
static size_t flatten(const struct ofl_seg *sg, uint8_t *out)
{
	memcpy(out, sg->hdr, sg->hdr_len);
	memcpy(out + sg->hdr_len, sg->data, sg->len);
	return sg->hdr_len + sg->len;
}

/* all segments of a frame, flattened; Return: how many */
static unsigned int cut(const struct virtio_net_hdr *vh, uint8_t *f, size_t len,
			size_t max_frame, uint8_t **frames, size_t *lens,
			unsigned int room)
{
	static struct ofl_seg segs[7]; /* odd, to exercise chunking */
	struct ofl_gso g;
	unsigned int n = 0, k, i;
	int r = ofl_gso_start(&g, vh, f, len, max_frame);

	assert_true(r >= 1);
	while ((k = ofl_gso_next(&g, segs, 7)) > 0) {
		for (i = 0; i < k; i++) {
			assert_true(n < room);
			/* slack: a test may pad a frame */
			frames[n] = malloc(segs[i].hdr_len + segs[i].len + 64);
			lens[n] = flatten(&segs[i], frames[n]);
			n++;
		}
	}
	assert_int_equal(n, (unsigned int)r);
	assert_false(ofl_gso_more(&g));
	return n;
}

/**
 * check_segments() - every segment against the super-frame, by reference
 * @sp:		what the super-frame was built from
 * @sup:	the super-frame (as built: cutting must not change it)
 * @fr:		flattened segments
 * @lens:	their lengths
 * @n:		how many
 */
static void check_segments(const struct spec *sp, const uint8_t *sup,
			   uint8_t **fr, const size_t *lens, unsigned int n)
{
	size_t l3 = 14 + 4 * (size_t)sp->vlans;
	size_t l4 = l3 + (sp->v6 ? 40 : 20);
	size_t hl = l4 + (sp->udp ? 8 : (sp->ts ? 32 : 20));
	size_t done = 0, i;
	unsigned int k;

	assert_int_equal(n, sp->payload ? (sp->payload + sp->gso - 1) / sp->gso
					: 1);
	for (k = 0; k < n; k++) {
		const uint8_t *s = fr[k];
		size_t plen = sp->payload - done < sp->gso ? sp->payload - done
							   : sp->gso;
		uint8_t fl = sp->flags;

		assert_int_equal(lens[k], hl + plen);
		/* Ethernet and VLAN tags */
		assert_memory_equal(s, sup, l3);
		if (sp->v6) {
			assert_memory_equal(s + l3, sup + l3, 4);
			assert_int_equal(rd16(s + l3 + 4), lens[k] - l3 - 40);
			assert_memory_equal(s + l3 + 6, sup + l3 + 6, 34);
		} else {
			assert_int_equal(s[l3], 0x45);
			assert_int_equal(s[l3 + 1], sup[l3 + 1]);
			assert_int_equal(rd16(s + l3 + 2), lens[k] - l3);
			assert_int_equal(rd16(s + l3 + 4),
					 (uint16_t)(sp->id + k));
			assert_memory_equal(s + l3 + 6, sup + l3 + 6, 4);
			assert_memory_equal(s + l3 + 12, sup + l3 + 12, 8);
			assert_int_equal(ref_sum(s + l3, 20, 0), 0xffff);
		}
		if (sp->udp) {
			assert_memory_equal(s + l4, sup + l4, 4);
			assert_int_equal(rd16(s + l4 + 4), lens[k] - l4);
			assert_int_not_equal(rd16(s + l4 + 6), 0);
			assert_true(ref_l4_ok(s + l3, sp->v6, 17, s + l4,
					      (unsigned int)(lens[k] - l4)));
		} else {
			if (k + 1 < n)
				fl &= (uint8_t) ~(0x01 | 0x08);
			if (k)
				fl &= (uint8_t)~0x80;
			assert_memory_equal(s + l4, sup + l4, 4);
			assert_int_equal(rd32(s + l4 + 4),
					 (uint32_t)(sp->seq + done));
			assert_memory_equal(s + l4 + 8, sup + l4 + 8, 5);
			assert_int_equal(s[l4 + 13], fl);
			assert_memory_equal(s + l4 + 14, sup + l4 + 14, 2);
			assert_memory_equal(s + l4 + 18, sup + l4 + 18,
					    hl - l4 - 18);
			assert_true(ref_l4_ok(s + l3, sp->v6, 6, s + l4,
					      (unsigned int)(lens[k] - l4)));
		}
		for (i = 0; i < plen; i++)
			if (s[hl + i] != pat(done + i))
				fail_msg("segment %u payload byte %zu", k, i);
		done += plen;
	}
	assert_int_equal(done, sp->payload);
}

static void free_all(uint8_t **fr, unsigned int n)
{
	while (n)
		free(fr[--n]);
}

/**
 * regroup() - coalesce the segments in bursts of 64, check the result
 * @sp:		what they were cut from
 * @fr:		flattened segments (their headers may get rewritten)
 * @lens:	lengths
 * @n:		how many
 *
 * Each result must carry the payload of its frames in order, and a
 * super-frame cut again must give back its frames byte for byte.
 */
static void regroup(const struct spec *sp, uint8_t **fr, const size_t *lens,
		    unsigned int n)
{
	static struct ofl_frame f[64];
	static struct ofl_gro_out out[64];
	static struct iovec iov[65];
	static uint8_t sup[MAXF];
	static uint8_t copy[64][VDE_MAX + 64];
	size_t done = 0;
	unsigned int b, i, k, nout;

	for (b = 0; b < n; b += 64) {
		unsigned int m = n - b < 64 ? n - b : 64, merged = 0;

		for (i = 0; i < m; i++) {
			memcpy(copy[i], fr[b + i], lens[b + i]);
			f[i].data = fr[b + i];
			f[i].len = (uint32_t)lens[b + i];
		}
		nout = ofl_gro(f, m, out, OFL_GRO_UDP);
		for (k = 0; k < nout; k++) {
			struct ofl_gro_out *o = &out[k];
			unsigned int niov = ofl_gro_iov(o, f, iov), j;
			size_t len = 0, hl = o->hdr_len;
			uint8_t *back[64];
			size_t blen[64];

			for (j = 1; j < niov; j++) {
				memcpy(sup + len, iov[j].iov_base,
				       iov[j].iov_len);
				len += iov[j].iov_len;
			}
			assert_int_equal(iov[0].iov_len, 10);
			if (o->count == 1) {
				struct virtio_net_hdr z = {0};

				assert_memory_equal(&o->vh, &z, sizeof(z));
				assert_memory_equal(sup, copy[o->first], len);
				merged++;
				continue;
			}
			assert_int_equal(o->vh.flags,
					 VIRTIO_NET_HDR_F_NEEDS_CSUM);
			assert_int_equal(o->vh.gso_type,
					 sp->udp  ? VIRTIO_NET_HDR_GSO_UDP_L4
					 : sp->v6 ? VIRTIO_NET_HDR_GSO_TCPV6
						  : VIRTIO_NET_HDR_GSO_TCPV4);
			assert_int_equal(o->vh.hdr_len, hl);
			assert_int_equal(o->vh.gso_size,
					 lens[b + o->first] - hl);
			assert_int_equal(o->vh.csum_offset, sp->udp ? 6 : 16);
			/* what the kernel checks: the pseudo-header sum */
			assert_int_equal(
				rd16(sup + o->vh.csum_start +
				     o->vh.csum_offset),
				ref_pseudo(sup + 14, sp->v6, sp->udp ? 17 : 6,
					   (unsigned int)(len -
							  o->vh.csum_start)));
			/* a UDP super-frame's length field: all of it */
			if (sp->udp)
				assert_int_equal(
					rd16(sup + o->vh.csum_start + 4),
					len - o->vh.csum_start);
			if (!sp->v6)
				assert_int_equal(ref_sum(sup + 14, 20, 0),
						 0xffff);
			/* cut again: the very frames that came in */
			j = cut(&o->vh, sup, len, VDE_MAX, back, blen, 64);
			assert_int_equal(j, o->count);
			for (j = 0; j < o->count; j++) {
				assert_int_equal(blen[j],
						 lens[b + o->first + j]);
				assert_memory_equal(back[j], copy[o->first + j],
						    blen[j]);
			}
			free_all(back, o->count);
			/* and undo restores the first frame */
			ofl_gro_undo(o, f);
			assert_memory_equal(f[o->first].data, copy[o->first],
					    f[o->first].len);
			merged += o->count;
		}
		assert_int_equal(merged, m);
		for (i = 0; i < m; i++)
			done += lens[b + i];
	}
	(void)done;
}

/**
 * round_trip() - build, cut, check, coalesce, check
 * @sp:		frame
 * @want_merge:	minimum number of frames coalesced into one (0: none)
 */
static void round_trip(const struct spec *sp, unsigned int want_merge)
{
	static uint8_t f[MAXF], before[MAXF];
	static uint8_t *fr[70000];
	static size_t lens[70000];
	static struct ofl_frame ff[64];
	static struct ofl_gro_out out[64];
	struct virtio_net_hdr vh;
	size_t len = build(sp, f, &vh);
	unsigned int n, i, m;

	memcpy(before, f, len);
	n = cut(&vh, f, len, VDE_MAX, fr, lens, 70000);
	assert_memory_equal(f, before, len);
	check_segments(sp, f, fr, lens, n);
	if (want_merge) {
		m = n < 64 ? n : 64;
		for (i = 0; i < m; i++) {
			ff[i].data = malloc(lens[i]);
			memcpy(ff[i].data, fr[i], lens[i]);
			ff[i].len = (uint32_t)lens[i];
		}
		assert_true(ofl_gro(ff, m, out, OFL_GRO_UDP) >= 1);
		for (i = 0; i < m; i++)
			free(ff[i].data);
		assert_true(out[0].count >= want_merge ||
			    (sp->flags & 0x80 && out[1].count >= want_merge));
	}
	regroup(sp, fr, lens, n);
	free_all(fr, n);
}

static void test_tcp4_64k_super_frame_cut_and_coalesced(void **s)
{
	struct spec sp = {.payload = 65535 - 20 - 32,
			  .gso = 1448,
			  .ts = 1,
			  .flags = 0x18,
			  .df = 1,
			  .id = 0xfff0,
			  .seq = 0xfffff000};

	(void)s;
	round_trip(&sp, 46);
}

static void test_tcp6_64k_super_frame_cut_and_coalesced(void **s)
{
	struct spec sp = {.v6 = 1,
			  .payload = 65535 - 32,
			  .gso = 1428,
			  .ts = 1,
			  .flags = 0x18,
			  .seq = 12345};

	(void)s;
	round_trip(&sp, 46);
}

static void test_tcp4_ids_in_sequence_without_df_wrap(void **s)
{
	struct spec sp = {.payload = 30000,
			  .gso = 1460,
			  .flags = 0x10,
			  .df = 0,
			  .id = 0xfffa,
			  .seq = 1};

	(void)s;
	round_trip(&sp, 21);
}

static void test_tcp_odd_sizes(void **s)
{
	static const unsigned int payloads[] = {1,    2,    1447, 1448, 1449,
						2896, 2897, 9001, 65000};
	static const unsigned int gsos[] = {1, 7, 536, 1441, 1448, 8948};
	unsigned int p, g, v6;

	(void)s;
	for (v6 = 0; v6 < 2; v6++)
		for (p = 0; p < sizeof(payloads) / sizeof(*payloads); p++)
			for (g = 0; g < sizeof(gsos) / sizeof(*gsos); g++) {
				struct spec sp;

				if (payloads[p] / gsos[g] > 3000)
					continue;
				sp = (struct spec){.v6 = (int)v6,
						   .payload = payloads[p],
						   .gso = gsos[g],
						   .ts = (int)(p & 1),
						   .flags = 0x18,
						   .df = 1,
						   .id = 7,
						   .seq = 0x80000000u};

				round_trip(&sp, 0);
			}
}

static void test_tcp_fin_psh_only_on_last_cwr_only_on_first(void **s)
{
	struct spec sp = {.payload = 10000,
			  .gso = 1448,
			  .ts = 1,
			  .flags = 0x80 | 0x40 | 0x10 | 0x08 | 0x01,
			  .df = 1,
			  .seq = 99};
	struct spec sp6 = sp;

	(void)s;
	sp6.v6 = 1;
	/* the CWR segment and the FIN segment go alone, the rest merge */
	round_trip(&sp, 5);
	round_trip(&sp6, 5);
}

static void test_vlan_tagged_tcp_is_cut(void **s)
{
	struct spec sp = {.vlans = 1,
			  .payload = 20000,
			  .gso = 1448,
			  .ts = 1,
			  .flags = 0x18,
			  .df = 1,
			  .seq = 5};
	struct spec qinq = {.vlans = 2,
			    .v6 = 1,
			    .payload = 7777,
			    .gso = 1000,
			    .flags = 0x10,
			    .seq = 5};

	(void)s;
	/* VLAN frames are cut, but not coalesced (regroup() checks they
	 * pass unchanged) */
	round_trip(&sp, 0);
	round_trip(&qinq, 0);
}

static void test_uso_udp4_and_udp6_are_cut(void **s)
{
	struct spec u4 = {
		.udp = 1, .payload = 64000, .gso = 1472, .df = 0, .id = 0xffff};
	struct spec u6 = {.udp = 1, .v6 = 1, .payload = 8001, .gso = 1452};
	struct spec uv = {.udp = 1, .vlans = 1, .payload = 3, .gso = 1};

	(void)s;
	round_trip(&u4, 0);
	round_trip(&u6, 0);
	round_trip(&uv, 0);
}

static void test_tcp_at_mtu_9000(void **s)
{
	struct spec sp = {.payload = 65535 - 20 - 32,
			  .gso = 8948,
			  .ts = 1,
			  .flags = 0x18,
			  .df = 1,
			  .seq = 1};
	struct spec sp6 = {.v6 = 1,
			   .payload = 65503,
			   .gso = 8928,
			   .ts = 1,
			   .flags = 0x18,
			   .seq = 1};

	(void)s;
	round_trip(&sp, 8);
	round_trip(&sp6, 8);
}

/* ------------------------------------------------ frames that are refused */

static void expect_refused(const struct virtio_net_hdr *vh, uint8_t *f,
			   size_t len, size_t max, int err)
{
	struct ofl_gso g;

	assert_int_equal(ofl_gso_start(&g, vh, f, len, max), err);
	assert_false(ofl_gso_more(&g));
}

static void test_unknown_gso_type_is_refused(void **s)
{
	static uint8_t f[MAXF];
	struct spec sp = {.payload = 5000, .gso = 1448, .flags = 0x10};
	struct virtio_net_hdr vh;
	size_t len = build(&sp, f, &vh);
	static const uint8_t types[] = {VIRTIO_NET_HDR_GSO_UDP, 2, 6, 7, 0x7f};
	unsigned int i;

	(void)s;
	for (i = 0; i < sizeof(types); i++) {
		vh.gso_type = types[i];
		expect_refused(&vh, f, len, VDE_MAX, -EPROTONOSUPPORT);
	}
	/* a GSO type that does not match the frame */
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	expect_refused(&vh, f, len, VDE_MAX, -EINVAL);
	vh.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	expect_refused(&vh, f, len, VDE_MAX, -EINVAL);
}

static void test_truncated_headers_are_refused(void **s)
{
	static uint8_t f[MAXF];
	struct spec sp = {.payload = 5000, .gso = 1448, .ts = 1, .flags = 0x10};
	struct spec sp6 = {
		.v6 = 1, .payload = 5000, .gso = 1448, .flags = 0x10};
	struct virtio_net_hdr vh;
	size_t len, cutlen;

	(void)s;
	len = build(&sp, f, &vh);
	for (cutlen = 0; cutlen < 14 + 20 + 32; cutlen++)
		assert_true(ofl_gso_start(&(struct ofl_gso){0}, &vh, f, cutlen,
					  VDE_MAX) < 0);
	/* whole headers but an IP length that is not the frame's */
	expect_refused(&vh, f, len - 1, VDE_MAX, -EINVAL);
	len = build(&sp6, f, &vh);
	for (cutlen = 0; cutlen < 14 + 40 + 20; cutlen++)
		assert_true(ofl_gso_start(&(struct ofl_gso){0}, &vh, f, cutlen,
					  VDE_MAX) < 0);
	expect_refused(&vh, f, len - 1, VDE_MAX, -EINVAL);
	/* a TCP data offset beyond the frame */
	len = build(&sp, f, &vh);
	f[34 + 12] = 0xf0;
	expect_refused(&vh, f, 14 + 20 + 40, VDE_MAX, -EINVAL);
	f[34 + 12] = 0x40; /* data offset 16 bytes: invalid */
	expect_refused(&vh, f, len, VDE_MAX, -EINVAL);
}

static void test_inconsistent_frames_are_refused(void **s)
{
	static uint8_t f[MAXF];
	struct spec sp = {.payload = 20000, .gso = 1448, .flags = 0x10};
	struct virtio_net_hdr vh, v;
	size_t len = build(&sp, f, &vh);

	(void)s;
	v = vh;
	v.gso_size = 0;
	expect_refused(&v, f, len, VDE_MAX, -EINVAL);
	v = vh;
	v.csum_start = 30;
	expect_refused(&v, f, len, VDE_MAX, -EINVAL);
	v = vh;
	v.csum_offset = 6;
	expect_refused(&v, f, len, VDE_MAX, -EINVAL);
	/* a segment larger than VDE carries */
	v = vh;
	v.gso_size = 9300;
	expect_refused(&v, f, len, VDE_MAX, -EMSGSIZE);
	expect_refused(&vh, f, len, 1400, -EMSGSIZE);
	/* an IPv4 fragment, IP options beyond the frame, not IP at all */
	f[14 + 6] = 0x20;
	expect_refused(&vh, f, len, VDE_MAX, -EPROTONOSUPPORT);
	f[14 + 6] = 0;
	f[14] = 0x4f;
	expect_refused(&vh, f, 40, VDE_MAX, -EINVAL);
	f[14] = 0x35;
	expect_refused(&vh, f, len, VDE_MAX, -EINVAL);
	f[14] = 0x45;
	f[12] = 0x88;
	f[13] = 0x63; /* PPPoE */
	expect_refused(&vh, f, len, VDE_MAX, -EPROTONOSUPPORT);
	/* three VLAN tags */
	memset(f + 12, 0x81, 1);
	f[13] = 0;
	memcpy(f + 16, "\x81\x00\x00\x01\x81\x00\x00\x02", 8);
	expect_refused(&vh, f, len, VDE_MAX, -EPROTONOSUPPORT);
	/* GRE inside IPv4 with a GSO type */
	len = build(&sp, f, &vh);
	f[14 + 9] = 47;
	expect_refused(&vh, f, len, VDE_MAX, -EPROTONOSUPPORT);
}

static void test_ipv6_extension_headers(void **s)
{
	static uint8_t f[MAXF], g[MAXF];
	struct spec sp = {.v6 = 1, .payload = 4000, .gso = 1000, .flags = 0x10};
	struct virtio_net_hdr vh;
	struct ofl_seg segs[8];
	struct ofl_gso it;
	size_t len = build(&sp, f, &vh), i;
	unsigned int n;

	(void)s;
	/* insert an 8-byte destination options header */
	memcpy(g, f, 54);
	memcpy(g + 62, f + 54, len - 54);
	g[20] = 60;
	g[54] = 6;
	g[55] = 0;
	memset(g + 56, 0, 6);
	g[56] = 1; /* PadN */
	g[57] = 4;
	wr16(g + 18, rd16(f + 18) + 8);
	vh.csum_start += 8;
	len += 8;
	assert_int_equal(ofl_gso_start(&it, &vh, g, len, VDE_MAX), 4);
	n = ofl_gso_next(&it, segs, 8);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++) {
		uint8_t fr[2000];
		size_t l = flatten(&segs[i], fr);

		assert_int_equal(rd16(fr + 18), l - 54);
		assert_memory_equal(fr + 54, g + 54, 8);
		assert_true(ref_l4_ok(fr + 14, 1, 6, fr + 62,
				      (unsigned int)(l - 62)));
	}
	/* a routing header with segments left changes the checksummed
	 * destination: refused */
	g[20] = 43;
	g[54] = 6;
	g[55] = 0;
	g[56] = 0;
	g[57] = 1;
	expect_refused(&vh, g, len, VDE_MAX, -EPROTONOSUPPORT);
	/* a fragment header: refused */
	g[20] = 44;
	expect_refused(&vh, g, len, VDE_MAX, -EPROTONOSUPPORT);
}

static void test_plain_frame_partial_checksum_completed(void **s)
{
	static uint8_t f[MAXF];
	struct spec sp = {.udp = 1, .payload = 999};
	struct spec tp = {.v6 = 1, .payload = 1200, .flags = 0x18};
	struct virtio_net_hdr vh;
	struct ofl_seg seg;
	struct ofl_gso g;
	uint8_t keep[64];
	size_t len;

	(void)s;
	len = build(&sp, f, &vh);
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	vh.gso_size = 0;
	assert_int_equal(ofl_gso_start(&g, &vh, f, len, VDE_MAX), 1);
	assert_int_equal(ofl_gso_next(&g, &seg, 1), 1);
	assert_int_equal(seg.hdr_len, 0);
	assert_ptr_equal(seg.data, f);
	assert_int_equal(seg.len, len);
	assert_true(ref_l4_ok(f + 14, 0, 17, f + 34, (unsigned int)len - 34));
	assert_int_equal(ofl_gso_next(&g, &seg, 1), 0);

	len = build(&tp, f, &vh);
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	assert_int_equal(ofl_gso_start(&g, &vh, f, len, VDE_MAX), 1);
	assert_true(ref_l4_ok(f + 14, 1, 6, f + 54, (unsigned int)len - 54));

	/* a checksum position outside the frame */
	vh.csum_offset = (uint16_t)(len - vh.csum_start - 1);
	expect_refused(&vh, f, len, VDE_MAX, -EINVAL);
	vh.csum_start = (uint16_t)len;
	vh.csum_offset = 0;
	expect_refused(&vh, f, len, VDE_MAX, -EINVAL);
	/* too long for VDE, and a runt */
	vh.flags = 0;
	expect_refused(&vh, f, len, 1000, -EMSGSIZE);
	expect_refused(&vh, f, 13, VDE_MAX, -EINVAL);
	/* a frame without NEEDS_CSUM is left alone */
	len = build(&tp, f, &vh);
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	memcpy(keep, f, 64);
	assert_int_equal(ofl_gso_start(&g, &vh, f, len, VDE_MAX), 1);
	assert_memory_equal(keep, f, 64);
}

/* make the UDP checksum of a frame with NEEDS_CSUM come out as 0 */
static void udp_sum_to_zero(uint8_t *f, size_t len, size_t l3, int v6)
{
	size_t l4 = l3 + (v6 ? 40 : 20);
	uint32_t sum;

	f[len - 2] = f[len - 1] = 0;
	f[l4 + 6] = f[l4 + 7] = 0;
	sum = ref_sum(f + l4, len - l4,
		      ref_pseudo(f + l3, v6, 17, (unsigned int)(len - l4)));
	/* the last word brings the sum to 0xffff: ~sum is 0 */
	wr16(f + len - 2, 0xffff - sum);
	assert_int_equal(
		ref_sum(f + l4, len - l4,
			ref_pseudo(f + l3, v6, 17, (unsigned int)(len - l4))),
		0xffff);
	/* back to a partial sum in the field */
	wr16(f + l4 + 6, ref_pseudo(f + l3, v6, 17, (unsigned int)(len - l4)));
}

static void test_udp_checksum_zero_is_sent_as_ffff(void **s)
{
	static uint8_t f[MAXF];
	struct spec sp = {.udp = 1, .payload = 1000, .gso = 1400};
	struct spec s6 = {.udp = 1, .v6 = 1, .payload = 500, .gso = 500};
	struct virtio_net_hdr vh;
	struct ofl_seg seg;
	struct ofl_gso g;
	uint8_t fr[2000];
	size_t len;

	(void)s;
	/* a plain frame completed in place */
	len = build(&sp, f, &vh);
	udp_sum_to_zero(f, len, 14, 0);
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	assert_int_equal(ofl_gso_start(&g, &vh, f, len, VDE_MAX), 1);
	assert_int_equal(rd16(f + 34 + 6), 0xffff);
	/* a USO frame of one segment */
	len = build(&s6, f, &vh);
	udp_sum_to_zero(f, len, 14, 1);
	assert_int_equal(ofl_gso_start(&g, &vh, f, len, VDE_MAX), 1);
	assert_int_equal(ofl_gso_next(&g, &seg, 1), 1);
	len = flatten(&seg, fr);
	assert_int_equal(rd16(fr + 54 + 6), 0xffff);
	assert_true(ref_l4_ok(fr + 14, 1, 17, fr + 54, (unsigned int)len - 54));
}

/* ------------------------------------------------------- coalescing */

/* Fix the IPv4 header and UDP checksums of a v4 datagram after a change. */
static void udp4_fix(uint8_t *f, size_t len)
{
	f[24] = f[25] = 0;
	wr16(f + 24, (uint16_t)~ref_sum(f + 14, 20, 0));
	f[34 + 6] = f[34 + 7] = 0;
	wr16(f + 34 + 6,
	     (uint16_t)~ref_sum(f + 34, (unsigned int)len - 34,
				ref_pseudo(f + 14, 0, 17,
					   (unsigned int)len - 34)));
}

/* @n segments of one flow, flattened into @fr (malloc'd) */
static unsigned int segments(const struct spec *sp, uint8_t **fr, size_t *lens,
			     unsigned int room)
{
	static uint8_t f[MAXF];
	struct virtio_net_hdr vh;
	size_t len = build(sp, f, &vh);

	return cut(&vh, f, len, VDE_MAX, fr, lens, room);
}

static unsigned int gro_flags(uint8_t **fr, const size_t *lens,
			      unsigned int n, struct ofl_gro_out *out,
			      struct ofl_frame *f, unsigned int flags)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		f[i].data = fr[i];
		f[i].len = (uint32_t)lens[i];
	}
	return ofl_gro(f, n, out, flags);
}

static unsigned int gro_of(uint8_t **fr, const size_t *lens, unsigned int n,
			   struct ofl_gro_out *out, struct ofl_frame *f)
{
	return gro_flags(fr, lens, n, out, f, OFL_GRO_UDP);
}

static void test_gro_interleaved_flows_merge_only_consecutive_runs(void **s)
{
	struct spec a = {.payload = 4 * 1448,
			 .gso = 1448,
			 .flags = 0x10,
			 .df = 1,
			 .seq = 1000};
	struct spec b = a;
	uint8_t *fa[8], *fb[8], *fr[16];
	size_t la[8], lb[8], lens[16];
	struct ofl_gro_out out[16];
	struct ofl_frame f[16];
	unsigned int n;

	(void)s;
	b.v6 = 1;
	assert_int_equal(segments(&a, fa, la, 8), 4);
	assert_int_equal(segments(&b, fb, lb, 8), 4);
	/* a a b b a a b b */
	fr[0] = fa[0], lens[0] = la[0];
	fr[1] = fa[1], lens[1] = la[1];
	fr[2] = fb[0], lens[2] = lb[0];
	fr[3] = fb[1], lens[3] = lb[1];
	fr[4] = fa[2], lens[4] = la[2];
	fr[5] = fa[3], lens[5] = la[3];
	fr[6] = fb[2], lens[6] = lb[2];
	fr[7] = fb[3], lens[7] = lb[3];
	n = gro_of(fr, lens, 8, out, f);
	assert_int_equal(n, 4);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(out[i].first, 2 * i);
		assert_int_equal(out[i].count, 2);
	}
	free_all(fa, 4);
	free_all(fb, 4);
}

static void test_gro_bad_checksum_segment_goes_alone_unchanged(void **s)
{
	struct spec a = {.payload = 6 * 1448,
			 .gso = 1448,
			 .flags = 0x10,
			 .df = 1,
			 .seq = 1000,
			 .ts = 1};
	uint8_t *fr[8], keep[2000];
	size_t lens[8];
	struct ofl_gro_out out[8];
	struct ofl_frame f[8];
	unsigned int n;

	(void)s;
	assert_int_equal(segments(&a, fr, lens, 8), 6);
	fr[2][100] ^= 1; /* payload bit flip in the third */
	memcpy(keep, fr[2], lens[2]);
	n = gro_of(fr, lens, 6, out, f);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].count, 2);
	assert_int_equal(out[1].first, 2);
	assert_int_equal(out[1].count, 1);
	assert_int_equal(out[1].vh.flags, 0);
	assert_memory_equal(fr[2], keep, lens[2]);
	assert_int_equal(out[2].first, 3);
	assert_int_equal(out[2].count, 3);
	free_all(fr, 6);

	/* the first one bad: it goes alone, the others merge */
	assert_int_equal(segments(&a, fr, lens, 8), 6);
	fr[0][14 + 10] ^= 0x40; /* IPv4 header checksum */
	n = gro_of(fr, lens, 6, out, f);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].count, 1);
	assert_int_equal(out[1].count, 5);
	free_all(fr, 6);
}

static void test_gro_refuses_what_it_cannot_reproduce(void **s)
{
	struct spec a = {.payload = 3 * 1448,
			 .gso = 1448,
			 .flags = 0x10,
			 .df = 1,
			 .seq = 1000,
			 .ts = 1};
	struct ofl_gro_out out[8];
	struct ofl_frame f[8];
	uint8_t *fr[8];
	size_t lens[8];
	unsigned int i, k;
	/* byte to change in the second segment, and the delta */
	static const struct {
		size_t off;
		uint8_t x;
	} changes[] = {
		{0, 1},		 /* destination MAC */
		{15, 4},	 /* TOS */
		{22, 1},	 /* TTL */
		{29, 1},	 /* source address */
		{34 + 1, 1},	 /* source port */
		{34 + 7, 1},	 /* sequence number */
		{34 + 11, 1},	 /* ack */
		{34 + 13, 0x02}, /* SYN */
		{34 + 13, 0x20}, /* URG */
		{34 + 13, 0x04}, /* RST */
		{34 + 13, 0x40}, /* ECE */
		{34 + 15, 1},	 /* window */
		{34 + 27, 1},	 /* TSval */
		{34 + 22, 1},	 /* option kind */
		{20, 0x40},	 /* DF */
	};

	(void)s;
	for (k = 0; k < sizeof(changes) / sizeof(*changes); k++) {
		assert_int_equal(segments(&a, fr, lens, 8), 3);
		/* change, then fix both checksums so only the field differs */
		fr[1][changes[k].off] ^= changes[k].x;
		fr[1][24] = fr[1][25] = 0;
		wr16(fr[1] + 24, (uint16_t)~ref_sum(fr[1] + 14, 20, 0));
		fr[1][34 + 16] = fr[1][34 + 17] = 0;
		wr16(fr[1] + 34 + 16,
		     (uint16_t)~ref_sum(
			     fr[1] + 34, (unsigned int)lens[1] - 34,
			     ref_pseudo(fr[1] + 14, 0, 6,
					(unsigned int)lens[1] - 34)));
		assert_true(ref_l4_ok(fr[1] + 14, 0, 6, fr[1] + 34,
				      (unsigned int)lens[1] - 34));
		(void)gro_of(fr, lens, 3, out, f);
		if (out[0].count != 1)
			fail_msg("change %u: first merged with second", k);
		free_all(fr, 3);
	}
	/* a gap in the ids without DF */
	a.df = 0;
	assert_int_equal(segments(&a, fr, lens, 8), 3);
	wr16(fr[1] + 18, rd16(fr[1] + 18) + 1);
	fr[1][24] = fr[1][25] = 0;
	wr16(fr[1] + 24, (uint16_t)~ref_sum(fr[1] + 14, 20, 0));
	(void)gro_of(fr, lens, 3, out, f);
	assert_int_equal(out[0].count, 1);
	free_all(fr, 3);

	/* PSH in the middle, a short one in the middle: the group ends */
	a.df = 1;
	a.payload = 4 * 1448;
	assert_int_equal(segments(&a, fr, lens, 8), 4);
	fr[1][34 + 13] |= 0x08;
	fr[1][34 + 16] = fr[1][34 + 17] = 0;
	wr16(fr[1] + 34 + 16,
	     (uint16_t)~ref_sum(
		     fr[1] + 34, (unsigned int)lens[1] - 34,
		     ref_pseudo(fr[1] + 14, 0, 6, (unsigned int)lens[1] - 34)));
	assert_int_equal(gro_of(fr, lens, 4, out, f), 2);
	assert_int_equal(out[0].count, 2);
	assert_int_equal(out[1].count, 2);
	free_all(fr, 4);

	/* equal sizes, the last one shorter: one super-frame */
	a.gso = 1000;
	a.payload = 2000 + 1448;
	assert_int_equal(segments(&a, fr, lens, 8), 4); /* 1000 1000 1000 448 */
	assert_int_equal(gro_of(fr, lens, 4, out, f), 1);
	assert_int_equal(out[0].count, 4);
	free_all(fr, 4);

	/* a longer segment after a shorter one: the short one ended it */
	a.gso = 1448;
	a.payload = 1000;
	assert_int_equal(segments(&a, fr, lens, 1), 1);
	a.payload = 1448;
	a.seq += 1000;
	assert_int_equal(segments(&a, fr + 1, lens + 1, 1), 1);
	a.seq -= 1000;
	assert_int_equal(gro_of(fr, lens, 2, out, f), 2);
	free_all(fr, 2);

	/* pure ACKs and padded frames go alone */
	a.payload = 0;
	a.gso = 1448;
	for (i = 0; i < 3; i++) {
		assert_int_equal(segments(&a, fr + i, lens + i, 1), 1);
		wr32(fr[i] + 34 + 4, 1000);
	}
	assert_int_equal(gro_of(fr, lens, 3, out, f), 3);
	free_all(fr, 3);
	a.payload = 4;
	for (i = 0; i < 3; i++) {
		assert_int_equal(segments(&a, fr + i, lens + i, 1), 1);
		wr32(fr[i] + 34 + 4, 1000 + 4 * i);
		fr[i][34 + 16] = fr[i][34 + 17] = 0;
		wr16(fr[i] + 34 + 16,
		     (uint16_t)~ref_sum(
			     fr[i] + 34, (unsigned int)lens[i] - 34,
			     ref_pseudo(fr[i] + 14, 0, 6,
					(unsigned int)lens[i] - 34)));
	}
	assert_int_equal(gro_of(fr, lens, 3, out, f), 1);
	ofl_gro_undo(&out[0], f);
	lens[1] += 2; /* Ethernet padding */
	assert_int_equal(gro_of(fr, lens, 3, out, f), 3);
	free_all(fr, 3);
}

static void test_gro_limits_64_segments_and_64k(void **s)
{
	struct spec a = {.payload = 100 * 100,
			 .gso = 100,
			 .flags = 0x10,
			 .df = 1,
			 .seq = 1};
	struct spec b = {.v6 = 1,
			 .payload = 4 * 8948,
			 .gso = 8948,
			 .flags = 0x10,
			 .seq = 1};
	struct ofl_gro_out out[100];
	struct ofl_frame f[100];
	uint8_t *fr[100];
	size_t lens[100];
	unsigned int n;

	(void)s;
	assert_int_equal(segments(&a, fr, lens, 100), 100);
	n = gro_of(fr, lens, 100, out, f);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].count, OFL_GRO_MAX_SEGS);
	assert_int_equal(out[1].count, 100 - OFL_GRO_MAX_SEGS);
	free_all(fr, 100);
	/* 8 segments of 8948: 71584 bytes, more than an IP packet holds */
	assert_int_equal(segments(&b, fr, lens, 100), 4);
	b.seq += 4 * 8948;
	assert_int_equal(segments(&b, fr + 4, lens + 4, 96), 4);
	n = gro_of(fr, lens, 8, out, f);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].count, 7);
	free_all(fr, 8);
}

static void test_gro_without_udp_flag_passes_non_tcp_untouched(void **s)
{
	uint8_t arp[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2,
			   0,	 0,    0,    0,	   1,	 0x08, 0x06};
	struct spec u = {.udp = 1, .payload = 1000, .gso = 1000};
	struct ofl_gro_out out[4];
	struct ofl_frame f[4];
	uint8_t *fr[4], keep[1100];
	size_t lens[4];

	(void)s;
	assert_int_equal(segments(&u, fr, lens, 1), 1);
	assert_int_equal(segments(&u, fr + 1, lens + 1, 1), 1);
	memcpy(keep, fr[0], lens[0]);
	fr[2] = arp;
	lens[2] = sizeof(arp);
	/* in sequence: OFL_GRO_UDP would merge the two */
	wr16(fr[1] + 18, rd16(fr[1] + 18) + 1);
	udp4_fix(fr[1], lens[1]);
	assert_int_equal(gro_flags(fr, lens, 3, out, f, 0), 3);
	assert_memory_equal(fr[0], keep, lens[0]);
	assert_int_equal(out[2].count, 1);
	assert_int_equal(gro_flags(fr, lens, 3, out, f, OFL_GRO_UDP), 2);
	assert_int_equal(out[0].count, 2);
	free_all(fr, 2);
}

static void test_gro_udp_datagrams_coalesce_and_cut_back(void **s)
{
	/* 64-byte datagrams, as a UDP flood sends them; ids wrap */
	struct spec u4 = {.udp = 1, .payload = 64 * 64, .gso = 64,
			  .id = 0xffe0};
	struct spec u4df = {.udp = 1, .payload = 30 * 1472 + 5,
			    .gso = 1472, .df = 1, .id = 7};
	struct spec u6 = {.udp = 1, .v6 = 1, .payload = 7 * 8000 - 1,
			  .gso = 8000};
	struct spec odd = {.udp = 1, .payload = 7 * 333 + 1, .gso = 333,
			   .id = 100};

	(void)s;
	round_trip(&u4, 64);
	round_trip(&u4df, 30);
	round_trip(&u6, 7);
	round_trip(&odd, 8);
}

static void test_gro_udp_refuses_what_it_cannot_reproduce(void **s)
{
	struct spec a = {.udp = 1, .payload = 3 * 500, .gso = 500, .id = 10,
			 .df = 1};
	struct ofl_gro_out out[8];
	struct ofl_frame f[8];
	uint8_t *fr[8], keep[600];
	size_t lens[8];
	unsigned int k;
	static const struct {
		size_t off;
		uint8_t x;
	} changes[] = {
		{6, 1},	     /* source MAC */
		{15, 4},     /* TOS */
		{22, 1},     /* TTL */
		{33, 1},     /* destination address */
		{34 + 1, 1}, /* source port */
		{34 + 3, 1}, /* destination port */
		{19, 1},     /* id out of sequence, DF set: still refused */
		{20, 0x40},  /* DF */
	};

	(void)s;
	assert_int_equal(segments(&a, fr, lens, 8), 3);
	assert_int_equal(gro_of(fr, lens, 3, out, f), 1);
	free_all(fr, 3);
	for (k = 0; k < sizeof(changes) / sizeof(*changes); k++) {
		assert_int_equal(segments(&a, fr, lens, 8), 3);
		fr[1][changes[k].off] ^= changes[k].x;
		udp4_fix(fr[1], lens[1]);
		(void)gro_of(fr, lens, 3, out, f);
		if (out[0].count != 1)
			fail_msg("change %u: first merged with second", k);
		free_all(fr, 3);
	}
	/* a bad checksum: that datagram goes alone and unchanged */
	assert_int_equal(segments(&a, fr, lens, 8), 3);
	fr[1][100] ^= 1;
	memcpy(keep, fr[1], lens[1]);
	assert_int_equal(gro_of(fr, lens, 3, out, f), 3);
	assert_memory_equal(fr[1], keep, lens[1]);
	free_all(fr, 3);
	/* no checksum (0, IPv4): goes alone, the kernel would not check it
	 * and the segmented result would carry one */
	assert_int_equal(segments(&a, fr, lens, 8), 3);
	fr[0][34 + 6] = fr[0][34 + 7] = 0;
	assert_int_equal(gro_of(fr, lens, 3, out, f), 2);
	assert_int_equal(out[0].count, 1);
	assert_int_equal(out[1].count, 2);
	free_all(fr, 3);
	/* a UDP length field shorter than the frame (padding) */
	assert_int_equal(segments(&a, fr, lens, 8), 3);
	wr16(fr[1] + 34 + 4, rd16(fr[1] + 34 + 4) - 2);
	wr16(fr[1] + 16, rd16(fr[1] + 16) - 2);
	lens[1] -= 2;
	udp4_fix(fr[1], lens[1]);
	lens[1] += 2;
	assert_int_equal(gro_of(fr, lens, 3, out, f), 3);
	free_all(fr, 3);
	/* a longer datagram after a shorter one, and an empty one */
	a.payload = 400;
	assert_int_equal(segments(&a, fr, lens, 1), 1);
	a.payload = 500;
	a.id = 11;
	assert_int_equal(segments(&a, fr + 1, lens + 1, 1), 1);
	a.payload = 0;
	a.id = 12;
	assert_int_equal(segments(&a, fr + 2, lens + 2, 1), 1);
	assert_int_equal(gro_of(fr, lens, 3, out, f), 3);
	free_all(fr, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_csum_matches_reference_for_every_length_and_offset),
		cmocka_unit_test(test_csum_adds_up_over_split_buffers),
		cmocka_unit_test(test_tcp4_64k_super_frame_cut_and_coalesced),
		cmocka_unit_test(test_tcp6_64k_super_frame_cut_and_coalesced),
		cmocka_unit_test(test_tcp4_ids_in_sequence_without_df_wrap),
		cmocka_unit_test(test_tcp_odd_sizes),
		cmocka_unit_test(
			test_tcp_fin_psh_only_on_last_cwr_only_on_first),
		cmocka_unit_test(test_vlan_tagged_tcp_is_cut),
		cmocka_unit_test(test_uso_udp4_and_udp6_are_cut),
		cmocka_unit_test(test_tcp_at_mtu_9000),
		cmocka_unit_test(test_unknown_gso_type_is_refused),
		cmocka_unit_test(test_truncated_headers_are_refused),
		cmocka_unit_test(test_inconsistent_frames_are_refused),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_plain_frame_partial_checksum_completed),
		cmocka_unit_test(test_udp_checksum_zero_is_sent_as_ffff),
		cmocka_unit_test(
			test_gro_interleaved_flows_merge_only_consecutive_runs),
		cmocka_unit_test(
			test_gro_bad_checksum_segment_goes_alone_unchanged),
		cmocka_unit_test(test_gro_refuses_what_it_cannot_reproduce),
		cmocka_unit_test(test_gro_limits_64_segments_and_64k),
		cmocka_unit_test(
			test_gro_without_udp_flag_passes_non_tcp_untouched),
		cmocka_unit_test(test_gro_udp_datagrams_coalesce_and_cut_back),
		cmocka_unit_test(
			test_gro_udp_refuses_what_it_cannot_reproduce),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
