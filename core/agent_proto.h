/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * agent_proto.h - the control protocol between the library and the
 * namespace agent (tools/agent_main.c)
 *
 * One SOCK_SEQPACKET socket per stack; the agent has it as fd
 * VS_AGENT_CTL_FD.  Every request is one message: struct vs_req, then an
 * op-specific payload, with fds attached by SCM_RIGHTS.  Every reply is one
 * message: struct vs_reply with at most one fd attached (VS_OP_SOCKETS:
 * several).  When the stack's backend declares a prefetch list, the first
 * message on the socket comes from the spawning child before its execve()
 * (VS_OP_PREFETCH), then the agent's HELLO.
 *
 * Replies go back on the control socket, unless the request carries a
 * reply socket as its first fd: then the reply goes there.  The library
 * uses a private reply socket whenever a reply may arrive out of order
 * (commands, which run asynchronously) or when it cannot share the control
 * socket's reply stream (a fork()ed child of the application).
 */
#ifndef VS_AGENT_PROTO_H
#define VS_AGENT_PROTO_H

#include <linux/capability.h>
#include <stdint.h>

#define VS_AGENT_CTL_FD 3

/* The capabilities an agent and its commands keep (as a 64-bit mask):
 * upstream's four network ones. */
#define VS_NETCAPS                                                             \
	((1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW) |                     \
	 (1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_NET_BROADCAST))
#define VS_AGENT_MAGIC 0x76647361u /* "vdsa" */

enum vs_op {
	VS_OP_HELLO = 1, /* agent -> library, once, ret = 0 or -errno */
	VS_OP_PING,	 /* no-op round trip */
	VS_OP_SOCKET,	 /* arg[0..2] = domain, type, protocol */
	VS_OP_OPEN_TUN,	 /* open /dev/net/tun */
	VS_OP_CMD,	 /* payload: packed commands; fds: reply, 0, 1, 2 */
	VS_OP_SOCKETS,	 /* arg[0..2] as SOCKET; payload: uint32_t count;
			  * reply: ret = n made (>= 1), n fds */
	VS_OP_PREFETCH,	 /* spawning child -> library, once, before the
			  * HELLO: ret = mask of the backend's prefetch
			  * entries made, their fds in order */
};

/* most sockets one VS_OP_SOCKETS reply carries */
#define VS_SOCKET_BATCH_MAX 16

/* largest request: header + VS_STACKCMD_MAX of packed commands */
#define VS_REQ_MAX (256 * 1024)
#define VS_MAX_FDS 4

struct vs_req {
	uint32_t magic;
	uint32_t op;
	int32_t arg[3];
	uint32_t len; /* payload bytes following the header */
};

struct vs_reply {
	uint32_t magic;
	uint32_t op;
	int32_t ret; /* >= 0 result, or -errno */
	int32_t pid; /* HELLO: the agent's pid as the agent sees it */
	char msg[128]; /* human-readable detail of a failure, "" if none */
};

#endif
