// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * macvtap.c - the macvtap backend: the stack joins the LAN of a host interface
 *
 * DOC: Theory of Operation
 *
 * "macvtap://IFNAME[mode=bridge/mac=02:00:00:00:00:01]" gives the stack its
 * own MAC address on the LAN of IFNAME, an interface of the caller's
 * network namespace.  A macvtap on IFNAME receives the frames for that MAC
 * (and broadcasts) on a character device, /dev/tapN; one relay thread
 * moves frames between that device and the stack's TAP.  Both fds speak
 * the virtio-net header with the same size and the same offloads, so a
 * frame read from one is written to the other unchanged: 64 KB TCP
 * super-frames and partial checksums cross whole, nothing is segmented or
 * checksummed in user space.
 *
 * Lifetime: a macvtap is a link, not a file.  Closing /dev/tapN leaves the
 * link in place, and nothing in rtnetlink ties a link to a socket or a
 * process.  The kernel removes it in only three cases: RTM_DELLINK, the
 * removal of IFNAME, and the death of the network namespace the macvtap
 * lives in.  A helper process that deletes it when the application's fds
 * close would work, but it is one more process per stack, it must be in
 * place before the macvtap exists, and it must keep CAP_NET_ADMIN across
 * execve() (which clears it for non-root).  So the macvtap lives
 * in a namespace of its own, the "holder": a network namespace (in a user
 * namespace owned by the caller, so no CAP_SYS_ADMIN is needed) that no
 * process is in and that only two netlink sockets of this backend keep
 * alive.  The macvtap is created directly inside it (RTM_NEWLINK with
 * IFLA_NET_NS_FD; IFLA_LINK still names IFNAME in the caller's namespace,
 * as a container's macvlan does): it never exists anywhere the kernel
 * would not remove it.  When the application dies, however it dies, its
 * fds close, the holder namespace has no reference left and the kernel's
 * namespace cleanup deletes the macvtap (within milliseconds, in a
 * workqueue).  vde_delstack() deletes it itself (RTM_DELLINK), so that
 * it is gone when the call returns: a macvtap still being torn down would
 * make a new stack on IFNAME fail, in passthru mode (which takes IFNAME
 * alone) or with the same MAC (EADDRINUSE).  That costs the caller the
 * kernel's unregistration, 30-50 ms of RCU grace periods.  The holder is
 * invisible from the caller's namespace (no stray interface in "ip link"),
 * and the stack's namespace has only its own interface.
 *
 * A child the application fork()s inherits the holder sockets; one that
 * neither execs (they are O_CLOEXEC) nor exits would keep the macvtap
 * alive after the application's death.  A fork handler closes them (and
 * the macvtap's fd) in every child: a child's copy of a stack has no relay
 * and is only ever freed.
 *
 * The holder namespace is made by a child started like posix_spawn() does
 * (CLONE_VM|CLONE_VFORK on a private stack, here also CLONE_FILES): it
 * creates the two sockets, which land in our fd table, and exits.  Its
 * cost does not grow with the application's size.
 *
 * Finding /dev/tapN: sysfs shows the holder's devices to nobody, but the
 * device-number links in /sys/dev/char are global and their targets name
 * the netdev and "tap<ifindex>".  The ifindex is ours to choose (a random
 * one, so the devtmpfs name /dev/tap<ifindex> is unlikely to be taken), and
 * the node found there is used only if its device number is the one sysfs
 * gave.  Without such a node (no devtmpfs or udev) and with CAP_MKNOD, a
 * node is made in a private directory, opened and unlinked at once.
 *
 * Relay rules (as in tap.c): both fds non-blocking, one thread; a frame
 * the other side cannot take now (EAGAIN: the macvtap socket's send
 * buffer is full) waits, and the thread stops reading the side it came
 * from (backpressure into that queue) until POLLOUT.  The stack's TAP
 * carrier follows the macvtap's (which follows IFNAME's) and goes off for
 * good when the macvtap disappears (IFNAME removed).  The stack's MTU is
 * clamped to the macvtap's, which is IFNAME's: a larger frame would be
 * dropped by IFNAME.  The stack's MAC must be the macvtap's, or the frames
 * the macvtap receives would not be for the stack: a MAC set in the stack
 * is given to the macvtap (in passthru mode, where the macvtap's MAC is
 * IFNAME's, it is put back instead).  The macvtap is IFF_ALLMULTI: its
 * multicast filter knows only groups joined on itself, and the stack's
 * (IPv6 solicited-node groups: neighbour discovery) are joined on the TAP.
 *
 * Kernel behaviours this relies on were checked on Linux 6.1 and 6.18:
 * RTM_NEWLINK with IFLA_NET_NS_FD and IFLA_LINK in the sender's namespace,
 * a chosen ifi_index, the /sys/dev/char link text, an fd of /dev/tapN
 * opened from another namespace, removal with the holder namespace.
 */
#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vdestack_backend.h>

#include "relay_common.h"

/* <linux/if.h> has it but clashes with <net/if.h> */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

#define SCHEME "macvtap://"
#define ETH_ALEN 6
#define ETH_HLEN 14
#define VNET_HDR_LEN ((int)sizeof(struct virtio_net_hdr))
/*
 * One frame with its header.  GSO frames are at most 64 KB unless an
 * administrator raised IFNAME's gso_max_size (BIG TCP); a frame that does
 * not fit is dropped by the kernel's read (EFAULT/EINVAL), never truncated.
 */
#define FRAME_MAX (1 << 17)
#define BURST 64
#define NLBUF 16384
#define HOLDER_STACK (64 * 1024)
#define CREATE_TRIES 8

#define REASON(a, ...) snprintf((a)->reason, VDESTACK_REASON_MAX, __VA_ARGS__)

/**
 * struct mvt_opts - what the VNL and the options string ask for
 * @lower:	IFNAME, the host interface
 * @mode:	MACVLAN_MODE_*
 * @mac:	fixed MAC, valid if @have_mac
 * @have_mac:	a fixed MAC was given
 * @seen_mode:	mode was given (to refuse a conflicting second value)
 * @seen_mac:	mac was given
 */
struct mvt_opts {
	char lower[IFNAMSIZ];
	unsigned int mode;
	unsigned char mac[ETH_ALEN];
	bool have_mac, seen_mode, seen_mac;
};

/**
 * struct mvt_dir - one direction of the relay
 * @from:	fd frames are read from
 * @to:		fd they are written to
 * @pending:	length of a frame in @buf the other side could not take yet
 * @buf:	virtio-net header and frame
 */
struct mvt_dir {
	int from, to;
	size_t pending;
	unsigned char buf[FRAME_MAX];
};

/**
 * struct mvt - one stack's macvtap
 * @tapfd:	the stack's TAP (virtio-net header), non-blocking
 * @mvfd:	the macvtap's /dev/tapN (same header and offloads), non-blocking
 * @evfd:	netlink socket in the holder namespace, RTMGRP_LINK: the
 *		macvtap's carrier, MTU, MAC and removal.  With @reqfd it is
 *		what keeps the holder namespace, hence the macvtap, alive.
 * @reqfd:	netlink socket in the holder namespace for requests
 * @stopfd:	eventfd that stops the relay
 * @watch:	sockets in the stack: SIOC[GS]IF* on its interface, and its
 *		MTU and MAC changes (RTMGRP_LINK)
 * @mvindex:	the macvtap, in the holder namespace
 * @ifname:	the stack's interface name
 * @passthru:	mode passthru: the macvtap's MAC is IFNAME's
 * @gone:	the macvtap was removed (IFNAME deleted): carrier off for good
 * @mtu_max:	the macvtap's MTU, the largest the stack may use
 * @mac:	the macvtap's MAC, which the stack's interface must have
 * @thread:	relay thread
 * @next:	list of live instances, for the fork handler
 * @up:		TAP -> macvtap
 * @down:	macvtap -> TAP
 */
struct mvt {
	int tapfd, mvfd, evfd, reqfd, stopfd;
	struct relay_watch watch;
	int mvindex;
	char ifname[IFNAMSIZ];
	bool passthru, gone;
	unsigned int mtu_max;
	unsigned char mac[ETH_ALEN];
	pthread_t thread;
	struct mvt *next;
	struct relay_counters cnt;
	struct mvt_dir up, down;
};

/**
 * struct mvt_link - what an RTM_NEWLINK message says about a link
 * @index:	ifindex
 * @type:	ARPHRD_*
 * @flags:	IFF_*
 * @mtu:	MTU, 0 if absent
 * @mac:	address, if @has_mac
 * @has_mac:	IFLA_ADDRESS present with ETH_ALEN bytes
 */
struct mvt_link {
	int index;
	unsigned short type;
	unsigned int flags, mtu;
	unsigned char mac[ETH_ALEN];
	bool has_mac;
};

static const struct {
	const char *name;
	unsigned int mode;
} mvt_modes[] = {
	{"bridge", MACVLAN_MODE_BRIDGE},
	{"private", MACVLAN_MODE_PRIVATE},
	{"vepa", MACVLAN_MODE_VEPA},
	{"passthru", MACVLAN_MODE_PASSTHRU},
};

/* ------------------------------------------------------------- options */

/**
 * mvt_parse_mac() - "xx:xx:xx:xx:xx:xx" into 6 bytes
 * @s:		text, not terminated
 * @n:		its length
 * @mac:	result
 *
 * Return: 0, or -EINVAL if it is not a MAC the stack can own (multicast or
 * all zero addresses cannot be a station's).
 */
static int mvt_parse_mac(const char *s, size_t n, unsigned char *mac)
{
	unsigned int i, b[ETH_ALEN];
	char text[18], end;

	if (n != 17)
		return -EINVAL;
	memcpy(text, s, n);
	text[n] = '\0';
	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
		   &b[3], &b[4], &b[5], &end) != ETH_ALEN)
		return -EINVAL;
	for (i = 0; i < ETH_ALEN; i++) {
		if (text[3 * i] == ' ' || text[3 * i + 1] == ' ')
			return -EINVAL;
		mac[i] = (unsigned char)b[i];
	}
	if ((mac[0] & 1) ||
	    !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

/**
 * mvt_opt() - apply one "key=value" item
 * @o:		options so far
 * @item:	the item, not terminated
 * @n:		its length
 * @where:	"VNL" or "options", for messages
 * @reason:	buffer of VDESTACK_REASON_MAX bytes
 *
 * The same key may come from the VNL's brackets and from the options
 * string; two different values are a mistake, not a precedence rule.
 *
 * Return: 0 or -EINVAL with @reason set.
 */
static int mvt_opt(struct mvt_opts *o, const char *item, size_t n,
		   const char *where, char *reason)
{
	const char *eq = memchr(item, '=', n), *v;
	size_t klen, vlen, i;

	if (!eq) {
		snprintf(reason, VDESTACK_REASON_MAX,
			 "%s: '%.*s' is not key=value (keys: mode, mac)", where,
			 (int)(n > 64 ? 64 : n), item);
		return -EINVAL;
	}
	klen = (size_t)(eq - item);
	v = eq + 1;
	vlen = n - klen - 1;
	if (klen == 4 && !memcmp(item, "mode", 4)) {
		for (i = 0; i < sizeof(mvt_modes) / sizeof(mvt_modes[0]); i++)
			if (strlen(mvt_modes[i].name) == vlen &&
			    !memcmp(mvt_modes[i].name, v, vlen))
				break;
		if (i == sizeof(mvt_modes) / sizeof(mvt_modes[0])) {
			snprintf(reason, VDESTACK_REASON_MAX,
				 "%s: mode '%.*s' is not bridge, private, vepa "
				 "or passthru",
				 where, (int)(vlen > 32 ? 32 : vlen), v);
			return -EINVAL;
		}
		if (o->seen_mode && o->mode != mvt_modes[i].mode) {
			snprintf(reason, VDESTACK_REASON_MAX,
				 "mode given twice with different values (VNL "
				 "and options)");
			return -EINVAL;
		}
		o->mode = mvt_modes[i].mode;
		o->seen_mode = true;
		return 0;
	}
	if (klen == 3 && !memcmp(item, "mac", 3)) {
		unsigned char mac[ETH_ALEN];
		bool fixed = !(vlen == 6 && !memcmp(v, "random", 6));

		if (fixed && mvt_parse_mac(v, vlen, mac) < 0) {
			snprintf(reason, VDESTACK_REASON_MAX,
				 "%s: mac '%.*s' is not a unicast address "
				 "xx:xx:xx:xx:xx:xx or 'random'",
				 where, (int)(vlen > 32 ? 32 : vlen), v);
			return -EINVAL;
		}
		if (o->seen_mac && (o->have_mac != fixed ||
				    (fixed && memcmp(o->mac, mac, ETH_ALEN)))) {
			snprintf(reason, VDESTACK_REASON_MAX,
				 "mac given twice with different values (VNL "
				 "and options)");
			return -EINVAL;
		}
		if (fixed)
			memcpy(o->mac, mac, ETH_ALEN);
		o->have_mac = fixed;
		o->seen_mac = true;
		return 0;
	}
	snprintf(reason, VDESTACK_REASON_MAX,
		 "%s: unknown option '%.*s' (keys: mode, mac)", where,
		 (int)(klen > 32 ? 32 : klen), item);
	return -EINVAL;
}

/**
 * mvt_opts_list() - apply a "k=v/k=v" list
 * @o:		options so far
 * @s:		list, not terminated
 * @n:		its length
 * @where:	for messages
 * @reason:	buffer of VDESTACK_REASON_MAX bytes
 * Return: 0 or -EINVAL with @reason set.
 */
static int mvt_opts_list(struct mvt_opts *o, const char *s, size_t n,
			 const char *where, char *reason)
{
	while (n) {
		const char *sl = memchr(s, '/', n);
		size_t len = sl ? (size_t)(sl - s) : n;
		int r;

		if (len) {
			r = mvt_opt(o, s, len, where, reason);
			if (r < 0)
				return r;
		}
		if (!sl)
			break;
		n -= len + 1;
		s = sl + 1;
	}
	return 0;
}

/**
 * mvt_opts_parse() - parse the VNL and the backend options
 * @vdenet:	"macvtap://IFNAME" or "macvtap://IFNAME[k=v/k=v]"
 * @options:	"k=v/k=v" from vde_addstack_opt() or VDESTACK_OPTIONS
 * @o:		result
 * @reason:	buffer of VDESTACK_REASON_MAX bytes
 * Return: 0, -EINVAL or -ENAMETOOLONG with @reason set.
 */
static int mvt_opts_parse(const char *vdenet, const char *options,
			  struct mvt_opts *o, char *reason)
{
	const char *p = vdenet + strlen(SCHEME), *br = strchr(p, '[');
	size_t n = br ? (size_t)(br - p) : strlen(p), i;
	int r;

	memset(o, 0, sizeof(*o));
	o->mode = MACVLAN_MODE_BRIDGE;
	if (strncmp(vdenet, SCHEME, strlen(SCHEME)) || n == 0) {
		snprintf(reason, VDESTACK_REASON_MAX,
			 "no interface: the VNL is macvtap://IFNAME[mode=.../"
			 "mac=...]");
		return -EINVAL;
	}
	if (n >= IFNAMSIZ) {
		snprintf(reason, VDESTACK_REASON_MAX,
			 "interface name '%.32s' is longer than %d characters",
			 p, IFNAMSIZ - 1);
		return -ENAMETOOLONG;
	}
	for (i = 0; i < n; i++)
		if (p[i] == '/' || p[i] == ':' || p[i] <= ' ' || p[i] == 0x7f)
			break;
	if (i < n) {
		snprintf(reason, VDESTACK_REASON_MAX,
			 "'%.*s' is not an interface name", (int)n, p);
		return -EINVAL;
	}
	memcpy(o->lower, p, n);
	o->lower[n] = '\0';
	if (br) {
		const char *end = strchr(br, ']');

		if (!end || end[1]) {
			snprintf(reason, VDESTACK_REASON_MAX,
				 "VNL options must be one [k=v/k=v] at the end "
				 "(got '%.64s')",
				 br);
			return -EINVAL;
		}
		r = mvt_opts_list(o, br + 1, (size_t)(end - br - 1), "VNL",
				  reason);
		if (r < 0)
			return r;
	}
	if (options)
		return mvt_opts_list(o, options, strlen(options), "options",
				     reason);
	return 0;
}

/* ---------------------------------------------------------- privilege */

/**
 * mvt_have_cap() - is @cap in this thread's effective set?
 * @cap:	CAP_*
 * Return: 1 yes, 0 no, -1 unknown (/proc unreadable): then the kernel
 * decides, and its EPERM is explained the same way.
 */
static int mvt_have_cap(unsigned int cap)
{
	/* libcap-ng keeps its state per thread: probe() may run in several */
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process() < 0)
		return -1;
	return capng_have_capability(CAPNG_EFFECTIVE, cap) ? 1 : 0;
}

#define NEED_NET_ADMIN                                                         \
	"needs CAP_NET_ADMIN in the network namespace of the interface (run "  \
	"as root, or give the program the capability: setcap "                 \
	"cap_net_admin+ep PROGRAM)"

static int mvt_probe(char *reason, size_t len)
{
	if (mvt_have_cap(CAP_NET_ADMIN) == 0) {
		snprintf(reason, len, "creating a macvtap " NEED_NET_ADMIN);
		return -EPERM;
	}
	return relay_probe_tun(reason, len);
}

/* ------------------------------------------------------------ netlink */

/*
 * Host sockets are made with the raw system call: when the application
 * has a default stack, the socket() symbol it sees is libvdestack's, which
 * would create them inside that stack.
 */
static int mvt_nl_socket(int flags)
{
	int fd = (int)syscall(SYS_socket, AF_NETLINK,
			      SOCK_RAW | SOCK_CLOEXEC | flags, NETLINK_ROUTE);
	int one = 1;

	if (fd < 0)
		return -errno;
	/* the kernel's own words ("MTU larger than device's") in errors */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	return fd;
}

/**
 * struct mvt_msg - an rtnetlink link request being built
 * @h:		header
 * @ifi:	link header
 * @attrs:	room for attributes (our requests need under 200 bytes)
 */
struct mvt_msg {
	struct nlmsghdr h;
	struct ifinfomsg ifi;
	char attrs[512];
};

static void mvt_msg_init(struct mvt_msg *m, unsigned short type,
			 unsigned short flags, int index)
{
	static _Atomic unsigned int seq;

	memset(m, 0, sizeof(*m));
	m->h.nlmsg_len = NLMSG_LENGTH(sizeof(m->ifi));
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->h.nlmsg_seq = atomic_fetch_add(&seq, 1) + 1;
	m->ifi.ifi_family = AF_UNSPEC;
	m->ifi.ifi_index = index;
}

/* Append an attribute; NULL if it does not fit (cannot happen for ours). */
static struct rtattr *mvt_put(struct mvt_msg *m, unsigned short type,
			      const void *data, size_t len)
{
	struct rtattr *a = (void *)((char *)m + NLMSG_ALIGN(m->h.nlmsg_len));

	if (NLMSG_ALIGN(m->h.nlmsg_len) + RTA_SPACE(len) > sizeof(*m))
		return NULL;
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void mvt_nest_end(struct mvt_msg *m, struct rtattr *nest)
{
	nest->rta_len =
		(unsigned short)((char *)m + m->h.nlmsg_len - (char *)nest);
}

/**
 * mvt_link_parse() - read an RTM_NEWLINK/RTM_DELLINK message
 * @h:		message
 * @l:		result
 */
static void mvt_link_parse(const struct nlmsghdr *h, struct mvt_link *l)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *a;
	int len = (int)IFLA_PAYLOAD(h);

	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	l->type = ifi->ifi_type;
	l->flags = ifi->ifi_flags;
	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= 4)
			memcpy(&l->mtu, RTA_DATA(a), 4);
		if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == ETH_ALEN) {
			memcpy(l->mac, RTA_DATA(a), ETH_ALEN);
			l->has_mac = true;
		}
	}
}

/**
 * mvt_talk() - send a request and wait for its acknowledgement
 * @fd:		netlink socket (blocking, not subscribed to groups)
 * @m:		request
 * @link:	if not NULL, filled from an RTM_NEWLINK reply (RTM_GETLINK)
 * @ext:	if not NULL, the kernel's extended error message ("" if none)
 * @extlen:	its size
 *
 * Return: 0, or -errno of the request (-ENODATA if a GETLINK got no link).
 */
static int mvt_talk(int fd, struct mvt_msg *m, struct mvt_link *link, char *ext,
		    size_t extlen)
{
	char buf[NLBUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool got = false;

	if (ext && extlen)
		ext[0] = '\0';
	if (send(fd, m, m->h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		len = (int)n;
		for (h = (void *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			struct nlmsgerr *e;
			struct rtattr *a;
			int alen;

			if (h->nlmsg_seq != m->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == RTM_NEWLINK && link) {
				mvt_link_parse(h, link);
				got = true;
				continue;
			}
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			e = NLMSG_DATA(h);
			if (e->error == 0)
				return link && !got ? -ENODATA : 0;
			/* extended ack TLVs follow the echoed request header
			 * (the whole request unless NLM_F_CAPPED) */
			if (ext && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
				size_t off = sizeof(*e);

				if (!(h->nlmsg_flags & NLM_F_CAPPED))
					off += e->msg.nlmsg_len -
					       sizeof(e->msg);
				a = (void *)((char *)e + NLMSG_ALIGN(off));
				alen = (int)h->nlmsg_len -
				       (int)((char *)a - (char *)h);
				for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
					if (a->rta_type == NLMSGERR_ATTR_MSG)
						snprintf(ext, extlen, " (%.*s)",
							 (int)RTA_PAYLOAD(a),
							 (char *)RTA_DATA(a));
			}
			return e->error;
		}
	}
}

/**
 * mvt_getlink() - the link @index, or the link named @name
 * @fd:		netlink socket in the link's namespace
 * @index:	ifindex, or 0 to look up @name
 * @name:	name, if @index is 0
 * @l:		result
 * Return: 0 or -errno (-ENODEV: no such link).
 */
static int mvt_getlink(int fd, int index, const char *name, struct mvt_link *l)
{
	struct mvt_msg m;
	uint32_t mask = RTEXT_FILTER_SKIP_STATS;

	mvt_msg_init(&m, RTM_GETLINK, 0, index);
	if (!index)
		mvt_put(&m, IFLA_IFNAME, name, strlen(name) + 1);
	mvt_put(&m, IFLA_EXT_MASK, &mask, sizeof(mask));
	return mvt_talk(fd, &m, l, NULL, 0);
}

/* ---------------------------------------------------- holder namespace */

/**
 * struct mvt_holder - what the holder child reports
 * @ev:		event socket, or -1
 * @req:	request socket, or -1
 * @err:	errno of a failed socket(), 0 if none
 */
struct mvt_holder {
	int ev, req, err;
};

/*
 * Runs in the child, in the new user and network namespaces, on a private
 * stack, sharing memory and the fd table with the suspended parent: it only
 * makes the two sockets, which stay in our fd table.
 */
static int mvt_holder_child(void *arg)
{
	struct mvt_holder *h = arg;

	h->ev = (int)syscall(SYS_socket, AF_NETLINK,
			     SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			     NETLINK_ROUTE);
	if (h->ev < 0) {
		h->err = errno;
		return 0;
	}
	h->req = (int)syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
			      NETLINK_ROUTE);
	if (h->req < 0)
		h->err = errno;
	return 0;
}

/**
 * mvt_holder_open() - make the holder namespace
 * @t:		gets @evfd and @reqfd
 * @a:		for the reason
 *
 * The child's exit signal is 0: the application gets no SIGCHLD, and a
 * waitpid(-1) of the application cannot reap it (only __WALL/__WCLONE do).
 *
 * Return: 0 or -errno with a reason.
 */
static int mvt_holder_open(struct mvt *t, const struct vdestack_backend_args *a)
{
	struct mvt_holder h = {-1, -1, 0};
	sigset_t all, old;
	int one = 1, e = 0;
	char *stack;
	pid_t pid;

	stack = mmap(NULL, HOLDER_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	/* the child must not run the application's signal handlers on the
	 * application's memory */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(mvt_holder_child, stack + HOLDER_STACK,
		    CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_NEWUSER |
			    CLONE_NEWNET,
		    &h);
	if (pid < 0)
		e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid > 0)
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	munmap(stack, HOLDER_STACK);
	if (pid < 0) {
		REASON(a,
		       "cannot create the namespace that holds the macvtap: "
		       "clone: %s%s",
		       strerror(e),
		       e == EPERM || e == ENOSPC
			       ? " (user namespaces disabled? see "
				 "/proc/sys/user/max_user_namespaces)"
			       : "");
		return -e;
	}
	if (h.err) {
		if (h.ev >= 0)
			close(h.ev);
		REASON(a, "cannot open a netlink socket for the macvtap: %s",
		       strerror(h.err));
		return -h.err;
	}
	t->evfd = h.ev;
	t->reqfd = h.req;
	setsockopt(t->reqfd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	return 0;
}

/* ------------------------------------------------------------- macvtap */

/**
 * mvt_delete_link() - remove the macvtap now
 * @t:		holder sockets set, @mvindex created
 *
 * Closing the holder sockets removes it too, but later, in the kernel's
 * namespace cleanup workqueue.
 */
static void mvt_delete_link(struct mvt *t)
{
	struct mvt_msg m;

	mvt_msg_init(&m, RTM_DELLINK, 0, t->mvindex);
	mvt_talk(t->reqfd, &m, NULL, NULL, 0);
}

/**
 * mvt_create_link() - create the macvtap on IFNAME inside the holder
 * @t:		holder sockets set; gets @mvindex, @mac, @mtu_max
 * @o:		options
 * @name:	set to the macvtap's name (in the holder namespace)
 * @a:		for the reason
 * Return: 0 or -errno with a reason.
 */
static int mvt_create_link(struct mvt *t, const struct mvt_opts *o, char *name,
			   const struct vdestack_backend_args *a)
{
	char ext[128];
	struct mvt_link lower, l;
	int fd, nsfd = -1, r, i;
	struct mvt_msg m;

	fd = mvt_nl_socket(0);
	if (fd < 0) {
		REASON(a, "cannot open a netlink socket: %s", strerror(-fd));
		return fd;
	}
	r = mvt_getlink(fd, 0, o->lower, &lower);
	if (r < 0) {
		REASON(a, "%s: %s", o->lower,
		       r == -ENODEV ? "no such interface in this network "
				      "namespace"
				    : strerror(-r));
		goto out;
	}
	if (lower.type != ARPHRD_ETHER || (lower.flags & IFF_LOOPBACK)) {
		REASON(a,
		       "%s is not an Ethernet interface: a macvtap needs "
		       "one (e.g. a NIC, veth or bridge)",
		       o->lower);
		r = -EINVAL;
		goto out;
	}
	/* SIOCGSKNS wants CAP_NET_ADMIN over the holder, which we own */
	nsfd = ioctl(t->evfd, SIOCGSKNS);
	if (nsfd < 0) {
		r = -errno;
		REASON(a, "cannot reach the macvtap's namespace: SIOCGSKNS: %s",
		       strerror(-r));
		goto out;
	}
	for (i = 0; i < CREATE_TRIES; i++) {
		uint32_t rnd[2], mode = o->mode, lidx = (uint32_t)lower.index;
		char node[32];
		struct rtattr *info, *data;
		struct stat st;

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
			r = -errno;
			REASON(a, "getrandom: %s", strerror(-r));
			goto out;
		}
		/*
		 * The ifindex is chosen (a random one, above what hosts
		 * use) because devtmpfs names the node /dev/tap<ifindex>
		 * for every namespace alike; the name is random so that the
		 * /sys/dev/char link is ours alone.
		 */
		t->mvindex = (int)(0x1000000 + rnd[0] % 0x7e000000u);
		snprintf(name, IFNAMSIZ, "mvt%08x", rnd[1]);
		snprintf(node, sizeof(node), "/dev/tap%d", t->mvindex);
		if (stat(node, &st) == 0)
			continue;
		/* NLM_F_EXCL: an existing link with this index in our
		 * namespace must make this fail, never be modified */
		mvt_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
			     t->mvindex);
		/* IFF_ALLMULTI: see the Theory of Operation */
		m.ifi.ifi_flags = IFF_UP | IFF_ALLMULTI;
		m.ifi.ifi_change = IFF_UP | IFF_ALLMULTI;
		mvt_put(&m, IFLA_IFNAME, name, strlen(name) + 1);
		mvt_put(&m, IFLA_LINK, &lidx, sizeof(lidx));
		mvt_put(&m, IFLA_NET_NS_FD, &nsfd, sizeof(nsfd));
		if (o->have_mac)
			mvt_put(&m, IFLA_ADDRESS, o->mac, ETH_ALEN);
		info = mvt_put(&m, IFLA_LINKINFO, NULL, 0);
		mvt_put(&m, IFLA_INFO_KIND, "macvtap", 7);
		data = mvt_put(&m, IFLA_INFO_DATA, NULL, 0);
		if (!mvt_put(&m, IFLA_MACVLAN_MODE, &mode, sizeof(mode))) {
			r = -EMSGSIZE;
			REASON(a, "netlink request too long");
			goto out;
		}
		mvt_nest_end(&m, data);
		mvt_nest_end(&m, info);
		r = mvt_talk(fd, &m, NULL, ext, sizeof(ext));
		if (r != -EEXIST)
			break;
	}
	if (r == -EEXIST || i == CREATE_TRIES) {
		REASON(a, "cannot find a free interface index for the macvtap");
		r = -EEXIST;
		goto out;
	}
	if (r < 0) {
		if (r == -EPERM)
			REASON(a, "cannot create a macvtap on %s: %s", o->lower,
			       NEED_NET_ADMIN);
		else if (r == -EOPNOTSUPP)
			REASON(a, "this kernel has no macvtap (CONFIG_MACVTAP; "
				  "try modprobe macvtap)");
		else if (r == -EINVAL && o->mode == MACVLAN_MODE_PASSTHRU)
			REASON(a,
			       "%s already has a macvlan or macvtap: "
			       "passthru mode needs the interface alone%s",
			       o->lower, ext);
		else if (r == -EINVAL)
			REASON(a,
			       "cannot add a macvtap to %s: it has one in "
			       "passthru mode, which takes it alone (or it "
			       "takes no macvtap)%s",
			       o->lower, ext);
		else if (r == -EADDRINUSE)
			REASON(a,
			       "MAC address already used by another "
			       "macvlan or macvtap on %s%s",
			       o->lower, ext);
		else
			REASON(a, "cannot create a macvtap on %s: %s%s",
			       o->lower, strerror(-r), ext);
		goto out;
	}
	r = mvt_getlink(t->reqfd, t->mvindex, NULL, &l);
	if (r < 0 || !l.has_mac || !l.mtu) {
		r = r < 0 ? r : -EPROTO;
		REASON(a, "cannot read the new macvtap's address and MTU: %s",
		       strerror(-r));
		mvt_delete_link(t);
		goto out;
	}
	memcpy(t->mac, l.mac, ETH_ALEN);
	t->mtu_max = l.mtu;
out:
	if (nsfd >= 0)
		close(nsfd);
	close(fd);
	return r;
}

/**
 * mvt_find_devt() - the device number of the macvtap's character device
 * @name:	macvtap name
 * @index:	macvtap ifindex
 * @devt:	result
 * @a:		for the reason
 *
 * /sys/dev/char/MAJ:MIN links to .../net/<name>/macvtap/tap<index>.
 *
 * Return: 0 or -errno with a reason.
 */
static int mvt_find_devt(const char *name, int index, dev_t *devt,
			 const struct vdestack_backend_args *a)
{
	char want[64], target[512];
	unsigned int maj, min, found = 0;
	struct dirent *de;
	size_t wl;
	DIR *d;

	snprintf(want, sizeof(want), "/net/%s/macvtap/tap%d", name, index);
	wl = strlen(want);
	d = opendir("/sys/dev/char");
	if (!d) {
		int e = errno;

		REASON(a,
		       "cannot read /sys/dev/char: %s (sysfs must be "
		       "mounted to find the macvtap's device)",
		       strerror(e));
		return -e;
	}
	while ((de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, target,
				       sizeof(target) - 1);

		if (n < (ssize_t)wl)
			continue;
		target[n] = '\0';
		if (strcmp(target + n - wl, want) ||
		    sscanf(de->d_name, "%u:%u", &maj, &min) != 2)
			continue;
		*devt = makedev(maj, min);
		found++;
	}
	closedir(d);
	if (found != 1) {
		REASON(a, "%s device of the macvtap in /sys/dev/char",
		       found ? "more than one" : "no");
		return found ? -EEXIST : -ENOENT;
	}
	return 0;
}

/**
 * mvt_mknod_open() - open a node of our own for @devt
 * @devt:	device number
 * @e:		set to the errno of the first failure that explains it
 *
 * In a fresh 0700 directory (nobody else can open or swap the node),
 * unlinked right after open.  /dev first: /tmp may be mounted nodev.
 *
 * Return: fd or -1.
 */
static int mvt_mknod_open(dev_t devt, int *e)
{
	const char *tmp = secure_getenv("TMPDIR");
	const char *dirs[] = {"/dev", tmp && *tmp == '/' ? tmp : "/tmp"};
	unsigned int i;

	*e = 0;
	for (i = 0; i < 2; i++) {
		char dir[256], node[280];
		int fd;

		snprintf(dir, sizeof(dir), "%s/.vdestack-macvtap-XXXXXX",
			 dirs[i]);
		if (!mkdtemp(dir)) {
			if (!*e)
				*e = errno;
			continue;
		}
		snprintf(node, sizeof(node), "%s/tap", dir);
		if (mknod(node, S_IFCHR | 0600, devt) < 0) {
			*e = errno;
			rmdir(dir);
			if (*e == EPERM)
				return -1;
			continue;
		}
		fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			*e = errno;
		unlink(node);
		rmdir(dir);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

/**
 * mvt_open_node() - open the macvtap's character device
 * @index:	macvtap ifindex
 * @devt:	its device number
 * @a:		for the reason
 * Return: fd (non-blocking) or -errno with a reason.
 */
static int mvt_open_node(int index, dev_t devt,
			 const struct vdestack_backend_args *a)
{
	char node[32];
	struct stat st;
	int fd, e = 0, me;

	snprintf(node, sizeof(node), "/dev/tap%d", index);
	fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		/* a node of that name may be another namespace's device */
		if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
		    st.st_rdev == devt)
			return fd;
		close(fd);
		e = EEXIST;
	} else {
		e = errno;
	}
	fd = mvt_mknod_open(devt, &me);
	if (fd >= 0)
		return fd;
	if (e == ENOENT)
		REASON(a,
		       "no device node %s (%u:%u) and cannot make one: %s "
		       "(no devtmpfs or udev on /dev; making a node needs "
		       "CAP_MKNOD)",
		       node, major(devt), minor(devt), strerror(me));
	else
		REASON(a,
		       "cannot open %s: %s, and cannot make a node of its "
		       "own: %s (run as root, or give the program "
		       "CAP_MKNOD, or let udev grant access to /dev/tap*)",
		       node, e == EEXIST ? "another device" : strerror(e),
		       strerror(me));
	if (e == EEXIST)
		return -EACCES;
	return -(e == ENOENT && me ? me : e);
}

/* ----------------------------------------------------------- the stack */

/* SIOCSIFHWADDR on the stack's interface; -errno. */
static int mvt_stack_set_mac(struct mvt *t, const unsigned char *mac)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, ETH_ALEN);
	return ioctl(t->watch.ifsock, SIOCSIFHWADDR, &ifr) < 0 ? -errno : 0;
}

/**
 * mvt_open_tap() - the stack's TAP, configured like the macvtap's fd
 * @t:		gets @tapfd and @watch
 * @a:		args
 * Return: 0 or -errno with a reason.
 */
static int mvt_open_tap(struct mvt *t, const struct vdestack_backend_args *a)
{
	int hdr = VNET_HDR_LEN, r;

	t->tapfd = relay_tap_open(a);
	if (t->tapfd < 0)
		return t->tapfd;
	if (ioctl(t->tapfd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    fcntl(t->tapfd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		REASON(a, "cannot create TAP %s: %s", a->ifname, strerror(-r));
		return r;
	}
	r = relay_watch_open(&t->watch, a);
	if (r < 0 && t->watch.ifsock < 0)
		REASON(a, "cannot open a socket in the stack: %s",
		       strerror(-r));
	else if (r < 0 && t->watch.nlfd < 0)
		REASON(a, "cannot open a netlink socket in the stack: %s",
		       strerror(-r));
	else if (r < 0)
		REASON(a, "cannot watch %s: %s", a->ifname, strerror(-r));
	return r;
}

/**
 * mvt_offload() - the same offloads on both fds
 * @t:		@tapfd and @mvfd open
 *
 * What TUNSETOFFLOAD enables is what the kernel may hand us on that fd;
 * what we write may carry any GSO type the kernel knows.  A frame read
 * from one fd goes to the other unchanged, so each must only produce what
 * the other's kernel side accepts: the largest set both take.  USO exists
 * from Linux 6.2.
 *
 * Return: the offloads set (0 if none).
 */
static unsigned int mvt_offload(struct mvt *t)
{
	static const unsigned int sets[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN |
			TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM,
		0,
	};
	unsigned int i;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (ioctl(t->mvfd, TUNSETOFFLOAD, sets[i]) == 0 &&
		    ioctl(t->tapfd, TUNSETOFFLOAD, sets[i]) == 0)
			return sets[i];
	return 0;
}

/**
 * mvt_macvtap_sync() - follow the macvtap's current state
 * @t:		state
 *
 * Notifications can be stale by the time they are read (and are lost on
 * overflow): whatever they say, the current state is read and applied.
 *
 * Context: relay thread, or create() before it starts.
 */
static void mvt_macvtap_sync(struct mvt *t)
{
	struct mvt_link l;
	int r;

	if (t->gone)
		return;
	r = mvt_getlink(t->reqfd, t->mvindex, NULL, &l);
	if (r == -ENODEV) {
		/* IFNAME was removed, and the macvtap with it */
		t->gone = true;
		relay_set_carrier(t->tapfd, 0);
		return;
	}
	if (r < 0)
		return;
	relay_set_carrier(t->tapfd, !!(l.flags & IFF_LOWER_UP));
	if (l.mtu && l.mtu != t->mtu_max) {
		struct ifreq ifr;

		t->mtu_max = l.mtu;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
		if (ioctl(t->watch.ifsock, SIOCGIFMTU, &ifr) == 0 &&
		    (unsigned int)ifr.ifr_mtu > t->mtu_max)
			relay_set_mtu(&t->watch, t->ifname, t->mtu_max);
	}
	/* passthru: IFNAME's address changed, the macvtap's with it */
	if (l.has_mac && memcmp(l.mac, t->mac, ETH_ALEN)) {
		memcpy(t->mac, l.mac, ETH_ALEN);
		mvt_stack_set_mac(t, t->mac);
	}
}

/**
 * mvt_stack_sync() - apply the rules to the stack interface's current state
 * @t:		state
 *
 * An MTU above the macvtap's is put back; a new MAC is given to the
 * macvtap, or put back if the macvtap cannot take it (passthru, an
 * address another macvlan on IFNAME uses).
 *
 * Context: relay thread.
 */
static void mvt_stack_sync(struct mvt *t)
{
	const unsigned char *mac;
	struct ifreq ifr;
	struct mvt_msg m;
	int r = -EOPNOTSUPP;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	if (ioctl(t->watch.ifsock, SIOCGIFMTU, &ifr) == 0 &&
	    (unsigned int)ifr.ifr_mtu > t->mtu_max)
		relay_set_mtu(&t->watch, t->ifname, t->mtu_max);
	if (ioctl(t->watch.ifsock, SIOCGIFHWADDR, &ifr) < 0)
		return;
	mac = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
	if (!memcmp(mac, t->mac, ETH_ALEN))
		return;
	if (!t->passthru && !t->gone) {
		mvt_msg_init(&m, RTM_NEWLINK, 0, t->mvindex);
		mvt_put(&m, IFLA_ADDRESS, mac, ETH_ALEN);
		r = mvt_talk(t->reqfd, &m, NULL, NULL, 0);
	}
	if (r == 0)
		memcpy(t->mac, mac, ETH_ALEN);
	else
		mvt_stack_set_mac(t, t->mac);
}

/**
 * mvt_events() - read link notifications from @fd, resync if they concern us
 * @t:		state
 * @fd:		@evfd (the holder) or @watch.nlfd (the stack)
 */
static void mvt_events(struct mvt *t, int fd)
{
	char buf[NLBUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	int want = fd == t->evfd ? t->mvindex : t->watch.ifindex;
	bool changed = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) != 0) {
		struct nlmsghdr *h;
		int len = (int)n;

		if (n < 0) {
			if (errno != ENOBUFS)
				break;
			changed = true; /* overflow: something was lost */
			continue;
		}
		for (h = (void *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			const struct ifinfomsg *ifi = NLMSG_DATA(h);

			if ((h->nlmsg_type == RTM_NEWLINK ||
			     h->nlmsg_type == RTM_DELLINK) &&
			    ifi->ifi_index == want)
				changed = true;
		}
	}
	if (!changed)
		return;
	if (fd == t->evfd)
		mvt_macvtap_sync(t);
	else
		mvt_stack_sync(t);
}

/* ------------------------------------------------------------ relay */

/**
 * mvt_flush() - write the pending frame of @d
 * @t:		for counters
 * @d:		direction
 * @to_stack:	direction is macvtap -> TAP
 * Return: 0 written or dropped, -EAGAIN if the other side is still full.
 */
static int mvt_flush(struct mvt *t, struct mvt_dir *d, bool to_stack)
{
	size_t len = d->pending;
	ssize_t n = write(d->to, d->buf, len);

	if (n < 0 && (errno == EAGAIN || errno == ENOBUFS))
		return -EAGAIN;
	d->pending = 0;
	if (n != (ssize_t)len) {
		if (to_stack)
			relay_count(&t->cnt.rx_dropped, 1);
		else
			relay_count(&t->cnt.tx_dropped, 1);
		return 0;
	}
	if (to_stack) {
		relay_count(&t->cnt.rx_frames, 1);
		relay_count(&t->cnt.rx_bytes, len - VNET_HDR_LEN);
	} else {
		relay_count(&t->cnt.tx_frames, 1);
		relay_count(&t->cnt.tx_bytes, len - VNET_HDR_LEN);
	}
	return 0;
}

/**
 * mvt_move() - move up to BURST frames in one direction
 * @t:		state
 * @d:		direction, nothing pending
 * @to_stack:	direction is macvtap -> TAP
 * @drop:	read and drop (the macvtap is gone)
 */
static void mvt_move(struct mvt *t, struct mvt_dir *d, bool to_stack, bool drop)
{
	int i;

	for (i = 0; i < BURST; i++) {
		ssize_t n = read(d->from, d->buf, sizeof(d->buf));

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* too long for the buffer: the kernel dropped it */
			relay_count(&t->cnt.errors, 1);
			continue;
		}
		if (n < VNET_HDR_LEN + ETH_HLEN || drop) {
			if (to_stack)
				relay_count(&t->cnt.rx_dropped, 1);
			else
				relay_count(&t->cnt.tx_dropped, 1);
			continue;
		}
		d->pending = (size_t)n;
		if (mvt_flush(t, d, to_stack) < 0)
			return;
	}
}

static void *mvt_relay(void *arg)
{
	struct mvt *t = arg;

	for (;;) {
		struct pollfd pfd[5] = {
			{.fd = t->stopfd, .events = POLLIN},
			{.fd = t->tapfd,
			 .events = (short)((t->up.pending ? 0 : POLLIN) |
					   (t->down.pending ? POLLOUT : 0))},
			{.fd = t->gone ? -1 : t->mvfd,
			 .events = (short)((t->down.pending ? 0 : POLLIN) |
					   (t->up.pending ? POLLOUT : 0))},
			{.fd = t->evfd, .events = POLLIN},
			{.fd = t->watch.nlfd, .events = POLLIN},
		};

		if (poll(pfd, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[3].revents)
			mvt_events(t, t->evfd);
		if (pfd[4].revents)
			mvt_events(t, t->watch.nlfd);
		if (pfd[2].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			t->gone = true;
			relay_set_carrier(t->tapfd, 0);
		}
		if (t->gone)
			t->down.pending = t->up.pending = 0;
		if (t->down.pending && (pfd[1].revents & POLLOUT))
			mvt_flush(t, &t->down, true);
		if (t->up.pending && (pfd[2].revents & POLLOUT))
			mvt_flush(t, &t->up, false);
		if (!t->down.pending && (pfd[2].revents & POLLIN))
			mvt_move(t, &t->down, true, false);
		if (!t->up.pending && (pfd[1].revents & POLLIN))
			mvt_move(t, &t->up, false, t->gone);
	}
	return NULL;
}

/* --------------------------------------------------------- operations */

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mvt *live;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void mvt_fork_prepare(void)
{
	pthread_mutex_lock(&live_lock);
}

static void mvt_fork_parent(void)
{
	pthread_mutex_unlock(&live_lock);
}

/* In the child: let go of what keeps the macvtaps alive (see the DOC). */
static void mvt_fork_child(void)
{
	struct mvt *t;

	for (t = live; t; t = t->next) {
		close(t->evfd);
		close(t->reqfd);
		if (t->mvfd >= 0)
			close(t->mvfd);
		t->evfd = t->reqfd = t->mvfd = -1;
	}
	live = NULL;
	pthread_mutex_unlock(&live_lock);
}

static void mvt_atfork(void)
{
	pthread_atfork(mvt_fork_prepare, mvt_fork_parent, mvt_fork_child);
}

static void mvt_free(struct mvt *t)
{
	int *fds[] = {&t->tapfd, &t->mvfd, &t->evfd, &t->reqfd, &t->stopfd};
	struct mvt **p;
	unsigned int i;

	pthread_mutex_lock(&live_lock);
	for (p = &live; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	pthread_mutex_unlock(&live_lock);

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	relay_watch_close(&t->watch);
	free(t);
}

static int mvt_create(const struct vdestack_backend_args *a, void **priv)
{
	struct sockaddr_nl snl = {.nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK};
	char name[IFNAMSIZ];
	unsigned int mtu;
	struct mvt_opts o;
	struct mvt *t;
	dev_t devt = 0;
	int r, hdr = VNET_HDR_LEN;
	unsigned int offloads;

	r = mvt_opts_parse(a->vdenet, a->options, &o, a->reason);
	if (r < 0)
		return r;
	if (o.mode == MACVLAN_MODE_PASSTHRU && o.have_mac) {
		REASON(a,
		       "mode passthru takes the MAC of %s: mac= would "
		       "change the address of %s itself",
		       o.lower, o.lower);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->tapfd = t->mvfd = t->evfd = t->reqfd = -1;
	t->watch.nlfd = t->watch.ifsock = -1;
	t->passthru = o.mode == MACVLAN_MODE_PASSTHRU;
	snprintf(t->ifname, sizeof(t->ifname), "%s", a->ifname);
	t->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->stopfd < 0) {
		r = -errno;
		goto out_free;
	}
	r = mvt_open_tap(t, a);
	if (r < 0)
		goto out_free;
	pthread_once(&atfork_once, mvt_atfork);
	/* a fork() from here on must not pass the holder on */
	pthread_mutex_lock(&live_lock);
	r = mvt_holder_open(t, a);
	if (r == 0) {
		t->next = live;
		live = t;
	}
	pthread_mutex_unlock(&live_lock);
	if (r < 0)
		goto out_free;
	r = mvt_create_link(t, &o, name, a);
	if (r < 0)
		goto out_free;
	/* from here on, failures must delete the link (out_link) */
	mtu = a->mtu ? a->mtu : t->mtu_max;
	if (mtu > t->mtu_max) {
		REASON(a,
		       "mtu %u is larger than the MTU of %s (%u): raise "
		       "that first",
		       mtu, o.lower, t->mtu_max);
		r = -EINVAL;
		goto out_link;
	}
	r = mvt_find_devt(name, t->mvindex, &devt, a);
	if (r < 0)
		goto out_link;
	t->mvfd = mvt_open_node(t->mvindex, devt, a);
	if (t->mvfd < 0) {
		r = t->mvfd;
		goto out_link;
	}
	if (ioctl(t->mvfd, TUNSETVNETHDRSZ, &hdr) < 0) {
		r = -errno;
		REASON(a, "macvtap: TUNSETVNETHDRSZ: %s", strerror(-r));
		goto out_link;
	}
	offloads = mvt_offload(t);
	r = mvt_stack_set_mac(t, t->mac);
	if (r == 0)
		r = relay_set_mtu(&t->watch, t->ifname, mtu);
	if (r < 0) {
		REASON(a, "cannot set the MAC and MTU %u of %s: %s", mtu,
		       a->ifname, strerror(-r));
		goto out_link;
	}
	/* subscribe only now: the state read below is the starting point */
	if (bind(t->evfd, (struct sockaddr *)&snl, sizeof(snl)) < 0) {
		r = -errno;
		REASON(a, "cannot watch the macvtap: %s", strerror(-r));
		goto out_link;
	}
	mvt_macvtap_sync(t);
	if (t->gone) {
		REASON(a, "the macvtap vanished (was %s removed?)", o.lower);
		r = -ENODEV;
		goto out_link;
	}
	t->up.from = t->down.to = t->tapfd;
	t->up.to = t->down.from = t->mvfd;

	r = relay_thread_start(&t->thread, mvt_relay, t, NULL);
	if (r < 0) {
		REASON(a, "cannot start the relay thread: %s", strerror(-r));
		goto out_link;
	}
	a->svc->log("macvtap: %s on %s (holder ifindex %d, /dev %u:%u), "
		    "MTU %u, offloads 0x%x",
		    a->ifname, o.lower, t->mvindex, major(devt), minor(devt),
		    mtu, offloads);
	*priv = t;
	return 0;

out_link:
	mvt_delete_link(t);
out_free:
	mvt_free(t);
	return r;
}

static void mvt_destroy(void *priv)
{
	struct mvt *t = priv;

	if (relay_thread_stop(t->stopfd, t->thread) < 0)
		return;
	mvt_delete_link(t);
	mvt_free(t);
}

static int mvt_stats(void *priv, struct vde_stack_stats *st)
{
	struct mvt *t = priv;

	return relay_stats(&t->cnt, st);
}

static const char *const mvt_schemes[] = {"macvtap", NULL};

static const struct vdestack_backend_option mvt_options[] = {
	{"mode", "bridge (default), private, vepa or passthru: how stacks "
		 "on one interface reach each other"},
	{"mac", "xx:xx:xx:xx:xx:xx or random (default, locally "
		"administered): the stack's MAC address"},
	{NULL, NULL},
};

__attribute__((visibility("default")))
const struct vdestack_backend vdestack_backend = {
	.abi = VDESTACK_BACKEND_ABI,
	.size = sizeof(struct vdestack_backend),
	.name = "macvtap",
	.summary = "the stack joins the LAN of a host interface "
		   "(macvtap://IFNAME), its own MAC on it",
	.schemes = mvt_schemes,
	.options = mvt_options,
	.priority = 0,
	.max_mtu = 65535,
	.probe = mvt_probe,
	.create = mvt_create,
	.destroy = mvt_destroy,
	.stats = mvt_stats,
	.prefetch = relay_prefetch,
};
