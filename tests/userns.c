// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * userns.c - move the calling process into a user namespace of its own
 *
 * See userns.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "userns.h"

int proc_write(const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, len);
	close(fd);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

int userns_enter(int flags, uid_t uid, gid_t gid)
{
	/* unmapped ids read as the overflow id once unshared: ask first */
	uid_t outer_uid = geteuid();
	gid_t outer_gid = getegid();
	char map[64];

	if (unshare(CLONE_NEWUSER | flags) < 0)
		return USERNS_UNSHARE_FAILED;
	snprintf(map, sizeof(map), "%u %u 1", (unsigned int)uid,
		 (unsigned int)outer_uid);
	if (proc_write("/proc/self/uid_map", map) < 0)
		return USERNS_MAP_FAILED;
	/* without CAP_SETGID in the parent namespace, gid_map needs this */
	if (proc_write("/proc/self/setgroups", "deny") < 0)
		return USERNS_MAP_FAILED;
	snprintf(map, sizeof(map), "%u %u 1", (unsigned int)gid,
		 (unsigned int)outer_gid);
	if (proc_write("/proc/self/gid_map", map) < 0)
		return USERNS_MAP_FAILED;
	return 0;
}
