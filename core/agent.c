// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * agent.c - the library's side of the agent protocol
 *
 * Fast path: in the process that created the stack, a request and its reply
 * travel on the control socket under @ctl_lock, held for one round trip.
 * While vde_addstack() runs, the agent's HELLO may still be on its way: it
 * is read first (vs_agent_hello_locked()), after the request is sent, so
 * the agent finds the request as soon as it is ready.  A private reply
 * cannot be taken for it, so the private path leaves it on the control
 * socket (vde_addstack() reads it before it returns).
 * Private path: in a fork()ed child (whose copy of @ctl_lock may be stuck
 * locked and whose replies must not be read by the parent), and for
 * commands (which answer whenever they finish), the request carries its
 * own reply socket; nothing shared is locked or read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_proto.h"
#include "fdpass.h"
#include "stack.h"

static int read_reply(int sock, int op, int *rfd, char *msg, size_t msglen)
{
	struct vs_reply r;
	unsigned int n = 0;
	int fd = -1;
	ssize_t len;

	len = vs_fd_recv(sock, &r, sizeof(r), &fd, &n, 1);
	if (len == -EMSGSIZE) {
		/* the kernel could not install the fd the agent sent */
		snprintf(msg, msglen,
			 "no free file descriptor in this process (see "
			 "RLIMIT_NOFILE)");
		return -EMFILE;
	}
	if (len == 0)
		len = -ECONNRESET;
	if (len < 0) {
		snprintf(msg, msglen, "the stack's agent is gone: %s",
			 strerror((int)-len));
		return (int)len;
	}
	if (len != (ssize_t)sizeof(r) || r.magic != VS_AGENT_MAGIC ||
	    (int)r.op != op) {
		if (n)
			close(fd);
		snprintf(msg, msglen, "protocol error talking to the agent");
		return -EPROTO;
	}
	r.msg[sizeof(r.msg) - 1] = '\0';
	if (r.ret < 0) {
		if (n)
			close(fd);
		snprintf(msg, msglen, "%s", r.msg);
		return r.ret;
	}
	if (rfd) {
		if (!n) {
			snprintf(msg, msglen, "the agent sent no descriptor");
			return -EPROTO;
		}
		*rfd = fd;
	} else if (n) {
		close(fd);
	}
	return r.ret;
}

/**
 * vs_agent_sockets() - up to @want sockets of one kind in one round trip
 * @s:		stack (referenced by the caller; only in the creating process)
 * @args:	domain, type, protocol
 * @want:	1 to VS_SOCKET_BATCH_MAX
 * @fds:	receives the sockets
 * @msg, @msglen: detail of a failure
 *
 * Return: number of sockets received (>= 1), or -errno.
 */
int vs_agent_sockets(struct vdestack *s, const int *args, unsigned int want,
		     int *fds, char *msg, size_t msglen)
{
	struct vs_req req = { .magic = VS_AGENT_MAGIC, .op = VS_OP_SOCKETS,
			      .len = sizeof(uint32_t) };
	uint32_t count = want;
	unsigned int n = 0, i;
	struct vs_reply r;
	ssize_t len;
	int ret;

	memcpy(req.arg, args, sizeof(req.arg));
	pthread_mutex_lock(&s->ctl_lock);
	len = vs_fd_send(s->ctl, &req, sizeof(req), &count, sizeof(count),
			 NULL, 0);
	if (len >= 0) {
		ret = vs_agent_hello_locked(s, msg, msglen);
		if (ret < 0) {
			pthread_mutex_unlock(&s->ctl_lock);
			return ret;
		}
		len = vs_fd_recv(s->ctl, &r, sizeof(r), fds, &n,
				 VS_SOCKET_BATCH_MAX);
	}
	pthread_mutex_unlock(&s->ctl_lock);
	if (len == -EMSGSIZE) {
		snprintf(msg, msglen,
			 "no free file descriptor in this process (see "
			 "RLIMIT_NOFILE)");
		return -EMFILE;
	}
	if (len <= 0) {
		ret = len ? (int)len : -ECONNRESET;
		snprintf(msg, msglen, "the stack's agent is gone: %s",
			 strerror(-ret));
		return ret;
	}
	if (len != (ssize_t)sizeof(r) || r.magic != VS_AGENT_MAGIC ||
	    r.op != VS_OP_SOCKETS || (r.ret >= 0 && (unsigned int)r.ret != n) ||
	    (r.ret < 0 && n)) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		snprintf(msg, msglen, "protocol error talking to the agent");
		return -EPROTO;
	}
	if (r.ret < 0) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		snprintf(msg, msglen, "%s", r.msg);
		return r.ret;
	}
	return (int)n;
}

/**
 * vs_agent_call() - one request to the stack's agent
 * @s:		stack (referenced by the caller)
 * @op:		enum vs_op
 * @args:	three ints, or NULL
 * @payload, @len: request payload
 * @fds, @nfds: extra fds to pass (after the private reply socket)
 * @rfd:	receives the fd of the reply, if the op returns one
 * @msg, @msglen: detail of a failure
 *
 * Return: the reply's result (>= 0), or -errno.
 */
int vs_agent_call(struct vdestack *s, int op, const int *args,
		  const void *payload, size_t len, const int *fds,
		  unsigned int nfds, int *rfd, char *msg, size_t msglen)
{
	struct vs_req req = { .magic = VS_AGENT_MAGIC, .op = (uint32_t)op };
	int pfds[VS_MAX_FDS], sv[2], r;
	unsigned int i;
	ssize_t n;

	if (args)
		memcpy(req.arg, args, sizeof(req.arg));
	req.len = (uint32_t)len;
	if (nfds + 1 > VS_MAX_FDS || len + sizeof(req) > VS_REQ_MAX)
		return -E2BIG;

	if (!nfds && getpid() == s->owner) {
		pthread_mutex_lock(&s->ctl_lock);
		n = vs_fd_send(s->ctl, &req, sizeof(req), payload, len, NULL,
			       0);
		if (n < 0) {
			pthread_mutex_unlock(&s->ctl_lock);
			snprintf(msg, msglen, "the stack's agent is gone: %s",
				 strerror((int)-n));
			return (int)n;
		}
		r = vs_agent_hello_locked(s, msg, msglen);
		if (r == 0)
			r = read_reply(s->ctl, op, rfd, msg, msglen);
		pthread_mutex_unlock(&s->ctl_lock);
		return r;
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		snprintf(msg, msglen, "socketpair: %s", strerror(-r));
		return r;
	}
	pfds[0] = sv[1];
	for (i = 0; i < nfds; i++)
		pfds[i + 1] = fds[i];
	n = vs_fd_send(s->ctl, &req, sizeof(req), payload, len, pfds,
		       nfds + 1);
	close(sv[1]);
	if (n < 0) {
		close(sv[0]);
		snprintf(msg, msglen, "the stack's agent is gone: %s",
			 strerror((int)-n));
		return (int)n;
	}
	r = read_reply(sv[0], op, rfd, msg, msglen);
	close(sv[0]);
	return r;
}
