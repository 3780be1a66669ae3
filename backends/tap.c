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
 * TAP queue) and polls for POLLOUT; VDE -> TAP goes on meanwhile.
 *
 * The connection is used by this thread only: switch/hub/vxvde plugins
 * update a MAC table on both send and recv without locks.
 *
 * Rules from upstream's defects: vde_recv() results shorter than an
 * Ethernet header (1 is "event, no frame"; -1 an error) are never written
 * to the TAP; a frame longer than the VDE limit is dropped and counted,
 * never truncated; EOF of the connection turns the carrier off.
 *
 * MTU: a TAP accepts any MTU up to 65535 and there is no ioctl to lower
 * its maximum, but VDE carries at most VDE_MAXMTU.  The relay listens to
 * link notifications inside the stack and puts a larger MTU back to
 * VDE_MAXMTU at once, so a stack never runs with an MTU whose frames would
 * have to be dropped (TCP would stall, as with upstream).
 */
#include <errno.h>
#include <fcntl.h>
#include <libvdeplug.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vdestack_backend.h>

#define ETH_HLEN_MIN 14
/* read buffer: room to see (and drop) a frame beyond the VDE limit */
#define RXBUF (65536 + 32)
#define BURST 64

struct tap {
	int tapfd;
	int stopfd;
	struct vdeconn *conn;
	int datafd;
	int ctlfd;
	int data_is_socket;
	int nlfd;	/* RTMGRP_LINK listener inside the stack */
	int ifsock;	/* for SIOCSIFMTU inside the stack */
	int ifindex;
	pthread_t thread;
	_Atomic uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	_Atomic uint64_t rx_dropped, tx_dropped, errors;
	unsigned char txbuf[RXBUF];
	unsigned char rxbuf[VDE_ETHBUFSIZE];
};

#define INC(p, f, n) atomic_fetch_add_explicit(&(p)->f, (n), memory_order_relaxed)

static void set_carrier(struct tap *t, int on)
{
	ioctl(t->tapfd, TUNSETCARRIER, &on);
}

/* VDE -> TAP until EAGAIN (or a burst); 1 on EOF. */
static int vde_to_tap(struct tap *t, short revents)
{
	int i;

	for (i = 0; i < BURST; i++) {
		ssize_t n;

		/*
		 * Some plugins' datafd is not the socket frames arrive on
		 * (switch:// has an epoll fd and vde_recv() blocks in
		 * epoll_wait): only a plain socket can be drained until
		 * EAGAIN; anything else is asked first.
		 */
		if (i && !t->data_is_socket) {
			struct pollfd p = { .fd = t->datafd, .events = POLLIN };

			if (poll(&p, 1, 0) <= 0)
				return 0;
		}
		n = vde_recv(t->conn, t->rxbuf, sizeof(t->rxbuf), 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			INC(t, errors, 1);
			return 0;
		}
		if (n == 0 && (revents & (POLLHUP | POLLRDHUP)))
			return 1;
		if (n < ETH_HLEN_MIN) {
			INC(t, rx_dropped, 1);
			if (n == 0)
				return 0;
			continue;
		}
		if (write(t->tapfd, t->rxbuf, (size_t)n) != n) {
			INC(t, rx_dropped, 1);
			continue;
		}
		INC(t, rx_frames, 1);
		INC(t, rx_bytes, (uint64_t)n);
	}
	return 0;
}

/* Send the pending frame; 0 sent or dropped, -EAGAIN if VDE is full. */
static int send_pending(struct tap *t, size_t len)
{
	ssize_t n = vde_send(t->conn, t->txbuf, len, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == ENOBUFS))
		return -EAGAIN;
	if (n < 0) {
		INC(t, tx_dropped, 1);
		return 0;
	}
	INC(t, tx_frames, 1);
	INC(t, tx_bytes, len);
	return 0;
}

/* Put an MTU above what VDE carries back to the maximum. */
static void clamp_mtu(struct tap *t)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n;

	while ((n = recv(t->nlfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct nlmsghdr *h;
		int len = (int)n;

		for (h = (void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct ifinfomsg *ifi = NLMSG_DATA(h);
			struct rtattr *a;
			int alen;

			if (h->nlmsg_type != RTM_NEWLINK ||
			    ifi->ifi_index != t->ifindex)
				continue;
			alen = (int)IFLA_PAYLOAD(h);
			for (a = IFLA_RTA(ifi); RTA_OK(a, alen);
			     a = RTA_NEXT(a, alen)) {
				unsigned int mtu;
				struct ifreq ifr;

				if (a->rta_type != IFLA_MTU)
					continue;
				memcpy(&mtu, RTA_DATA(a), sizeof(mtu));
				if (mtu <= VDE_MAXMTU)
					continue;
				memset(&ifr, 0, sizeof(ifr));
				ifr.ifr_ifindex = t->ifindex;
				if (ioctl(t->ifsock, SIOCGIFNAME, &ifr) < 0)
					continue;
				ifr.ifr_mtu = VDE_MAXMTU;
				ioctl(t->ifsock, SIOCSIFMTU, &ifr);
			}
		}
	}
}

static void *relay(void *arg)
{
	struct tap *t = arg;
	size_t pending = 0;
	int eof = 0;

	for (;;) {
		struct pollfd pfd[5] = {
			{ .fd = t->stopfd, .events = POLLIN },
			{ .fd = pending ? -1 : t->tapfd, .events = POLLIN },
			{ .fd = eof ? -1 : t->datafd,
			  .events = POLLIN | POLLRDHUP |
				    (pending ? POLLOUT : 0) },
			{ .fd = eof || t->ctlfd == t->datafd ? -1 : t->ctlfd,
			  .events = POLLIN | POLLRDHUP },
			{ .fd = t->nlfd, .events = POLLIN },
		};
		int i;

		if (poll(pfd, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[4].revents)
			clamp_mtu(t);
		if (pfd[3].revents) {
			char c;
			ssize_t n = recv(t->ctlfd, &c, 1, MSG_DONTWAIT);

			if (n == 0 || (pfd[3].revents & (POLLHUP | POLLRDHUP)) ||
			    (n < 0 && errno != EAGAIN && errno != EINTR &&
			     errno != ENOTSOCK)) {
				eof = 1;
				set_carrier(t, 0);
				continue;
			}
		}
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)) {
			if (vde_to_tap(t, pfd[2].revents)) {
				eof = 1;
				pending = 0;
				set_carrier(t, 0);
				continue;
			}
		}
		if (pending && (pfd[2].revents & POLLOUT)) {
			if (send_pending(t, pending) == 0)
				pending = 0;
		}
		if (pending || !(pfd[1].revents & POLLIN))
			continue;
		for (i = 0; i < BURST; i++) {
			ssize_t n = read(t->tapfd, t->txbuf, sizeof(t->txbuf));

			if (n < 0)
				break;
			if (n < ETH_HLEN_MIN || n > VDE_ETHBUFSIZE || eof) {
				INC(t, tx_dropped, 1);
				continue;
			}
			if (send_pending(t, (size_t)n) < 0) {
				pending = (size_t)n;
				break;
			}
		}
	}
	return NULL;
}

static int tap_probe(char *reason, size_t len)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		snprintf(reason, len, "/dev/net/tun: %s%s", strerror(e),
			 e == EACCES ? " (the device must be mode 0666, as "
				       "most distributions ship it)"
				     : e == ENOENT ? " (module tun not loaded?)"
						   : "");
		return -e;
	}
	close(fd);
	return 0;
}

static int set_mtu(struct tap *t, const char *ifname, unsigned int mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_mtu = (int)mtu;
	return ioctl(t->ifsock, SIOCSIFMTU, &ifr) < 0 ? -errno : 0;
}

/* Sockets inside the stack for the MTU watch; -errno. */
static int open_watch(struct tap *t, const struct vdestack_backend_args *a)
{
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK,
				   .nl_groups = RTMGRP_LINK };
	struct ifreq ifr;

	t->ifsock = a->svc->msocket(a->stack, AF_INET,
				    SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t->ifsock < 0)
		return t->ifsock;
	t->nlfd = a->svc->msocket(a->stack, AF_NETLINK,
				  SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
				  NETLINK_ROUTE);
	if (t->nlfd < 0)
		return t->nlfd;
	if (bind(t->nlfd, (struct sockaddr *)&snl, sizeof(snl)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a->ifname);
	if (ioctl(t->ifsock, SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	t->ifindex = ifr.ifr_ifindex;
	return 0;
}

static int tap_create(const struct vdestack_backend_args *a, void **priv)
{
	struct ifreq ifr;
	sigset_t all, old;
	struct stat st;
	struct tap *t;
	int r, on = 1;

	if (!a->conn) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "needs a libvdeplug connection");
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->conn = a->conn;
	t->datafd = vde_datafd(a->conn);
	t->ctlfd = vde_ctlfd(a->conn);
	t->data_is_socket = fstat(t->datafd, &st) == 0 && S_ISSOCK(st.st_mode);
	t->nlfd = t->ifsock = -1;
	t->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->stopfd < 0) {
		r = -errno;
		goto out_free;
	}
	t->tapfd = a->svc->open_tun(a->stack);
	if (t->tapfd < 0) {
		r = t->tapfd;
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot open /dev/net/tun in the stack: %s%s",
			 strerror(-r),
			 r == -EACCES ? " (the device must be mode 0666)" : "");
		goto out_stop;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a->ifname);
	if (ioctl(t->tapfd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot create TAP %s: %s", a->ifname, strerror(-r));
		goto out_tap;
	}
	if (fcntl(t->tapfd, F_SETFL, O_NONBLOCK) < 0 ||
	    (t->datafd >= 0 && fcntl(t->datafd, F_SETFL,
				     fcntl(t->datafd, F_GETFL) | O_NONBLOCK) < 0)) {
		r = -errno;
		goto out_tap;
	}
	ioctl(t->tapfd, TUNSETCARRIER, &on);
	/*
	 * Closing the last fd of a non-persistent TAP unregisters the device
	 * synchronously (tens of ms waiting for RCU grace periods).  A
	 * persistent TAP is unregistered by the kernel's namespace cleanup
	 * worker when the stack's namespace dies, off the caller's clock.
	 * Nothing can reattach to it: the namespace is ours alone.
	 */
	ioctl(t->tapfd, TUNSETPERSIST, 1);
	r = open_watch(t, a);
	if (r < 0) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot watch the MTU of %s: %s", a->ifname,
			 strerror(-r));
		goto out_tap;
	}
	if (a->mtu) {
		r = set_mtu(t, a->ifname, a->mtu);
		if (r < 0) {
			snprintf(a->reason, VDESTACK_REASON_MAX,
				 "cannot set MTU %u on %s: %s", a->mtu,
				 a->ifname, strerror(-r));
			goto out_tap;
		}
	}

	/* the relay thread must never take the application's signals */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&t->thread, NULL, relay, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		snprintf(a->reason, VDESTACK_REASON_MAX,
			 "cannot start the relay thread: %s", strerror(-r));
		goto out_tap;
	}
	*priv = t;
	return 0;

out_tap:
	if (t->nlfd >= 0)
		close(t->nlfd);
	if (t->ifsock >= 0)
		close(t->ifsock);
	close(t->tapfd);
out_stop:
	close(t->stopfd);
out_free:
	free(t);
	return r;
}

static void tap_destroy(void *priv)
{
	struct tap *t = priv;
	uint64_t one = 1;

	if (write(t->stopfd, &one, sizeof(one)) < 0)
		return; /* cannot happen: eventfd counter far from overflow */
	pthread_join(t->thread, NULL);
	close(t->nlfd);
	close(t->ifsock);
	close(t->tapfd);
	close(t->stopfd);
	free(t);
}

static int tap_stats(void *priv, struct vde_stack_stats *st)
{
	struct tap *t = priv;

	st->rx_frames = atomic_load(&t->rx_frames);
	st->rx_bytes = atomic_load(&t->rx_bytes);
	st->tx_frames = atomic_load(&t->tx_frames);
	st->tx_bytes = atomic_load(&t->tx_bytes);
	st->rx_dropped = atomic_load(&t->rx_dropped);
	st->tx_dropped = atomic_load(&t->tx_dropped);
	st->errors = atomic_load(&t->errors);
	return 0;
}

__attribute__((visibility("default"))) const struct vdestack_backend
	vdestack_backend = {
		.abi = VDESTACK_BACKEND_ABI,
		.size = sizeof(struct vdestack_backend),
		.name = "tap",
		.summary = "TAP device in the stack, frames relayed to "
			   "libvdeplug by a library thread",
		.schemes = NULL,
		.options = NULL,
		.priority = 10,
		.max_mtu = VDE_MAXMTU,
		.probe = tap_probe,
		.create = tap_create,
		.destroy = tap_destroy,
		.stats = tap_stats,
	};
