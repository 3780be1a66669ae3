/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * userns.h - move the calling process into a user namespace of its own
 *
 * The one way the tests write uid_map, setgroups and gid_map.  It uses
 * libc alone, so the unit tests, which link the core objects and not
 * helpers.c, have it as well as the integration tests (helpers.h includes
 * this header).
 */
#ifndef TESTS_USERNS_H
#define TESTS_USERNS_H

#include <sys/types.h>

/* userns_enter() results other than 0 (errno says why) */
#define USERNS_UNSHARE_FAILED (-1) /* nothing changed */
#define USERNS_MAP_FAILED (-2)	   /* in the namespace, ids not all mapped */

/**
 * userns_enter() - unshare a user namespace and map the caller's ids in it
 * @flags:	more CLONE_NEW* flags for the same unshare(), 0 for none
 * @uid:	uid the caller's effective uid becomes (0: root of it)
 * @gid:	gid the caller's effective gid becomes
 *
 * One id each, setgroups denied: the only mapping an unprivileged process
 * may write for itself.
 *
 * Return: 0, USERNS_UNSHARE_FAILED or USERNS_MAP_FAILED.
 */
int userns_enter(int flags, uid_t uid, gid_t gid);

/**
 * proc_write() - write a string to a /proc file in one write()
 * @path:	the file (uid_map, a sysctl, ...)
 * @s:		what to write
 *
 * Return: 0, or -1 with errno set (EIO: written in part).
 */
int proc_write(const char *path, const char *s);

#endif
