// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * relay_common.c - what the relaying backends share besides offload.c
 *
 * See relay_common.h.  Nothing here keeps state of its own: every
 * function works on what the backend passes, so two stacks (and two
 * plugins, each with its own copy of this file) never share anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay_common.h"

int relay_stats(struct relay_counters *c, struct vde_stack_stats *st)
{
	st->rx_frames = atomic_load(&c->rx_frames);
	st->rx_bytes = atomic_load(&c->rx_bytes);
	st->tx_frames = atomic_load(&c->tx_frames);
	st->tx_bytes = atomic_load(&c->tx_bytes);
	st->rx_dropped = atomic_load(&c->rx_dropped);
	st->tx_dropped = atomic_load(&c->tx_dropped);
	st->errors = atomic_load(&c->errors);
	return 0;
}

int relay_probe_tun(char *reason, size_t len)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		snprintf(reason, len, "/dev/net/tun: %s%s", strerror(e),
			 e == EACCES   ? " (the device must be mode 0666, as "
					 "most distributions ship it)"
			 : e == ENOENT ? " (module tun not loaded?)"
				       : "");
		return -e;
	}
	close(fd);
	return 0;
}

const struct vdestack_fd_request relay_prefetch[] = {
	{VDESTACK_FD_TUN, 0, 0},
	{AF_INET, SOCK_DGRAM, 0},
	{AF_NETLINK, SOCK_RAW, NETLINK_ROUTE},
	{0, 0, 0},
};

int relay_tap_open(const struct vdestack_backend_args *a)
{
	struct ifreq ifr;
	int fd, r;

	/* opened by the agent: the TAP belongs to the stack's namespace */
	fd = a->svc->open_tun(a->stack);
	if (fd < 0) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot open /dev/net/tun in the stack: %s%s",
			 strerror(-fd),
			 fd == -EACCES ? " (the device must be mode 0666)"
				       : "");
		return fd;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a->ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot create TAP %s: %s", a->ifname, strerror(-r));
		close(fd);
		return r;
	}
	/*
	 * Closing the last fd of a non-persistent TAP unregisters the device
	 * synchronously (tens of ms waiting for RCU grace periods).  A
	 * persistent TAP is unregistered by the kernel's namespace cleanup
	 * worker when the stack's namespace dies, off the caller's clock.
	 * Nothing can reattach to it: the namespace is ours alone.
	 */
	ioctl(fd, TUNSETPERSIST, 1);
	return fd;
}

/*
 * Older kernels refuse unknown flags with EINVAL, so each set is tried in
 * turn, down to checksums alone.
 */
unsigned int relay_tap_offload(int tapfd)
{
	static const unsigned int sets[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN |
			TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
		TUN_F_CSUM,
	};
	unsigned int i;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (ioctl(tapfd, TUNSETOFFLOAD, sets[i]) == 0)
			return sets[i];
	return 0;
}

void relay_set_carrier(int tapfd, int on)
{
	ioctl(tapfd, TUNSETCARRIER, &on);
}

int relay_watch_open(struct relay_watch *w,
		     const struct vdestack_backend_args *a)
{
	struct sockaddr_nl snl = {.nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK};
	struct ifreq ifr;

	w->ifsock = a->svc->msocket(a->stack, AF_INET,
				    SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (w->ifsock < 0)
		return w->ifsock;
	w->nlfd = a->svc->msocket(a->stack, AF_NETLINK,
				  SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
				  NETLINK_ROUTE);
	if (w->nlfd < 0)
		return w->nlfd;
	if (bind(w->nlfd, (struct sockaddr *)&snl, sizeof(snl)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a->ifname);
	if (ioctl(w->ifsock, SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	w->ifindex = ifr.ifr_ifindex;
	return 0;
}

void relay_watch_close(struct relay_watch *w)
{
	if (w->nlfd >= 0)
		close(w->nlfd);
	if (w->ifsock >= 0)
		close(w->ifsock);
	w->nlfd = w->ifsock = -1;
}

/* @req on the interface @ifname with @ifr, whose other fields are set */
static int if_ioctl(const struct relay_watch *w, const char *ifname,
		    unsigned long req, struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	return ioctl(w->ifsock, req, ifr) < 0 ? -errno : 0;
}

int relay_set_mtu(const struct relay_watch *w, const char *ifname,
		  unsigned int mtu)
{
	struct ifreq ifr = {.ifr_mtu = (int)mtu};

	return if_ioctl(w, ifname, SIOCSIFMTU, &ifr);
}

int relay_create_mtu(const struct relay_watch *w,
		     const struct vdestack_backend_args *a)
{
	int r = a->mtu ? relay_set_mtu(w, a->ifname, a->mtu) : 0;

	if (r < 0)
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot set MTU %u on %s: %s", a->mtu, a->ifname,
			 strerror(-r));
	return r;
}

int relay_set_txqlen(const struct relay_watch *w, const char *ifname,
		     unsigned int qlen)
{
	struct ifreq ifr = {.ifr_qlen = (int)qlen};

	return if_ioctl(w, ifname, SIOCSIFTXQLEN, &ifr);
}

void relay_clamp_mtu(const struct relay_watch *w, unsigned int max)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n;

	while ((n = recv(w->nlfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct nlmsghdr *h;
		int len = (int)n;

		for (h = (void *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			struct ifinfomsg *ifi = NLMSG_DATA(h);
			struct rtattr *a;
			int alen;

			if (h->nlmsg_type != RTM_NEWLINK ||
			    ifi->ifi_index != w->ifindex)
				continue;
			alen = (int)IFLA_PAYLOAD(h);
			for (a = IFLA_RTA(ifi); RTA_OK(a, alen);
			     a = RTA_NEXT(a, alen)) {
				unsigned int mtu;
				struct ifreq ifr;

				if (a->rta_type != IFLA_MTU)
					continue;
				memcpy(&mtu, RTA_DATA(a), sizeof(mtu));
				if (mtu <= max)
					continue;
				/* by index: the stack may have renamed it */
				memset(&ifr, 0, sizeof(ifr));
				ifr.ifr_ifindex = w->ifindex;
				if (ioctl(w->ifsock, SIOCGIFNAME, &ifr) < 0)
					continue;
				/* a stale notice (65000, then 1500 at
				 * once): act on the MTU it has now */
				if (ioctl(w->ifsock, SIOCGIFMTU, &ifr) < 0 ||
				    ifr.ifr_mtu <= (int)max)
					continue;
				ifr.ifr_mtu = (int)max;
				ioctl(w->ifsock, SIOCSIFMTU, &ifr);
			}
		}
	}
}

int relay_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg,
		       const char *name)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -r;
	if (name)
		pthread_setname_np(*thread, name);
	return 0;
}

int relay_thread_stop(int stopfd, pthread_t thread)
{
	uint64_t one = 1;

	if (write(stopfd, &one, sizeof(one)) < 0)
		return -errno;
	pthread_join(thread, NULL);
	return 0;
}

/* whether @a, of @len bytes from getsockname()/getpeername(), is a name
 * in the filesystem (not unnamed, not abstract) */
static int unix_named(const struct sockaddr_un *a, socklen_t len)
{
	return len > offsetof(struct sockaddr_un, sun_path) + 1 &&
	       len <= sizeof(*a) && a->sun_path[0] != '\0';
}

/* whether AF_UNIX socket @fd is connected to a named socket */
static int connected_unix(int fd)
{
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);

	memset(&peer, 0, sizeof(peer));
	return getpeername(fd, (struct sockaddr *)&peer, &len) == 0 &&
	       unix_named(&peer, len);
}

/**
 * relay_direct_mode() - whether frames may bypass the plugin on
 * vde_datafd()
 * @v:		VDE side: @datafd set; @peer filled for RELAY_DIRECT_PTP
 * @vdenet:	the VNL
 *
 * libvdeplug 4's seqpacket plugin is recv(fd, buf, len, 0) and
 * send(fd, buf, len, 0) (never for len 0) on the fd given in the VNL, and
 * nothing else: recvmmsg()/sendmmsg() on that fd are the same calls,
 * batched.  Its vde plugin (a vde_switch's port) is the same calls on its
 * data socket, an AF_UNIX datagram socket connected to the switch's end
 * of the port when vde_open() returns.  Its udp plugin sends with send()
 * on a socket it connects on the first ENOTCONN/EDESTADDRREQ (send_many()
 * hands exactly those to vde_send()), but disconnects it on a 0-byte
 * receive: receiving stays with the plugin.  Its ptp plugin is one
 * AF_UNIX datagram socket bound to PATH (the first end) or PATH+ (the
 * second), recv() on it, and sends to the other name: the peer follows
 * from getsockname().  (The plugin
 * connects the socket to the peer on its first send and stays connected;
 * the relay sends to the name every time instead, although each send
 * then looks the name up, a seventh of the relay's time in a TCP flow: a
 * socket connected to a peer that has gone away refuses every other
 * sender, and the peer's successor under the same name could not open
 * its end until this one had sent again.
 * test_ptp_peer_that_comes_back_is_reached_again.  Nor can it connect
 * for a burst only: undoing a datagram connection purges the socket's
 * receive queue and resets a peer connected to it.)
 * Anything else, or a fd that is not what the plugin would have made,
 * goes through vde_send()/vde_recv().
 *
 * Return: enum relay_direct.
 */
static enum relay_direct relay_direct_mode(struct relay_vde *v,
					   const char *vdenet)
{
	int type = 0, dom = 0, datafd = v->datafd;
	socklen_t l = sizeof(int);

	if (datafd < 0 ||
	    getsockopt(datafd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		return RELAY_DIRECT_NONE;
	l = sizeof(int);
	if (getsockopt(datafd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0)
		return RELAY_DIRECT_NONE;
	if (!strncmp(vdenet, "seqpacket://", 12) && type == SOCK_SEQPACKET &&
	    dom == AF_UNIX && strtol(vdenet + 12, NULL, 0) == datafd)
		return RELAY_DIRECT_CONNECTED;
	if (!strncmp(vdenet, "vde://", 6) && type == SOCK_DGRAM &&
	    dom == AF_UNIX && connected_unix(datafd))
		return RELAY_DIRECT_CONNECTED;
	if (!strncmp(vdenet, "udp://", 6) && type == SOCK_DGRAM &&
	    (dom == AF_INET || dom == AF_INET6))
		return RELAY_DIRECT_UDP;
	if (!strncmp(vdenet, "ptp://", 6) && type == SOCK_DGRAM &&
	    dom == AF_UNIX) {
		struct sockaddr_un *p = &v->peer;
		socklen_t len = sizeof(*p);
		size_t n;

		memset(p, 0, sizeof(*p));
		if (getsockname(datafd, (struct sockaddr *)p, &len) < 0 ||
		    !unix_named(p, len))
			return RELAY_DIRECT_NONE;
		n = strnlen(p->sun_path, sizeof(p->sun_path));
		if (n && p->sun_path[n - 1] == '+')
			p->sun_path[n - 1] = '\0';
		else if (n + 1 < sizeof(p->sun_path))
			p->sun_path[n] = '+';
		else
			return RELAY_DIRECT_NONE;
		v->peerlen = sizeof(*p);
		return RELAY_DIRECT_PTP;
	}
	return RELAY_DIRECT_NONE;
}

int relay_vde_init(struct relay_vde *v, const struct vdestack_backend_args *a,
		   struct relay_counters *cnt, int udp)
{
	struct stat st;

	v->conn = a->conn;
	v->cnt = cnt;
	v->datafd = vde_datafd(a->conn);
	v->ctlfd = vde_ctlfd(a->conn);
	v->data_is_socket = fstat(v->datafd, &st) == 0 && S_ISSOCK(st.st_mode);
	v->direct = relay_direct_mode(v, a->vdenet);
	if (v->direct == RELAY_DIRECT_UDP && !udp)
		v->direct = RELAY_DIRECT_NONE;
	/* a blocking send toward a peer whose own relay is blocked sending
	 * to us would deadlock two stacks of one process */
	if (v->datafd >= 0 && fcntl(v->datafd, F_SETFL,
				    fcntl(v->datafd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* send() errors that mean "VDE is full now, try again on POLLOUT" */
static int vde_full(int e)
{
	return e == EAGAIN || e == ENOBUFS || e == EINTR;
}

/**
 * send_one() - send segs[seg_i] with vde_send()
 * @v:	VDE side
 * Return: 0 sent or dropped, -EAGAIN if VDE is full.
 */
static int send_one(struct relay_vde *v)
{
	const struct ofl_seg *s = &v->segs[v->seg_i];
	const void *buf = s->data;
	size_t len = s->len;
	ssize_t n;

	if (s->hdr_len) {
		/* vde_send() takes one buffer; ofl_gso_start() bounded the
		 * segment by VDE_ETHBUFSIZE */
		memcpy(v->flat, s->hdr, s->hdr_len);
		memcpy(v->flat + s->hdr_len, s->data, s->len);
		buf = v->flat;
		len += s->hdr_len;
	}
	n = vde_send(v->conn, buf, len, MSG_DONTWAIT);
	if (n < 0 && vde_full(errno))
		return -EAGAIN;
	if (n < 0) {
		relay_count(&v->cnt->tx_dropped, 1);
	} else {
		relay_count(&v->cnt->tx_frames, 1);
		relay_count(&v->cnt->tx_bytes, len);
	}
	v->seg_i++;
	return 0;
}

/**
 * send_many() - send segs[seg_i..seg_n) with one sendmmsg()
 * @v:	VDE side, in direct mode
 * Return: 0 if some were sent or one dropped, -EAGAIN if VDE is full.
 */
static int send_many(struct relay_vde *v)
{
	unsigned int n = v->seg_n - v->seg_i, k;
	uint64_t bytes = 0;
	int r;

	for (k = 0; k < n; k++) {
		const struct ofl_seg *s = &v->segs[v->seg_i + k];
		struct msghdr *m = &v->msgs[k].msg_hdr;
		struct iovec *iov = v->iov[k];

		memset(m, 0, sizeof(*m));
		if (v->direct == RELAY_DIRECT_PTP) {
			m->msg_name = &v->peer;
			m->msg_namelen = v->peerlen;
		}
		m->msg_iov = iov;
		if (s->hdr_len) {
			iov[m->msg_iovlen].iov_base = (void *)s->hdr;
			iov[m->msg_iovlen++].iov_len = s->hdr_len;
		}
		iov[m->msg_iovlen].iov_base = (void *)s->data;
		iov[m->msg_iovlen++].iov_len = s->len;
	}
	/* a peer gone: EPIPE, not a SIGPIPE left pending on this thread */
	r = sendmmsg(v->datafd, v->msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r > 0) {
		for (k = 0; k < (unsigned int)r; k++)
			bytes += v->segs[v->seg_i + k].hdr_len +
				 v->segs[v->seg_i + k].len;
		relay_count(&v->cnt->tx_frames, (unsigned int)r);
		relay_count(&v->cnt->tx_bytes, bytes);
		v->seg_i += (unsigned int)r;
		return 0;
	}
	if (r < 0 && vde_full(errno))
		return -EAGAIN;
	/* udp:// connects its socket on the first send: let it */
	if (r < 0 && v->direct == RELAY_DIRECT_UDP &&
	    (errno == ENOTCONN || errno == EDESTADDRREQ))
		return send_one(v);
	/* the first message failed (errors after it are not reported): it
	 * is dropped, the rest are tried again */
	relay_count(&v->cnt->tx_dropped, 1);
	v->seg_i++;
	return 0;
}

int relay_vde_flush(struct relay_vde *v)
{
	while (relay_vde_pending(v)) {
		int r = v->direct != RELAY_DIRECT_NONE ? send_many(v)
						       : send_one(v);

		if (r < 0)
			return r;
	}
	v->seg_i = v->seg_n = 0;
	return 0;
}

void relay_vde_drop(struct relay_vde *v)
{
	uint64_t n = v->seg_n - v->seg_i;

	n += v->gso.nsegs - v->gso.next;
	if (n)
		relay_count(&v->cnt->tx_dropped, n);
	v->seg_i = v->seg_n = 0;
	v->gso.nsegs = v->gso.next = 0;
}

int relay_vde_hung_up(const struct relay_vde *v, short revents)
{
	struct pollfd p = {.fd = v->datafd, .events = POLLRDHUP};

	if (revents & (POLLHUP | POLLRDHUP))
		return 1;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP));
}

int relay_vde_ctl_eof(const struct relay_vde *v, short revents)
{
	char c;
	ssize_t n = recv(v->ctlfd, &c, 1, MSG_DONTWAIT);

	return n == 0 || (revents & (POLLHUP | POLLRDHUP)) ||
	       (n < 0 && errno != EAGAIN && errno != EINTR &&
		errno != ENOTSOCK);
}
