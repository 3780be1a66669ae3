// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * prefetch.so - declares a prefetch list and checks, in create(), that
 * those descriptors come without the agent: it takes one socket the usual
 * way (so the agent is up), kills the agent, then takes the prefetched
 * ones and one more that is not prefetched.  It fails with ENOTSUP and a
 * reason that says what it saw, "prefetch:" and one word per check.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "fake.h"

#define IFNAME "pftest0"

static const struct vdestack_fd_request pf_list[] = {
	{VDESTACK_FD_TUN, 0, 0},
	{AF_INET, SOCK_DGRAM, 0},
	{AF_NETLINK, SOCK_RAW, NETLINK_ROUTE},
	{AF_INET6, SOCK_STREAM, 0}, /* never taken: the core closes it */
	{0, 0, 0},
};

/* the stack's agent: our child named vdestack-agent */
static pid_t find_agent(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = -1;

	while (d && (e = readdir(d))) {
		char path[300], buf[512], *p;
		FILE *f;
		int ppid;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) &&
		    strstr(buf, "(vdestack-agen") && (p = strrchr(buf, ')')) &&
		    sscanf(p, ") %*c %d", &ppid) == 1 && ppid == getpid())
			found = atoi(e->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/* the inode of @fd's network namespace, 0 if unknown */
static unsigned long netns_of(int fd)
{
	struct stat st;
	int ns = ioctl(fd, SIOCGSKNS);
	unsigned long ino = 0;

	if (ns >= 0 && fstat(ns, &st) == 0)
		ino = (unsigned long)st.st_ino;
	if (ns >= 0)
		close(ns);
	return ino;
}

static int pf_create(const struct vdestack_backend_args *a, void **priv)
{
	const struct vdestack_services *svc = a->svc;
	int up, tun, dg, nl, again, tun2, fl;
	int *const mine[] = {&up, &tun, &dg, &nl, &again, &tun2};
	struct ifreq ifr;
	siginfo_t si;
	pid_t agent;
	char *r = a->reason;
	size_t len = VDESTACK_REASON_MAX;

	(void)priv;
#define SAY(...)                                                               \
	do {                                                                   \
		size_t o_ = strlen(r);                                         \
		snprintf(r + o_, len - o_, __VA_ARGS__);                       \
	} while (0)
	r[0] = '\0';
	SAY("prefetch:");
	up = svc->msocket(a->stack, AF_INET6, SOCK_DGRAM, 0);
	SAY(up >= 0 ? " asked" : " ask-failed");
	agent = find_agent();
	if (agent > 0 && kill(agent, SIGKILL) == 0 &&
	    waitid(P_PID, (id_t)agent, &si, WEXITED | WNOWAIT | __WALL) == 0)
		SAY(" killed");

	tun = svc->open_tun(a->stack);
	dg = svc->msocket(a->stack, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	nl = svc->msocket(a->stack, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
			  NETLINK_ROUTE);
	again = svc->msocket(a->stack, AF_INET, SOCK_DGRAM, 0);
	tun2 = svc->open_tun(a->stack);
	SAY(tun >= 0 ? " tun" : " no-tun");
	SAY(dg >= 0 ? " dgram" : " no-dgram");
	SAY(nl >= 0 ? " netlink" : " no-netlink");
	SAY(again < 0 && tun2 < 0 ? " rest-asked" : " rest-served");
	if (dg >= 0 && (fl = fcntl(dg, F_GETFL)) >= 0 && (fl & O_NONBLOCK))
		SAY(" nonblock");
	if (nl >= 0 && (fl = fcntl(nl, F_GETFD)) >= 0 && (fl & FD_CLOEXEC))
		SAY(" cloexec");
	if (tun >= 0 && (fl = fcntl(tun, F_GETFD)) >= 0 && (fl & FD_CLOEXEC))
		SAY(" tun-cloexec");
	/* the TAP, made from the prefetched fd, is seen by the prefetched
	 * socket, which shares the asked socket's namespace, not ours */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", IFNAME);
	if (tun >= 0 && dg >= 0 && ioctl(tun, TUNSETIFF, &ifr) == 0 &&
	    ioctl(dg, SIOCGIFINDEX, &ifr) == 0 && !if_nametoindex(IFNAME))
		SAY(" tap-in-stack");
	if (up >= 0 && dg >= 0 && nl >= 0 && netns_of(up) &&
	    netns_of(up) == netns_of(dg) && netns_of(up) == netns_of(nl))
		SAY(" same-netns");
	SAY(".");
	for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++)
		if (*mine[i] >= 0)
			close(*mine[i]);
	return -ENOTSUP;
}

FAKE_DESCRIPTOR(.name = "prefetch", .create = pf_create, .prefetch = pf_list);
