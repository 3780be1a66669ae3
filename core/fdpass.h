/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VS_FDPASS_H
#define VS_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

ssize_t vs_fd_send(int sock, const void *hdr, size_t hlen, const void *data,
		   size_t dlen, const int *fds, unsigned int nfds);
ssize_t vs_fd_recv(int sock, void *buf, size_t len, int *fds,
		   unsigned int *nfds, unsigned int maxfds);

#endif
