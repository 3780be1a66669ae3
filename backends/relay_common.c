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
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
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
