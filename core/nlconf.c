// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nlconf.c - configuration without ip(8): links, addresses, routes
 *
 * DOC: Theory of Operation
 *
 * Every call asks the stack's agent for one NETLINK_ROUTE socket, as
 * vde_msocket() does, so the socket lives in the stack's network
 * namespace; the call wraps it in a libnl socket and talks rtnetlink from
 * the application's own process.  The application owns the stack's user
 * namespace, so the kernel grants CAP_NET_ADMIN over that namespace's
 * links and routes even to an unprivileged caller.  Nothing forks, nothing
 * execs, nothing is shared between calls: each call has its socket and its
 * state on its own stack frame, so calls on different stacks, or on one
 * stack from several threads, run concurrently (the kernel serialises the
 * changes).
 *
 * libnl turns the kernel's answer into its own error codes, and loses
 * information on the way (ENETUNREACH becomes NLE_FAILURE).  So an error
 * callback records the errno of the kernel's NLMSG_ERROR, and its extended
 * ack message ("Nexthop has invalid gateway") when the kernel sends one,
 * and nlc_errno() prefers that to libnl's code.  That function is the only
 * place where libnl codes become errno.
 *
 * Inside this file functions return 0 (or a result) or -errno and set the
 * thread's message where the failure is understood; the public functions
 * only move -errno into errno.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "stack.h"

/* Largest number of ip= (and of ip6=) items in one vde_stack_config(). */
#define NLC_MAX_ADDRS 16

/* Longest configuration string accepted by vde_stack_config(). */
#define NLC_CONFIG_MAX 4096

/* A dump interrupted by a concurrent change is retried this many times. */
#define NLC_DUMP_TRIES 5

/**
 * struct nlconf - one call's netlink conversation
 * @stack:	the stack
 * @sk:		libnl socket on a NETLINK_ROUTE fd inside the stack
 * @kerr:	positive errno of the last NLMSG_ERROR from the kernel, 0 if
 *		the last request got none
 * @kmsg:	its extended ack message, "" if none
 */
struct nlconf {
	struct vdestack *stack;
	struct nl_sock *sk;
	int kerr;
	char kmsg[128];
};

/**
 * struct nlc_addr - a parsed IPv4 or IPv6 address with a prefix length
 * @family:	AF_INET or AF_INET6
 * @bytes:	the address, network order (4 or 16 bytes used)
 * @prefixlen:	prefix length; the full length if none was written
 * @has_prefix:	a "/N" was written
 */
struct nlc_addr {
	int family;
	unsigned char bytes[16];
	unsigned int prefixlen;
	bool has_prefix;
};

/**
 * nlc_alen() - length in bytes of an address of a family
 * @family:	AF_INET or AF_INET6
 *
 * Return: 4 or 16.
 */
static size_t nlc_alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

/**
 * nlc_errno() - the errno for a failed libnl call
 * @c:		the call's state (kernel errno recorded by nlc_ack_err())
 * @nlerr:	libnl's return value, negative
 *
 * The kernel's own errno wins when the failure was an NLMSG_ERROR: libnl
 * folds many errnos into NLE_FAILURE.  Otherwise libnl's code is mapped
 * back to the errno it most likely came from.
 *
 * Return: a positive errno.
 */
static int nlc_errno(const struct nlconf *c, int nlerr)
{
	static const int map[] = {
		[NLE_SUCCESS] = 0,
		[NLE_FAILURE] = EIO,
		[NLE_INTR] = EINTR,
		[NLE_BAD_SOCK] = EBADF,
		[NLE_AGAIN] = EAGAIN,
		[NLE_NOMEM] = ENOMEM,
		[NLE_EXIST] = EEXIST,
		[NLE_INVAL] = EINVAL,
		[NLE_RANGE] = ERANGE,
		[NLE_MSGSIZE] = EMSGSIZE,
		[NLE_OPNOTSUPP] = EOPNOTSUPP,
		[NLE_AF_NOSUPPORT] = EAFNOSUPPORT,
		[NLE_OBJ_NOTFOUND] = ENOENT,
		[NLE_NOATTR] = ENOENT,
		[NLE_MISSING_ATTR] = EINVAL,
		[NLE_AF_MISMATCH] = EINVAL,
		[NLE_SEQ_MISMATCH] = EPROTO,
		[NLE_MSG_OVERFLOW] = EMSGSIZE,
		[NLE_MSG_TRUNC] = EMSGSIZE,
		[NLE_NOADDR] = EADDRNOTAVAIL,
		[NLE_SRCRT_NOSUPPORT] = EOPNOTSUPP,
		[NLE_MSG_TOOSHORT] = EPROTO,
		[NLE_MSGTYPE_NOSUPPORT] = EOPNOTSUPP,
		[NLE_OBJ_MISMATCH] = EINVAL,
		[NLE_NOCACHE] = ENOENT,
		[NLE_BUSY] = EBUSY,
		[NLE_PROTO_MISMATCH] = EPROTONOSUPPORT,
		[NLE_NOACCESS] = EACCES,
		[NLE_PERM] = EPERM,
		[NLE_PKTLOC_FILE] = ENOENT,
		[NLE_PARSE_ERR] = EINVAL,
		[NLE_NODEV] = ENODEV,
		[NLE_IMMUTABLE] = EPERM,
		[NLE_DUMP_INTR] = EAGAIN,
		[NLE_ATTRSIZE] = EINVAL,
	};
	unsigned int i = nlerr < 0 ? (unsigned int)-nlerr : (unsigned int)nlerr;

	if (c->kerr)
		return c->kerr;
	if (i < sizeof(map) / sizeof(map[0]) && map[i])
		return map[i];
	return EIO;
}

/**
 * nlc_fail() - set the thread's message for a failure and return it
 * @c:		the call's state (its kernel message is appended), or NULL
 * @err:	-errno
 * @fmt:	what was being done, printf format
 *
 * The message reads "<what>: <strerror> (<kernel's explanation>)".
 *
 * Return: @err, for "return nlc_fail(...)".
 */
static int __attribute__((format(printf, 3, 4)))
nlc_fail(const struct nlconf *c, int err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c && c->kmsg[0])
		vs_set_errmsg("%s: %s (kernel: %s)", what, strerror(-err),
			      c->kmsg);
	else
		vs_set_errmsg("%s: %s", what, strerror(-err));
	return err;
}

/**
 * nlc_nlfail() - nlc_fail() for a libnl return value
 * @c:		the call's state
 * @nlerr:	negative libnl code
 * @fmt:	what was being done, printf format
 *
 * Return: -errno (see nlc_errno()).
 */
static int __attribute__((format(printf, 3, 4)))
nlc_nlfail(const struct nlconf *c, int nlerr, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return nlc_fail(c, -nlc_errno(c, nlerr), "%s", what);
}

/**
 * nlc_bad() - set the message for malformed input
 * @fmt:	what is wrong and what was expected, printf format
 *
 * Return: -EINVAL.
 */
static int __attribute__((format(printf, 1, 2))) nlc_bad(const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	vs_set_errmsg("%s", what);
	return -EINVAL;
}

/**
 * nlc_ack_err() - libnl error callback: remember what the kernel said
 * @nla:	sender (the kernel)
 * @e:		the NLMSG_ERROR payload
 * @arg:	struct nlconf of the call
 *
 * libnl hands over only the payload; it sits right after its header in the
 * receive buffer, which is how the header, and the extended ack attributes
 * that follow the payload, are found.
 *
 * Return: NL_STOP, so libnl ends the request with an error.
 */
static int nlc_ack_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *h = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlconf *c = arg;
	struct nlattr *msg;
	size_t off;

	c->kerr = e->error < 0 ? -e->error : e->error;
	c->kmsg[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	off = NLMSG_HDRLEN + sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
		/* the whole request is echoed before the attributes */
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return NL_STOP;
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	}
	if (off >= h->nlmsg_len)
		return NL_STOP;
	msg = nla_find((struct nlattr *)((char *)h + off),
		       (int)(h->nlmsg_len - off), NLMSGERR_ATTR_MSG);
	if (msg && nla_len(msg) > 0)
		snprintf(c->kmsg, sizeof(c->kmsg), "%.*s", nla_len(msg),
			 (const char *)nla_data(msg));
	return NL_STOP;
}

/**
 * nlc_reset() - forget the kernel's answer to the previous request
 * @c:		the call's state
 */
static void nlc_reset(struct nlconf *c)
{
	c->kerr = 0;
	c->kmsg[0] = '\0';
}

/**
 * nlc_close() - release what nlc_open() took (also a half-done one)
 * @c:		the call's state
 */
static void nlc_close(struct nlconf *c)
{
	/* nl_socket_free() closes the fd too. */
	nl_socket_free(c->sk);
	c->sk = NULL;
	if (c->stack)
		vs_stack_put(c->stack);
	c->stack = NULL;
}

/**
 * nlc_open() - a libnl socket inside the stack
 * @c:		the call's state, filled in
 * @stack:	the stack
 *
 * Holds a reference on @stack until nlc_close(): vde_delstack() waits for
 * the call instead of freeing what it reads.
 *
 * Return: 0, or -errno with the message set.
 */
static int nlc_open(struct nlconf *c, struct vdestack *stack)
{
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	int one = 1;
	int fd, err;

	memset(c, 0, sizeof(*c));
	if (!stack)
		return nlc_bad("no stack given");
	err = vs_stack_get(stack);
	if (err < 0)
		return nlc_fail(NULL, err, "the stack is being deleted");
	c->stack = stack;

	fd = vs_msocket(stack, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
			NETLINK_ROUTE);
	if (fd < 0) {
		err = nlc_fail(NULL, fd,
			       "cannot open a netlink socket in the stack");
		goto fail;
	}
	/*
	 * Bind to port 0 so that the kernel picks a port id unique in the
	 * stack's namespace: libnl's own allocator hands out ids from a
	 * process-wide table, and an unbound fd would leave libnl believing
	 * its port is 0 and releasing someone else's table entry on free.
	 */
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		err = nlc_fail(NULL, -errno, "cannot bind the netlink socket");
		close(fd);
		goto fail;
	}
	/* Best effort: older kernels explain less, nothing else changes. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	c->sk = nl_socket_alloc();
	if (!c->sk) {
		close(fd);
		err = nlc_fail(NULL, -ENOMEM, "cannot allocate a libnl socket");
		goto fail;
	}
	err = nl_socket_set_fd(c->sk, NETLINK_ROUTE, fd);
	if (err < 0) {
		close(fd);
		err = nlc_nlfail(c, err, "cannot set up the netlink socket");
		goto fail;
	}
	nl_socket_modify_err_cb(c->sk, NL_CB_CUSTOM, nlc_ack_err, c);
	return 0;
fail:
	nlc_close(c);
	return err;
}

/**
 * nlc_ret() - the public convention: 0 or -1 with errno
 * @err:	0, a non-negative result, or -errno
 *
 * Return: @err if not negative, else -1 with errno set to -@err.
 */
static int nlc_ret(int err)
{
	if (err >= 0)
		return err;
	errno = -err;
	return -1;
}

/**
 * nlc_own_ifname() - the interface of the stack itself
 * @stack:	the stack
 *
 * Return: its name, or NULL for a stack without network.
 */
static const char *nlc_own_ifname(struct vdestack *stack)
{
	/* A stack without backend has a name but no interface. */
	if (!stack->be || !stack->ifname[0])
		return NULL;
	return stack->ifname;
}

/**
 * nlc_resolve() - the interface a call is about
 * @c:		the call's state
 * @ifname:	name given by the caller, NULL for the stack's interface
 * @name:	set to the name actually used
 *
 * Return: 0, or -ENODEV / -EINVAL with the message set.
 */
static int nlc_resolve(struct nlconf *c, const char *ifname, const char **name)
{
	if (!ifname) {
		ifname = nlc_own_ifname(c->stack);
		if (!ifname)
			return nlc_fail(NULL, -ENODEV,
					"the stack has no interface (name "
					"one, e.g. \"lo\")");
	}
	/* Like if_nametoindex(3): a name that cannot exist does not. */
	if (!ifname[0] || strlen(ifname) >= IFNAMSIZ)
		return nlc_fail(NULL, -ENODEV, "interface \"%.*s\"",
				IFNAMSIZ + 8, ifname);
	*name = ifname;
	return 0;
}

/**
 * nlc_link_get() - fetch an interface from the kernel
 * @c:		the call's state
 * @name:	interface name (checked by nlc_resolve())
 * @link:	set to the link; the caller puts it with rtnl_link_put()
 *
 * Return: 0, or -errno (-ENODEV if there is no such interface).
 */
static int nlc_link_get(struct nlconf *c, const char *name,
			struct rtnl_link **link)
{
	int err;

	nlc_reset(c);
	err = rtnl_link_get_kernel(c->sk, 0, name, link);
	if (err < 0)
		return nlc_nlfail(c, err, "interface \"%s\"", name);
	return 0;
}

/**
 * nlc_ifindex() - index of an interface of the stack
 * @c:		the call's state
 * @ifname:	name, NULL for the stack's interface
 * @name:	if not NULL, set to the name used
 *
 * Return: the index (> 0), or -errno.
 */
static int nlc_ifindex(struct nlconf *c, const char *ifname, const char **name)
{
	struct rtnl_link *link;
	const char *n;
	int err, index;

	err = nlc_resolve(c, ifname, &n);
	if (err < 0)
		return err;
	err = nlc_link_get(c, n, &link);
	if (err < 0)
		return err;
	index = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	if (name)
		*name = n;
	return index;
}

/**
 * nlc_link_change() - apply a change to an interface
 * @c:		the call's state
 * @name:	interface name
 * @changes:	link object carrying only the attributes to change
 * @what:	description for the message ("set MTU 9000")
 *
 * Return: 0, or -errno.
 */
static int nlc_link_change(struct nlconf *c, const char *name,
			   struct rtnl_link *changes, const char *what)
{
	struct rtnl_link *link;
	int err;

	err = nlc_link_get(c, name, &link);
	if (err < 0)
		return err;
	nlc_reset(c);
	err = rtnl_link_change(c->sk, link, changes, 0);
	rtnl_link_put(link);
	if (err < 0)
		return nlc_nlfail(c, err, "%s: cannot %s", name, what);
	return 0;
}

/**
 * nlc_link_set() - bring an interface up or down
 * @c:		the call's state
 * @ifname:	name, NULL for the stack's interface
 * @up:		non-zero for up
 *
 * Return: 0, or -errno.
 */
static int nlc_link_set(struct nlconf *c, const char *ifname, int up)
{
	struct rtnl_link *changes;
	const char *name;
	int err;

	err = nlc_resolve(c, ifname, &name);
	if (err < 0)
		return err;
	changes = rtnl_link_alloc();
	if (!changes)
		return nlc_fail(NULL, -ENOMEM, "%s: link change", name);
	if (up)
		rtnl_link_set_flags(changes, IFF_UP);
	else
		rtnl_link_unset_flags(changes, IFF_UP);
	err = nlc_link_change(c, name, changes,
			      up ? "bring the link up" : "bring the link down");
	rtnl_link_put(changes);
	return err;
}

/**
 * nlc_mtu_check() - check an MTU against what the backend carries
 * @c:		the call's state
 * @name:	interface name
 * @mtu:	the MTU
 *
 * The kernel knows the limits of the device, not of what is behind it: a
 * TAP accepts 65535 while a VDE network carries 9216-byte frames, and
 * larger ones would be truncated silently.  So the backend's limit is
 * checked here for the stack's own interface.
 *
 * Return: 0, or -EINVAL with the message set.
 */
static int nlc_mtu_check(struct nlconf *c, const char *name, unsigned int mtu)
{
	const struct vdestack_backend *be = c->stack->be;
	const char *own = nlc_own_ifname(c->stack);

	if (be && be->max_mtu && own && !strcmp(name, own) && mtu > be->max_mtu)
		return nlc_bad("%s: MTU %u is above %u, the largest the %s "
			       "backend carries",
			       name, mtu, be->max_mtu, be->name);
	return 0;
}

/**
 * nlc_set_mtu() - set the MTU of an interface
 * @c:		the call's state
 * @ifname:	name, NULL for the stack's interface
 * @mtu:	new MTU
 *
 * Return: 0, or -errno (-EINVAL for an MTU out of range).
 */
static int nlc_set_mtu(struct nlconf *c, const char *ifname, unsigned int mtu)
{
	struct rtnl_link *changes;
	const char *name;
	char what[32];
	int err;

	err = nlc_resolve(c, ifname, &name);
	if (err < 0)
		return err;
	err = nlc_mtu_check(c, name, mtu);
	if (err < 0)
		return err;
	changes = rtnl_link_alloc();
	if (!changes)
		return nlc_fail(NULL, -ENOMEM, "%s: link change", name);
	rtnl_link_set_mtu(changes, mtu);
	snprintf(what, sizeof(what), "set MTU %u", mtu);
	err = nlc_link_change(c, name, changes, what);
	rtnl_link_put(changes);
	return err;
}

/**
 * nlc_parse_mac() - parse "02:00:00:00:00:01"
 * @s:		string: six hex octets of one or two digits separated by ':'
 * @mac:	the address
 *
 * Return: 0, or -EINVAL.
 */
static int nlc_parse_mac(const char *s, unsigned char mac[6])
{
	static const char hex[] = "0123456789abcdef";
	int i, digits;

	for (i = 0; i < 6; i++) {
		unsigned int v = 0;
		const char *d;

		for (digits = 0; digits < 2 && *s; digits++, s++) {
			d = strchr(hex, tolower((unsigned char)*s));
			if (!d)
				break;
			v = v * 16 + (unsigned int)(d - hex);
		}
		if (!digits)
			return -EINVAL;
		mac[i] = (unsigned char)v;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

/**
 * nlc_set_mac() - set the hardware address of an interface
 * @c:		the call's state
 * @ifname:	name, NULL for the stack's interface
 * @mac:	"02:00:00:00:00:01"
 *
 * Return: 0, or -errno (-EINVAL for a malformed string; the kernel's
 * -EADDRNOTAVAIL for a multicast or all-zero address).
 */
static int nlc_set_mac(struct nlconf *c, const char *ifname, const char *mac)
{
	struct rtnl_link *changes;
	unsigned char hw[6];
	struct nl_addr *addr;
	const char *name;
	int err;

	if (!mac || nlc_parse_mac(mac, hw) < 0)
		return nlc_bad("MAC address \"%.40s\": malformed (want "
			       "02:00:00:00:00:01)",
			       mac ? mac : "(null)");
	err = nlc_resolve(c, ifname, &name);
	if (err < 0)
		return err;
	changes = rtnl_link_alloc();
	addr = nl_addr_build(AF_LLC, hw, sizeof(hw));
	if (!changes || !addr) {
		nl_addr_put(addr);
		rtnl_link_put(changes);
		return nlc_fail(NULL, -ENOMEM, "%s: link change", name);
	}
	rtnl_link_set_addr(changes, addr);
	err = nlc_link_change(c, name, changes, "set the MAC address");
	nl_addr_put(addr);
	rtnl_link_put(changes);
	return err;
}

/**
 * nlc_parse_addr() - parse "ADDR" or "ADDR/PREFIX", IPv4 or IPv6
 * @s:		string
 * @a:		result
 * @why:	set to what is wrong, on failure
 *
 * The prefix is decimal without sign, at most 32 (IPv4) or 128 (IPv6).
 *
 * Return: 0, or -EINVAL.
 */
static int nlc_parse_addr(const char *s, struct nlc_addr *a, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	unsigned long plen;
	size_t len;
	char *end;

	*why = "not an IPv4 or IPv6 address";
	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	len = slash ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->bytes) == 1)
		a->family = AF_INET6;
	else
		return -EINVAL;
	a->prefixlen = (unsigned int)nlc_alen(a->family) * 8;
	if (!slash)
		return 0;
	*why = "the prefix length is not a number";
	if (!isdigit((unsigned char)slash[1]))
		return -EINVAL;
	errno = 0;
	plen = strtoul(slash + 1, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (plen > a->prefixlen) {
		*why = a->family == AF_INET ? "the prefix length is above 32"
					    : "the prefix length is above 128";
		return -EINVAL;
	}
	a->prefixlen = (unsigned int)plen;
	a->has_prefix = true;
	return 0;
}

/**
 * nlc_nladdr() - libnl address for a parsed address
 * @a:		parsed address
 *
 * Return: a new reference (nl_addr_put() it), or NULL if out of memory.
 */
static struct nl_addr *nlc_nladdr(const struct nlc_addr *a)
{
	struct nl_addr *n =
		nl_addr_build(a->family, a->bytes, nlc_alen(a->family));

	if (n)
		nl_addr_set_prefixlen(n, (int)a->prefixlen);
	return n;
}

/**
 * nlc_addr_change() - add or delete an address on an interface
 * @c:		the call's state
 * @ifname:	name, NULL for the stack's interface
 * @cidr:	"10.0.0.1/24" or "fd00::1/64"
 * @add:	true to add, false to delete
 *
 * IPv4 addresses of a prefix up to /30 get the broadcast address of their
 * subnet, as `ip addr add ... brd +` does.  IPv6 addresses are added without
 * duplicate address detection (nodad): they are usable at once, where DAD
 * would leave them "tentative" for a second or more, during which bind()
 * and connect() from them fail.  Unique addresses on a virtual network are
 * the configuration's job.
 *
 * Return: 0, or -errno (-EINVAL for a malformed @cidr, -EEXIST for an
 * address already there, -EADDRNOTAVAIL for deleting one that is not).
 */
static int nlc_addr_change(struct nlconf *c, const char *ifname,
			   const char *cidr, bool add)
{
	struct nl_addr *local = NULL, *brd = NULL;
	struct rtnl_addr *ra = NULL;
	struct nlc_addr a;
	const char *name, *why;
	int index, err;

	if (nlc_parse_addr(cidr, &a, &why) < 0)
		return nlc_bad("address \"%.60s\": %s (want 10.0.0.1/24 or "
			       "fd00::1/64)",
			       cidr ? cidr : "(null)", why);
	index = nlc_ifindex(c, ifname, &name);
	if (index < 0)
		return index;

	ra = rtnl_addr_alloc();
	local = nlc_nladdr(&a);
	if (!ra || !local) {
		err = nlc_fail(NULL, -ENOMEM, "%s: address %s", name, cidr);
		goto out;
	}
	rtnl_addr_set_ifindex(ra, index);
	rtnl_addr_set_family(ra, a.family);
	err = rtnl_addr_set_local(ra, local);
	if (err < 0) {
		err = nlc_nlfail(c, err, "%s: address %s", name, cidr);
		goto out;
	}
	rtnl_addr_set_prefixlen(ra, (int)a.prefixlen);

	if (add && a.family == AF_INET && a.prefixlen <= 30) {
		struct nlc_addr b = a;
		unsigned int i;

		for (i = a.prefixlen; i < 32; i++)
			b.bytes[i / 8] |= (unsigned char)(0x80 >> (i % 8));
		brd = nl_addr_build(AF_INET, b.bytes, 4);
		if (!brd) {
			err = nlc_fail(NULL, -ENOMEM, "%s: address %s", name,
				       cidr);
			goto out;
		}
		rtnl_addr_set_broadcast(ra, brd);
	}
	if (add && a.family == AF_INET6)
		rtnl_addr_set_flags(ra, IFA_F_NODAD);

	nlc_reset(c);
	if (add)
		err = rtnl_addr_add(c->sk, ra, NLM_F_EXCL);
	else
		err = rtnl_addr_delete(c->sk, ra, 0);
	if (err < 0)
		err = nlc_nlfail(c, err, "%s: cannot %s address %s", name,
				 add ? "add" : "delete", cidr);
out:
	nl_addr_put(brd);
	nl_addr_put(local);
	rtnl_addr_put(ra);
	return err;
}

/**
 * nlc_parse_dst() - parse a route destination
 * @dst:	"default" (IPv4, or IPv6 if @gw is IPv6), "default6",
 *		"NET/PREFIX", or an address alone (a host route)
 * @gw:		gateway or NULL, already parsed into @g when not NULL
 * @g:		parsed gateway, or NULL
 * @d:		result
 *
 * Return: 0, or -EINVAL with the message set.
 */
static int nlc_parse_dst(const char *dst, const struct nlc_addr *g,
			 struct nlc_addr *d)
{
	const char *why;
	size_t alen;
	unsigned int i;

	if (!dst)
		return nlc_bad("no route destination given");
	if (!strcmp(dst, "default") || !strcmp(dst, "default6")) {
		memset(d, 0, sizeof(*d));
		d->family = dst[7] == '6' ? AF_INET6 : AF_INET;
		if (g && dst[7] != '6')
			d->family = g->family;
		d->has_prefix = true;
		return 0;
	}
	if (nlc_parse_addr(dst, d, &why) < 0)
		return nlc_bad("route destination \"%.60s\": %s (want default, "
			       "default6, 10.1.0.0/16 or fd01::/64)",
			       dst, why);
	/* The kernel says "invalid prefix"; say which bits are wrong. */
	alen = nlc_alen(d->family);
	for (i = d->prefixlen; i < alen * 8; i++)
		if (d->bytes[i / 8] & (0x80 >> (i % 8)))
			return nlc_bad("route destination %s has host bits "
				       "set beyond /%u",
				       dst, d->prefixlen);
	return 0;
}

/**
 * nlc_route_delete() - send a route deletion that matches any scope
 * @c:		the call's state
 * @route:	the route to match
 *
 * libnl always fills in a scope, guessed when unset (link without a
 * gateway, universe with one), and the kernel matches IPv4 routes on it:
 * "10.1.0.0/16" without a gateway would not find the route added with
 * one.  RT_SCOPE_NOWHERE in the request is the kernel's "any scope", the
 * same ip(8) sends.
 *
 * Return: 0, or a negative libnl code.
 */
static int nlc_route_delete(struct nlconf *c, struct rtnl_route *route)
{
	struct nl_msg *msg;
	struct rtmsg *rtm;
	int err;

	err = rtnl_route_build_del_request(route, 0, &msg);
	if (err < 0)
		return err;
	rtm = nlmsg_data(nlmsg_hdr(msg));
	rtm->rtm_scope = RT_SCOPE_NOWHERE;
	/* nl_send_sync() frees @msg. */
	return nl_send_sync(c->sk, msg);
}

/**
 * nlc_route_change() - add or delete a route in the main table
 * @c:		the call's state
 * @dst:	see nlc_parse_dst()
 * @gw:		gateway address, or NULL for a route on the link
 * @ifname:	interface, NULL for the stack's interface (on a stack without
 *		interface: none, the kernel picks it from @gw)
 * @add:	true to add, false to delete
 *
 * Deletion matches any protocol, scope and metric, like `ip route del`.
 *
 * Return: 0, or -errno (what the kernel says: -ENETUNREACH for a gateway
 * it cannot reach, -EEXIST for a route already there, -ESRCH for deleting
 * one that is not).
 */
static int nlc_route_change(struct nlconf *c, const char *dst, const char *gw,
			    const char *ifname, bool add)
{
	struct nl_addr *ndst = NULL, *ngw = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct rtnl_route *route = NULL;
	const char *name = NULL, *why;
	struct nlc_addr d, g;
	int index = 0, err;

	if (gw && nlc_parse_addr(gw, &g, &why) < 0)
		return nlc_bad("gateway \"%.60s\": %s", gw, why);
	if (gw && g.has_prefix)
		return nlc_bad("gateway \"%.60s\": an address has no prefix",
			       gw);
	err = nlc_parse_dst(dst, gw ? &g : NULL, &d);
	if (err < 0)
		return err;
	if (gw && g.family != d.family)
		return nlc_bad(
			"route to %s via %s: one is IPv4, the other IPv6", dst,
			gw);
	if (!gw && !ifname && !nlc_own_ifname(c->stack))
		return nlc_bad("route to %s: give a gateway or an interface",
			       dst);
	if (ifname || nlc_own_ifname(c->stack)) {
		index = nlc_ifindex(c, ifname, &name);
		if (index < 0)
			return index;
	}

	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	ndst = nlc_nladdr(&d);
	ngw = gw ? nlc_nladdr(&g) : NULL;
	if (!route || !nh || !ndst || (gw && !ngw)) {
		if (nh)
			rtnl_route_nh_free(nh);
		err = nlc_fail(NULL, -ENOMEM, "route to %s", dst);
		goto out;
	}
	rtnl_route_set_family(route, (uint8_t)d.family);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_type(route, RTN_UNICAST);
	if (!add)
		rtnl_route_set_protocol(route, 0);
	err = rtnl_route_set_dst(route, ndst);
	if (err < 0) {
		rtnl_route_nh_free(nh);
		err = nlc_nlfail(c, err, "route to %s", dst);
		goto out;
	}
	if (index)
		rtnl_route_nh_set_ifindex(nh, index);
	if (ngw)
		rtnl_route_nh_set_gateway(nh, ngw);
	rtnl_route_add_nexthop(route, nh);

	nlc_reset(c);
	if (add)
		err = rtnl_route_add(c->sk, route, NLM_F_EXCL);
	else
		err = nlc_route_delete(c, route);
	if (err < 0)
		err = nlc_nlfail(c, err, "cannot %s route to %s%s%s%s%s",
				 add ? "add" : "delete", dst, gw ? " via " : "",
				 gw ? gw : "", name ? " dev " : "",
				 name ? name : "");
out:
	nl_addr_put(ngw);
	nl_addr_put(ndst);
	rtnl_route_put(route);
	return err;
}

/**
 * struct nlc_ifa - one element of a vde_stack_getifaddrs() list
 * @ifa:	what the caller sees; first, so the list links elements
 * @addr:	storage behind ifa_addr
 * @netmask:	storage behind ifa_netmask
 * @broad:	storage behind ifa_broadaddr / ifa_dstaddr
 * @stats:	storage behind ifa_data (AF_PACKET elements)
 * @name:	storage behind ifa_name
 *
 * The whole list is one array in one allocation, so freeing it is one
 * free() whatever the list looks like.  sockaddr_storage leaves room for
 * hardware addresses longer than sockaddr_ll's eight bytes.
 */
struct nlc_ifa {
	struct ifaddrs ifa;
	struct sockaddr_storage addr;
	struct sockaddr_storage netmask;
	struct sockaddr_storage broad;
	struct rtnl_link_stats stats;
	char name[IFNAMSIZ];
};

/**
 * nlc_sockaddr() - fill a sockaddr_in/in6 from raw address bytes
 * @ss:		storage
 * @family:	AF_INET or AF_INET6
 * @bytes:	address, network order
 * @ifindex:	interface, for the scope of IPv6 link-local addresses
 *
 * Return: @ss as a struct sockaddr.
 */
static struct sockaddr *nlc_sockaddr(struct sockaddr_storage *ss, int family,
				     const void *bytes, int ifindex)
{
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, bytes, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, bytes, 16);
		if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) ||
		    IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr))
			sin6->sin6_scope_id = (uint32_t)ifindex;
	}
	return (struct sockaddr *)ss;
}

/**
 * nlc_fill_link() - the AF_PACKET element of an interface
 * @e:		element to fill
 * @link:	the interface
 *
 * As glibc's getifaddrs(3) does: hardware address and broadcast address
 * in sockaddr_ll, the interface's counters in ifa_data.
 */
static void nlc_fill_link(struct nlc_ifa *e, struct rtnl_link *link)
{
#define STAT(field, id)                                                        \
	{                                                                      \
		offsetof(struct rtnl_link_stats, field), id                    \
	}
	static const struct {
		size_t off;
		rtnl_link_stat_id_t id;
	} stats[] = {
		STAT(rx_packets, RTNL_LINK_RX_PACKETS),
		STAT(tx_packets, RTNL_LINK_TX_PACKETS),
		STAT(rx_bytes, RTNL_LINK_RX_BYTES),
		STAT(tx_bytes, RTNL_LINK_TX_BYTES),
		STAT(rx_errors, RTNL_LINK_RX_ERRORS),
		STAT(tx_errors, RTNL_LINK_TX_ERRORS),
		STAT(rx_dropped, RTNL_LINK_RX_DROPPED),
		STAT(tx_dropped, RTNL_LINK_TX_DROPPED),
		STAT(multicast, RTNL_LINK_MULTICAST),
		STAT(collisions, RTNL_LINK_COLLISIONS),
		STAT(rx_length_errors, RTNL_LINK_RX_LEN_ERR),
		STAT(rx_over_errors, RTNL_LINK_RX_OVER_ERR),
		STAT(rx_crc_errors, RTNL_LINK_RX_CRC_ERR),
		STAT(rx_frame_errors, RTNL_LINK_RX_FRAME_ERR),
		STAT(rx_fifo_errors, RTNL_LINK_RX_FIFO_ERR),
		STAT(rx_missed_errors, RTNL_LINK_RX_MISSED_ERR),
		STAT(tx_aborted_errors, RTNL_LINK_TX_ABORT_ERR),
		STAT(tx_carrier_errors, RTNL_LINK_TX_CARRIER_ERR),
		STAT(tx_fifo_errors, RTNL_LINK_TX_FIFO_ERR),
		STAT(tx_heartbeat_errors, RTNL_LINK_TX_HBEAT_ERR),
		STAT(tx_window_errors, RTNL_LINK_TX_WIN_ERR),
		STAT(rx_compressed, RTNL_LINK_RX_COMPRESSED),
		STAT(tx_compressed, RTNL_LINK_TX_COMPRESSED),
	};
#undef STAT
	struct nl_addr *hw = rtnl_link_get_addr(link);
	struct nl_addr *bc = rtnl_link_get_broadcast(link);
	struct sockaddr_storage *slots[] = {&e->addr, &e->broad};
	struct nl_addr *addrs[] = {hw, bc};
	const size_t room =
		sizeof(e->addr) - offsetof(struct sockaddr_ll, sll_addr);
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct sockaddr_ll *sll = (struct sockaddr_ll *)slots[i];
		size_t len = addrs[i] ? nl_addr_get_len(addrs[i]) : 0;

		if (len > room)
			len = room;
		sll->sll_family = AF_PACKET;
		sll->sll_ifindex = rtnl_link_get_ifindex(link);
		sll->sll_hatype = (unsigned short)rtnl_link_get_arptype(link);
		sll->sll_halen = (unsigned char)len;
		if (len)
			memcpy(sll->sll_addr, nl_addr_get_binary_addr(addrs[i]),
			       len);
	}
	e->ifa.ifa_addr = (struct sockaddr *)&e->addr;
	if (bc && (e->ifa.ifa_flags & (IFF_BROADCAST | IFF_POINTOPOINT)))
		e->ifa.ifa_broadaddr = (struct sockaddr *)&e->broad;
	for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
		*(__u32 *)((char *)&e->stats + stats[i].off) =
			(__u32)rtnl_link_get_stat(link, stats[i].id);
	e->ifa.ifa_data = &e->stats;
}

/**
 * nlc_fill_addr() - the element of one IPv4 or IPv6 address
 * @e:		element, ifa_name and ifa_flags already set
 * @ra:		the address
 * @ifindex:	its interface
 */
static void nlc_fill_addr(struct nlc_ifa *e, struct rtnl_addr *ra, int ifindex)
{
	struct nl_addr *local = rtnl_addr_get_local(ra);
	struct nl_addr *peer = rtnl_addr_get_peer(ra);
	struct nl_addr *brd = rtnl_addr_get_broadcast(ra);
	int family = rtnl_addr_get_family(ra);
	int plen = rtnl_addr_get_prefixlen(ra);
	unsigned char mask[16] = {0};
	int i;

	e->ifa.ifa_addr = nlc_sockaddr(&e->addr, family,
				       nl_addr_get_binary_addr(local), ifindex);
	for (i = 0; i < plen && i < 128; i++)
		mask[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	e->ifa.ifa_netmask = nlc_sockaddr(&e->netmask, family, mask, 0);
	if (peer && nl_addr_get_len(peer) == nlc_alen(family))
		e->ifa.ifa_dstaddr = nlc_sockaddr(
			&e->broad, family, nl_addr_get_binary_addr(peer), 0);
	else if (brd && nl_addr_get_len(brd) == nlc_alen(family))
		e->ifa.ifa_broadaddr = nlc_sockaddr(
			&e->broad, family, nl_addr_get_binary_addr(brd), 0);
}

/**
 * nlc_addr_usable() - whether an address object can become an element
 * @ra:		address from the dump
 *
 * Return: true for an IPv4/IPv6 address with a local address of its size.
 */
static bool nlc_addr_usable(struct rtnl_addr *ra)
{
	struct nl_addr *local = rtnl_addr_get_local(ra);
	int family = rtnl_addr_get_family(ra);

	return (family == AF_INET || family == AF_INET6) && local &&
	       nl_addr_get_len(local) == nlc_alen(family);
}

/**
 * nlc_build_ifaddrs() - turn link and address dumps into an ifaddrs list
 * @links:	link cache
 * @addrs:	address cache
 * @ifap:	set to the list (NULL if the stack has no interface at all)
 *
 * One AF_PACKET element per interface, then one element per address, in
 * the kernel's order, as glibc does.
 *
 * Return: 0, or -ENOMEM.
 */
static int nlc_build_ifaddrs(struct nl_cache *links, struct nl_cache *addrs,
			     struct ifaddrs **ifap)
{
	struct nl_object *o;
	struct nlc_ifa *v, *e;
	size_t n = 0, i = 0;

	for (o = nl_cache_get_first(links); o; o = nl_cache_get_next(o))
		n++;
	for (o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o))
		n += nlc_addr_usable((struct rtnl_addr *)o);
	*ifap = NULL;
	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;

	for (o = nl_cache_get_first(links); o && i < n;
	     o = nl_cache_get_next(o)) {
		struct rtnl_link *link = (struct rtnl_link *)o;

		e = &v[i++];
		snprintf(e->name, sizeof(e->name), "%s",
			 rtnl_link_get_name(link) ? rtnl_link_get_name(link)
						  : "");
		e->ifa.ifa_name = e->name;
		e->ifa.ifa_flags = rtnl_link_get_flags(link);
		nlc_fill_link(e, link);
	}
	for (o = nl_cache_get_first(addrs); o && i < n;
	     o = nl_cache_get_next(o)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)o;
		int ifindex = rtnl_addr_get_ifindex(ra);
		struct rtnl_link *link;
		const char *label = rtnl_addr_get_label(ra);

		if (!nlc_addr_usable(ra))
			continue;
		link = rtnl_link_get(links, ifindex);
		if (!link)
			continue; /* the interface vanished between dumps */
		e = &v[i++];
		/* IPv4 aliases ("vde0:1") are named by their label. */
		snprintf(e->name, sizeof(e->name), "%s",
			 label && label[0] ? label : rtnl_link_get_name(link));
		e->ifa.ifa_name = e->name;
		e->ifa.ifa_flags = rtnl_link_get_flags(link);
		rtnl_link_put(link);
		nlc_fill_addr(e, ra, ifindex);
	}
	if (!i) {
		free(v);
		return 0;
	}
	for (n = 0; n + 1 < i; n++)
		v[n].ifa.ifa_next = &v[n + 1].ifa;
	*ifap = &v[0].ifa;
	return 0;
}

/**
 * nlc_getifaddrs() - dump links and addresses of the stack
 * @c:		the call's state
 * @ifap:	set to the list
 *
 * Return: 0, or -errno.
 */
static int nlc_getifaddrs(struct nlconf *c, struct ifaddrs **ifap)
{
	struct nl_cache *links = NULL, *addrs = NULL;
	int err = 0, tries;

	/*
	 * A dump that races with a change is flagged as interrupted; it is
	 * consistent again when redone.
	 */
	for (tries = 0; tries < NLC_DUMP_TRIES; tries++) {
		nl_cache_free(links);
		nl_cache_free(addrs);
		links = addrs = NULL;
		nlc_reset(c);
		err = rtnl_link_alloc_cache(c->sk, AF_UNSPEC, &links);
		if (err >= 0) {
			nlc_reset(c);
			err = rtnl_addr_alloc_cache(c->sk, &addrs);
		}
		if (err != -NLE_DUMP_INTR)
			break;
	}
	if (err < 0) {
		err = nlc_nlfail(c, err, "cannot list the stack's interfaces");
		goto out;
	}
	err = nlc_build_ifaddrs(links, addrs, ifap);
	if (err < 0)
		nlc_fail(NULL, err, "interface list");
out:
	nl_cache_free(links);
	nl_cache_free(addrs);
	return err;
}

/**
 * struct nlc_config - a parsed vde_stack_config() string
 * @ifname:	if=, NULL for the stack's interface
 * @mac:	mac=, NULL if not given
 * @mtu:	mtu=, 0 if not given
 * @ip:		ip= values, in order
 * @nip:	how many
 * @ip6:	ip6= values, in order
 * @nip6:	how many
 * @gw:		gw=, NULL if not given
 * @gw6:	gw6=, NULL if not given
 *
 * The strings point into the caller's copy of the configuration string.
 */
struct nlc_config {
	const char *ifname;
	const char *mac;
	unsigned int mtu;
	const char *ip[NLC_MAX_ADDRS];
	unsigned int nip;
	const char *ip6[NLC_MAX_ADDRS];
	unsigned int nip6;
	const char *gw;
	const char *gw6;
};

/**
 * nlc_trim() - strip blanks around a string, in place
 * @s:		string
 *
 * Return: @s without leading blanks, trailing blanks overwritten.
 */
static char *nlc_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/**
 * nlc_config_item() - check and record one "key=value" item
 * @cfg:	configuration being built
 * @key:	key, trimmed
 * @val:	value, trimmed
 *
 * Return: 0, or -EINVAL with the message set.
 */
static int nlc_config_item(struct nlc_config *cfg, const char *key,
			   const char *val)
{
	bool v6 = !strcmp(key, "ip6") || !strcmp(key, "gw6");
	const char **single = NULL;
	unsigned char hw[6];
	struct nlc_addr a;
	const char *why;

	if (!val[0])
		return nlc_bad("config: %s= has no value", key);
	if (!strcmp(key, "ip") || !strcmp(key, "ip6")) {
		unsigned int *n = v6 ? &cfg->nip6 : &cfg->nip;

		if (nlc_parse_addr(val, &a, &why) < 0)
			return nlc_bad("config: %s=%.60s: %s", key, val, why);
		if (a.family != (v6 ? AF_INET6 : AF_INET))
			return nlc_bad("config: %s=%.60s: not an %s address "
				       "(use %s=)",
				       key, val, v6 ? "IPv6" : "IPv4",
				       v6 ? "ip" : "ip6");
		if (*n == NLC_MAX_ADDRS)
			return nlc_bad("config: more than %d %s= items",
				       NLC_MAX_ADDRS, key);
		(v6 ? cfg->ip6 : cfg->ip)[(*n)++] = val;
		return 0;
	}
	if (!strcmp(key, "gw") || !strcmp(key, "gw6")) {
		if (nlc_parse_addr(val, &a, &why) < 0)
			return nlc_bad("config: %s=%.60s: %s", key, val, why);
		if (a.has_prefix)
			return nlc_bad("config: %s=%.60s: a gateway has no "
				       "prefix",
				       key, val);
		if (a.family != (v6 ? AF_INET6 : AF_INET))
			return nlc_bad("config: %s=%.60s: not an %s address "
				       "(use %s=)",
				       key, val, v6 ? "IPv6" : "IPv4",
				       v6 ? "gw" : "gw6");
		single = v6 ? &cfg->gw6 : &cfg->gw;
	} else if (!strcmp(key, "mtu")) {
		unsigned long mtu;
		char *end;

		errno = 0;
		mtu = strtoul(val, &end, 10);
		if (!isdigit((unsigned char)val[0]) || *end || errno ||
		    mtu == 0 || mtu > INT_MAX)
			return nlc_bad("config: mtu=%.20s: not a positive "
				       "number",
				       val);
		if (cfg->mtu)
			return nlc_bad("config: mtu= given twice");
		cfg->mtu = (unsigned int)mtu;
		return 0;
	} else if (!strcmp(key, "mac")) {
		if (nlc_parse_mac(val, hw) < 0)
			return nlc_bad("config: mac=%.40s: not a MAC address "
				       "(want 02:00:00:00:00:01)",
				       val);
		single = &cfg->mac;
	} else if (!strcmp(key, "if")) {
		if (strlen(val) >= IFNAMSIZ)
			return nlc_bad("config: if=%.40s: longer than %d "
				       "characters",
				       val, IFNAMSIZ - 1);
		single = &cfg->ifname;
	} else {
		return nlc_bad("config: unknown key \"%.40s\" (keys: if, ip, "
			       "ip6, gw, gw6, mtu, mac)",
			       key);
	}
	if (*single)
		return nlc_bad("config: %s= given twice", key);
	*single = val;
	return 0;
}

/**
 * nlc_config_parse() - split and check a configuration string
 * @buf:	writable copy of the string, cut in place
 * @cfg:	result, zeroed here
 *
 * Items are separated by ',', blanks around keys and values are ignored,
 * an empty string configures nothing.  Everything is checked before
 * anything is applied.
 *
 * Return: 0, or -EINVAL with the message set.
 */
static int nlc_config_parse(char *buf, struct nlc_config *cfg)
{
	char *item, *next;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	if (!nlc_trim(buf)[0])
		return 0;
	/* strtok_r() would silently merge ",,": an empty item is a typo. */
	for (item = buf; item; item = next) {
		char *eq, *key;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		key = nlc_trim(item);
		if (!key[0])
			return nlc_bad("config: empty item (two commas, or "
				       "one at an end)");
		eq = strchr(key, '=');
		if (!eq)
			return nlc_bad("config: \"%.40s\" is not key=value",
				       key);
		*eq = '\0';
		err = nlc_config_item(cfg, nlc_trim(key), nlc_trim(eq + 1));
		if (err < 0)
			return err;
	}
	return 0;
}

/**
 * nlc_config_apply() - apply a parsed configuration
 * @c:		the call's state
 * @cfg:	parsed configuration
 *
 * What can be checked without changing anything is checked first (the
 * interface exists, the MTU fits the backend).  Then the order matters:
 * the MAC address before the link is up (not every device changes it
 * live), the MTU before addresses (IPv6 needs 1280), the links up before
 * addresses and routes (routes need a running link), addresses before the
 * gateways they make reachable.
 *
 * Return: 0, or -errno of the first check or step that failed.
 */
static int nlc_config_apply(struct nlconf *c, const struct nlc_config *cfg)
{
	bool has_if = cfg->ifname || nlc_own_ifname(c->stack);
	const char *ifname;
	unsigned int i;
	int err;

	if (!has_if) {
		if (cfg->mac || cfg->mtu || cfg->nip || cfg->nip6 || cfg->gw ||
		    cfg->gw6)
			return nlc_fail(NULL, -ENODEV,
					"config: the stack has no interface "
					"(name one with if=)");
		return nlc_link_set(c, "lo", 1);
	}
	err = nlc_ifindex(c, cfg->ifname, &ifname);
	if (err < 0)
		return err;
	if (cfg->mtu) {
		err = nlc_mtu_check(c, ifname, cfg->mtu);
		if (err < 0)
			return err;
	}

	err = nlc_link_set(c, "lo", 1);
	if (err >= 0 && cfg->mac)
		err = nlc_set_mac(c, ifname, cfg->mac);
	if (err >= 0 && cfg->mtu)
		err = nlc_set_mtu(c, ifname, cfg->mtu);
	if (err >= 0)
		err = nlc_link_set(c, ifname, 1);
	for (i = 0; err >= 0 && i < cfg->nip; i++)
		err = nlc_addr_change(c, ifname, cfg->ip[i], true);
	for (i = 0; err >= 0 && i < cfg->nip6; i++)
		err = nlc_addr_change(c, ifname, cfg->ip6[i], true);
	if (err >= 0 && cfg->gw)
		err = nlc_route_change(c, "default", cfg->gw, ifname, true);
	if (err >= 0 && cfg->gw6)
		err = nlc_route_change(c, "default6", cfg->gw6, ifname, true);
	return err < 0 ? err : 0;
}

/**
 * vde_stack_ifindex() - index of an interface of a stack
 * @stack:	the stack
 * @ifname:	interface name, NULL for the stack's interface
 *
 * Return: the index (> 0), or -1 with errno set (ENODEV: no such
 * interface).
 */
VS_EXPORT int vde_stack_ifindex(struct vdestack *stack, const char *ifname)
{
	struct nlconf c;
	int err;

	err = nlc_open(&c, stack);
	if (err < 0)
		return nlc_ret(err);
	err = nlc_ifindex(&c, ifname, NULL);
	nlc_close(&c);
	return nlc_ret(err);
}

/**
 * vde_stack_link_set() - bring an interface of a stack up or down
 * @stack:	the stack
 * @ifname:	interface name, NULL for the stack's interface
 * @up:		non-zero: up, zero: down
 *
 * Return: 0, or -1 with errno set.
 */
VS_EXPORT int vde_stack_link_set(struct vdestack *stack, const char *ifname,
				 int up)
{
	struct nlconf c;
	int err;

	err = nlc_open(&c, stack);
	if (err < 0)
		return nlc_ret(err);
	err = nlc_link_set(&c, ifname, up);
	nlc_close(&c);
	return nlc_ret(err);
}

/**
 * vde_stack_set_mtu() - set the MTU of an interface of a stack
 * @stack:	the stack
 * @ifname:	interface name, NULL for the stack's interface
 * @mtu:	the MTU
 *
 * Return: 0, or -1 with errno set (EINVAL: out of the device's or the
 * backend's range).
 */
VS_EXPORT int vde_stack_set_mtu(struct vdestack *stack, const char *ifname,
				unsigned int mtu)
{
	struct nlconf c;
	int err;

	err = nlc_open(&c, stack);
	if (err < 0)
		return nlc_ret(err);
	err = nlc_set_mtu(&c, ifname, mtu);
	nlc_close(&c);
	return nlc_ret(err);
}

/**
 * vde_stack_set_mac() - set the MAC address of an interface of a stack
 * @stack:	the stack
 * @ifname:	interface name, NULL for the stack's interface
 * @mac:	"02:00:00:00:00:01"
 *
 * Return: 0, or -1 with errno set (EINVAL: malformed; EADDRNOTAVAIL: a
 * multicast or zero address).
 */
VS_EXPORT int vde_stack_set_mac(struct vdestack *stack, const char *ifname,
				const char *mac)
{
	struct nlconf c;
	int err;

	err = nlc_open(&c, stack);
	if (err < 0)
		return nlc_ret(err);
	err = nlc_set_mac(&c, ifname, mac);
	nlc_close(&c);
	return nlc_ret(err);
}

/**
 * nlc_addr_call() - vde_stack_addr_add() and vde_stack_addr_del()
 * @stack:	the stack
 * @ifname:	interface name, NULL for the stack's interface
 * @cidr:	see nlc_addr_change()
 * @add:	true to add, false to delete
 *
 * Return: 0, or -1 with errno set.
 */
static int nlc_addr_call(struct vdestack *stack, const char *ifname,
			 const char *cidr, bool add)
{
	struct nlconf c;
	int err;

	err = nlc_open(&c, stack);
	if (err < 0)
		return nlc_ret(err);
	err = nlc_addr_change(&c, ifname, cidr, add);
	nlc_close(&c);
	return nlc_ret(err);
}

/**
 * vde_stack_addr_add() - add an IPv4 or IPv6 address to an interface
 * @stack:	the stack
 * @ifname:	interface name, NULL for the stack's interface
 * @cidr:	"10.0.0.1/24" or "fd00::1/64" (no prefix: /32 or /128)
 *
 * Return: 0, or -1 with errno set (EINVAL: malformed; EEXIST: already
 * there; ENODEV: no such interface).
 */
VS_EXPORT int vde_stack_addr_add(struct vdestack *stack, const char *ifname,
				 const char *cidr)
{
	return nlc_addr_call(stack, ifname, cidr, true);
}

/**
 * vde_stack_addr_del() - remove an address from an interface
 * @stack:	the stack
 * @ifname:	interface name, NULL for the stack's interface
 * @cidr:	the address with the prefix length it was added with
 *
 * Return: 0, or -1 with errno set (EADDRNOTAVAIL: no such address).
 */
VS_EXPORT int vde_stack_addr_del(struct vdestack *stack, const char *ifname,
				 const char *cidr)
{
	return nlc_addr_call(stack, ifname, cidr, false);
}

/**
 * nlc_route_call() - vde_stack_route_add() and vde_stack_route_del()
 * @stack:	the stack
 * @dst:	see nlc_parse_dst()
 * @gw:		gateway address, or NULL
 * @ifname:	interface name, NULL for the stack's interface
 * @add:	true to add, false to delete
 *
 * Return: 0, or -1 with errno set.
 */
static int nlc_route_call(struct vdestack *stack, const char *dst,
			  const char *gw, const char *ifname, bool add)
{
	struct nlconf c;
	int err;

	err = nlc_open(&c, stack);
	if (err < 0)
		return nlc_ret(err);
	err = nlc_route_change(&c, dst, gw, ifname, add);
	nlc_close(&c);
	return nlc_ret(err);
}

/**
 * vde_stack_route_add() - add a route to the stack's main table
 * @stack:	the stack
 * @dst:	"default", "default6", "10.1.0.0/16", "fd01::/64"
 * @gw:		gateway address, or NULL for a route on the link
 * @ifname:	interface name, NULL for the stack's interface
 *
 * Return: 0, or -1 with errno set (EINVAL: malformed; ENETUNREACH:
 * gateway not reachable; EEXIST: route already there).
 */
VS_EXPORT int vde_stack_route_add(struct vdestack *stack, const char *dst,
				  const char *gw, const char *ifname)
{
	return nlc_route_call(stack, dst, gw, ifname, true);
}

/**
 * vde_stack_route_del() - remove a route from the stack's main table
 * @stack:	the stack
 * @dst:	as for vde_stack_route_add()
 * @gw:		gateway to match, or NULL
 * @ifname:	interface name, NULL for the stack's interface
 *
 * Return: 0, or -1 with errno set (ESRCH: no such route).
 */
VS_EXPORT int vde_stack_route_del(struct vdestack *stack, const char *dst,
				  const char *gw, const char *ifname)
{
	return nlc_route_call(stack, dst, gw, ifname, false);
}

/**
 * vde_stack_getifaddrs() - getifaddrs(3) for a stack
 * @stack:	the stack
 * @ifap:	set to the list, to be freed with vde_stack_freeifaddrs()
 *
 * Return: 0, or -1 with errno set (*@ifap is then left alone).
 */
VS_EXPORT int vde_stack_getifaddrs(struct vdestack *stack,
				   struct ifaddrs **ifap)
{
	struct ifaddrs *list = NULL;
	struct nlconf c;
	int err;

	if (!ifap)
		return nlc_ret(nlc_bad("vde_stack_getifaddrs: no ifap"));
	err = nlc_open(&c, stack);
	if (err < 0)
		return nlc_ret(err);
	err = nlc_getifaddrs(&c, &list);
	nlc_close(&c);
	if (err >= 0)
		*ifap = list;
	return nlc_ret(err);
}

/**
 * vde_stack_freeifaddrs() - free a list of vde_stack_getifaddrs()
 * @ifa:	the list, may be NULL
 */
VS_EXPORT void vde_stack_freeifaddrs(struct ifaddrs *ifa)
{
	/* One allocation, see struct nlc_ifa; ifa_addrs is its first member. */
	free(ifa);
}

/**
 * vde_stack_config() - configure a stack from a string
 * @stack:	the stack
 * @config:	"ip=10.0.0.1/24,gw=10.0.0.254,ip6=fd00::1/64,mtu=9000,..."
 *		(see vde_stack_config(3)); NULL or "" only brings links up
 *
 * Return: 0, or -1 with errno set.  Nothing was changed if the string is
 * malformed, the interface does not exist or the MTU is above what the
 * backend carries; otherwise the steps before the failed one stay applied.
 */
VS_EXPORT int vde_stack_config(struct vdestack *stack, const char *config)
{
	struct nlc_config cfg;
	struct nlconf c;
	char *buf;
	int err;

	if (config && strlen(config) > NLC_CONFIG_MAX)
		return nlc_ret(nlc_bad("config: longer than %d characters",
				       NLC_CONFIG_MAX));
	buf = strdup(config ? config : "");
	if (!buf)
		return nlc_ret(nlc_fail(NULL, -ENOMEM, "config"));
	err = nlc_config_parse(buf, &cfg);
	if (err >= 0)
		err = nlc_open(&c, stack);
	if (err >= 0) {
		err = nlc_config_apply(&c, &cfg);
		nlc_close(&c);
	}
	free(buf);
	return nlc_ret(err);
}
