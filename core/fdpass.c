// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fdpass.c - one message with file descriptors over a SOCK_SEQPACKET socket
 *
 * Shared by the library and the agent (the agent links this file too).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdpass.h"

#define VS_CMSG_MAXFDS 16
#define VS_CMSG_SPACE CMSG_SPACE(sizeof(int) * VS_CMSG_MAXFDS)

/**
 * vs_fd_send() - send header + data as one message, with fds attached
 * @sock:	SOCK_SEQPACKET socket
 * @hdr, @hlen:	fixed header
 * @data, @dlen: optional payload (may be NULL/0)
 * @fds, @nfds: descriptors to pass (at most VS_CMSG_MAXFDS)
 *
 * Return: bytes sent, or -errno.  Never raises SIGPIPE.
 */
ssize_t vs_fd_send(int sock, const void *hdr, size_t hlen, const void *data,
		   size_t dlen, const int *fds, unsigned int nfds)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = hlen },
		{ .iov_base = (void *)data, .iov_len = dlen },
	};
	union {
		char buf[VS_CMSG_SPACE];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {
		.msg_iov = iov,
		.msg_iovlen = dlen ? 2 : 1,
	};
	ssize_t n;

	if (nfds > VS_CMSG_MAXFDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/**
 * vs_fd_recv() - receive one message and the fds attached to it
 * @sock:	SOCK_SEQPACKET socket
 * @buf, @len:	message buffer
 * @fds:	array of @maxfds, filled with received descriptors (O_CLOEXEC)
 * @nfds:	number received
 * @maxfds:	capacity of @fds
 *
 * Descriptors beyond @maxfds, or attached to a truncated message, are
 * closed here: a peer can never make us leak fds.
 *
 * Return: message length (0 on EOF), -EMSGSIZE if truncated, or -errno.
 */
ssize_t vs_fd_recv(int sock, void *buf, size_t len, int *fds,
		   unsigned int *nfds, unsigned int maxfds)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	union {
		char buf[VS_CMSG_SPACE];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	unsigned int got = 0;
	ssize_t n;

	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k, cnt;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt; k++) {
			memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(fd));
			if (got < maxfds && fds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		while (got)
			close(fds[--got]);
		if (nfds)
			*nfds = 0;
		return -EMSGSIZE;
	}
	if (nfds)
		*nfds = got;
	return n;
}
