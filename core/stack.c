// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * stack.c - the public API: create, use and delete stacks
 *
 * DOC: Theory of Operation
 *
 * vde_addstack() opens the VDE network in the caller's process (so
 * "seqpacket://5" is the caller's fd 5), starts the namespace agent
 * (spawn.c) and asks the backend to start forwarding between the VDE
 * connection and an interface it creates inside the stack.  Sockets come
 * from the agent by SCM_RIGHTS (agent.c).
 *
 * Lifetime: every API call takes a reference under @lock; vde_delstack()
 * marks the stack dying, shuts the control socket down (which wakes any
 * call blocked on the agent and makes the agent exit), kills the agent,
 * waits until no call is inside, then tears down backend, connection and
 * memory.  A call that starts after vde_delstack() returned is a use after
 * free in the caller, as with close(2) and a reused fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <libvdeplug.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_proto.h"
#include "options.h"
#include "stack.h"
#include "stackcmd_parse.h"

#define DEFAULT_IFNAME "vde0"
#define DEFAULT_MTU 1500

/*
 * In a fork()ed child the stack's locks are copies that another thread of
 * the parent may have held at fork() time: the child takes none of them.
 * It has no other threads of its own to race with vde_delstack() anyway.
 */
int vs_stack_get(struct vdestack *s)
{
	int r = 0;

	if (getpid() != s->owner)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (s->dying)
		r = -ESHUTDOWN;
	else
		s->refs++;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void vs_stack_put(struct vdestack *s)
{
	if (getpid() != s->owner)
		return;
	pthread_mutex_lock(&s->lock);
	if (--s->refs == 0 && s->dying)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

/* Set errno and the thread's message from an internal -errno result. */
static int fail(int r, const char *msg)
{
	if (msg && *msg)
		vs_set_errmsg("%s", msg);
	else
		vs_set_errmsg("%s", strerror(-r));
	errno = -r;
	return -1;
}

static int valid_ifname(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == ':' || c <= ' ' || c >= 0x7f)
			return 0;
	}
	return 1;
}

/*
 * prefetched() - a descriptor made with the namespace (the backend's
 * prefetch list) that matches, or -1.  It is O_CLOEXEC and blocking, like
 * a pooled socket: vs_msocket() gives it the call's flags.
 */
static int prefetched(struct vdestack *s, int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), fd = -1;
	unsigned int i;

	if (!s->pf_n) /* set and emptied while vde_addstack() runs */
		return -1;
	pthread_mutex_lock(&s->pool_lock);
	for (i = 0; i < s->pf_n; i++) {
		const struct vdestack_fd_request *q = &s->pf[i].req;

		if (s->pf[i].fd >= 0 && q->domain == domain &&
		    q->type == base && q->protocol == protocol) {
			fd = s->pf[i].fd;
			s->pf[i].fd = -1;
			break;
		}
	}
	pthread_mutex_unlock(&s->pool_lock);
	return fd;
}

/* the prefetched descriptors create() left */
static void prefetch_flush(struct vdestack *s)
{
	unsigned int i;

	for (i = 0; i < s->pf_n; i++)
		if (s->pf[i].fd >= 0)
			close(s->pf[i].fd);
	s->pf_n = 0;
}

/* services offered to backends */
static int svc_open_tun(void *stack)
{
	char msg[128];
	int fd = prefetched(stack, VDESTACK_FD_TUN, 0, 0), r;

	if (fd >= 0)
		return fd;
	r = vs_agent_call(stack, VS_OP_OPEN_TUN, NULL, NULL, 0, NULL, 0, &fd,
			  msg, sizeof(msg));
	return r < 0 ? r : fd;
}

static int svc_msocket(void *stack, int domain, int type, int protocol)
{
	return vs_msocket(stack, domain, type, protocol);
}

static void svc_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vs_debug("%s", buf);
}

const struct vdestack_services vs_services = {
	.abi = VDESTACK_BACKEND_ABI,
	.size = sizeof(struct vdestack_services),
	.open_tun = svc_open_tun,
	.msocket = svc_msocket,
	.log = svc_log,
};

/* wake every caller blocked on the agent and kill it (it is not reaped) */
static void agent_kill(struct vdestack *s)
{
	if (s->ctl >= 0)
		shutdown(s->ctl, SHUT_RDWR);
	/* kill() only where pidfd_send_signal is missing (valgrind): the
	 * agent is our unreaped child, its pid cannot be reused */
	if (s->agent_pidfd >= 0 &&
	    syscall(SYS_pidfd_send_signal, s->agent_pidfd, SIGKILL, NULL, 0) <
		    0 &&
	    errno == ENOSYS)
		kill(s->agent_pid, SIGKILL);
}

static void agent_reap(struct vdestack *s)
{
	siginfo_t si;

	if (s->agent_pidfd < 0)
		return;
	while (waitid(P_PIDFD, (id_t)s->agent_pidfd, &si, WEXITED | __WALL) <
		       0 &&
	       errno == EINTR)
		;
	close(s->agent_pidfd);
	s->agent_pidfd = -1;
}

static void agent_stop(struct vdestack *s)
{
	agent_kill(s);
	agent_reap(s);
}

/*
 * choose_backend() - the backend for @vdenet and the options
 * @probed:	set when the choice already ran the backend's probe (auto)
 *
 * The probe of an explicit choice runs later, in probe_backend(), once the
 * options are known to be valid: a caller's typo is reported as such even
 * where the backend could not run anyway.
 */
static int choose_backend(const char *vdenet, const struct vs_options *o,
			  const struct vdestack_backend **be, bool *claims,
			  bool *probed, char *msg, size_t msglen)
{
	int r;

	r = vs_backend_for_scheme(vdenet, be, msg, msglen);
	if (r == 1) {
		*claims = true;
		if (o->backend[0] && strcmp(o->backend, "auto") &&
		    strcmp(o->backend, (*be)->name)) {
			snprintf(msg, msglen,
				 "backend %s cannot serve '%.64s' (claimed by "
				 "backend %s)",
				 o->backend, vdenet, (*be)->name);
			return -EINVAL;
		}
	} else if (!o->backend[0] || !strcmp(o->backend, "auto")) {
		*probed = true;
		return vs_backend_auto(be, msg, msglen);
	} else {
		r = vs_backend_load(o->backend, be, msg, msglen);
		if (r < 0)
			return r;
		if ((*be)->schemes) {
			snprintf(msg, msglen,
				 "backend %s only serves its own scheme "
				 "(%s://...)",
				 (*be)->name, (*be)->schemes[0]);
			return -EINVAL;
		}
	}
	return 0;
}

static int probe_backend(const struct vdestack_backend *be, char *msg,
			 size_t msglen)
{
	char reason[VDESTACK_REASON_MAX] = "";
	int r = be->probe(reason, sizeof(reason));

	if (r < 0)
		snprintf(msg, msglen, "backend %s cannot run here: %s",
			 be->name, reason);
	return r;
}

static void pool_flush(struct vdestack *s, bool locked);

/**
 * stack_create() - the body of vde_addstack() and vde_addstack_opt()
 * Return: stack or NULL with errno and message set.
 */
static struct vdestack *stack_create(const char *vdenet, const char *ifname,
				     const char *options)
{
	char msg[1024] = "";
	const struct vdestack_backend *be = NULL;
	struct vs_options o;
	bool claims = false, probed = false;
	struct vdestack *s;
	int r;

	vs_clear_errmsg();
	if (!ifname)
		ifname = DEFAULT_IFNAME;
	if (!valid_ifname(ifname)) {
		snprintf(msg, sizeof(msg),
			 "invalid interface name (1 to %d characters, no '/', "
			 "':' or blanks)",
			 IFNAMSIZ - 1);
		fail(-EINVAL, msg);
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	r = vs_options_parse(secure_getenv("VDESTACK_OPTIONS"), &o, msg,
			     sizeof(msg));
	if (r == 0)
		r = vs_options_parse(options, &o, msg, sizeof(msg));
	if (r < 0) {
		fail(r, msg);
		return NULL;
	}
	if (o.debug)
		vs_debug_enable();
	if (vdenet && *vdenet) {
		r = choose_backend(vdenet, &o, &be, &claims, &probed, msg,
				   sizeof(msg));
		if (r == 0 && be->options == NULL && o.backend_opts[0]) {
			snprintf(msg, sizeof(msg),
				 "options: backend %s takes no options (got "
				 "'%.64s')",
				 be->name, o.backend_opts);
			r = -EINVAL;
		} else if (r == 0 && be->options) {
			const char *keys[33];
			unsigned int i;

			for (i = 0; i < 32 && be->options[i].name; i++)
				keys[i] = be->options[i].name;
			keys[i] = NULL;
			r = vs_options_check_backend(o.backend_opts, keys, msg,
						     sizeof(msg));
		}
		if (r == 0 && o.mtu && be->max_mtu && o.mtu > be->max_mtu) {
			snprintf(msg, sizeof(msg),
				 "options: mtu: %u is larger than backend %s "
				 "can carry (%u)",
				 o.mtu, be->name, be->max_mtu);
			r = -EINVAL;
		}
		if (r == 0 && !probed)
			r = probe_backend(be, msg, sizeof(msg));
		if (r < 0) {
			fail(r, msg);
			return NULL;
		}
	}

	s = calloc(1, sizeof(*s));
	if (!s) {
		fail(-ENOMEM, NULL);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	pthread_mutex_init(&s->ctl_lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	s->ctl = -1;
	s->agent_pidfd = -1;
	s->owner = getpid();
	s->be = be;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);

	if (be && !claims) {
		errno = 0;
		/* the network is opened on the host, not in a default stack */
		vs_socket_bypass(true);
		s->conn = vde_open((char *)vdenet, "vdestack", NULL);
		vs_socket_bypass(false);
		if (!s->conn) {
			r = errno ? -errno : -EINVAL;
			snprintf(msg, sizeof(msg),
				 "cannot open VDE network '%.128s': %s", vdenet,
				 strerror(-r));
			goto out_free;
		}
	}
	/* the agent sets itself up while the backend is created */
	r = vs_agent_spawn(s, msg, sizeof(msg));
	if (r < 0)
		goto out_agent;
	if (be) {
		char reason[VDESTACK_REASON_MAX] = "";
		struct vdestack_backend_args args = {
			.size = sizeof(args),
			.svc = &vs_services,
			.stack = s,
			.vdenet = vdenet,
			.conn = s->conn,
			.ifname = s->ifname,
			.mtu = o.mtu,
			.options = o.backend_opts,
			.reason = reason,
		};

		r = be->create(&args, &s->be_priv);
		prefetch_flush(s);
		if (r < 0 && s->hello_err) {
			/* the agent failed to start: that is the reason */
			r = s->hello_err;
			snprintf(msg, sizeof(msg), "%s", s->hello_msg);
			goto out_agent;
		}
		if (r < 0) {
			snprintf(msg, sizeof(msg), "backend %s: %s", be->name,
				 reason[0] ? reason : strerror(-r));
			goto out_agent;
		}
	}
	r = vs_agent_hello(s, msg, sizeof(msg));
	if (r < 0) {
		if (be)
			be->destroy(s->be_priv);
		goto out_agent;
	}
	vs_debug("stack %p: agent %d, backend %s, interface %s", (void *)s,
		 s->agent_pid, be ? be->name : "none", s->ifname);
	return s;

out_agent:
	if (s->hello_pending) {
		/* not killed half-started (a sanitizer's runtime, say, would
		 * leave its temporary files behind): it is ready at once */
		char ignored[128];

		vs_agent_hello(s, ignored, sizeof(ignored));
	}
	agent_stop(s);
	if (s->ctl >= 0)
		close(s->ctl);
	prefetch_flush(s);
	if (s->conn)
		vde_close(s->conn);
out_free:
	pool_flush(s, false);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->ctl_lock);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
	fail(r, msg);
	return NULL;
}

VS_EXPORT struct vdestack *vde_addstack(const char *vdenet, const char *ifname)
{
	return stack_create(vdenet, ifname, NULL);
}

VS_EXPORT struct vdestack *vde_addstack_opt(const char *vdenet,
					    const char *ifname,
					    const char *options)
{
	return stack_create(vdenet, ifname, options);
}

/**
 * vde_delstack() - destroy a stack
 * @stack:	stack, or NULL (no-op)
 *
 * In a fork()ed child, only the child's references are dropped (its copy
 * of the control socket and of the memory); the parent's stack goes on.
 */
VS_EXPORT void vde_delstack(struct vdestack *s)
{
	if (!s)
		return;
	if (getpid() != s->owner) {
		vs_default_forget(s);
		pool_flush(s, false); /* the child's copies */
		close(s->ctl);
		close(s->agent_pidfd);
		/* the relay threads and the VDE connection's state belong to
		 * the parent; freeing the copy would run plugin code on it */
		free(s);
		return;
	}
	vs_default_forget(s);

	pthread_mutex_lock(&s->lock);
	s->dying = true;
	pthread_mutex_unlock(&s->lock);
	/* the agent dies while the backend is taken down: reaped last */
	agent_kill(s);

	pthread_mutex_lock(&s->lock);
	while (s->refs)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);

	if (s->be)
		s->be->destroy(s->be_priv);
	if (s->conn)
		vde_close(s->conn);
	agent_reap(s);
	close(s->ctl);
	pool_flush(s, false);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->ctl_lock);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/*
 * The socket pool.  A round trip to the agent with a descriptor in it
 * costs several times a socket(2); most programs ask for the same few
 * kinds again and again.  For the four common kinds (IPv4/IPv6, stream/
 * datagram, protocol 0), each miss fetches a batch from the agent (1, 2,
 * 4, ... up to VS_SOCKET_BATCH_MAX sockets in one reply: a program that
 * makes few sockets holds few spare ones) and later calls are served from
 * it.  A pooled socket is a fresh, never used socket of the stack's
 * namespace, like the one socket(2) in the agent would make now, except
 * that its defaults were read from the namespace's sysctls when it was
 * made: vde_stackcmd(), which can change them, empties the pool.  Only
 * the creating process uses the pool (a fork()ed child shares its
 * descriptors' files with the parent).
 */
static int pool_key(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_CLOEXEC | SOCK_NONBLOCK);
	int d = domain == AF_INET ? 0 : domain == AF_INET6 ? 1 : -1;
	int t = base == SOCK_STREAM ? 0 : base == SOCK_DGRAM ? 1 : -1;

	if (protocol != 0 || d < 0 || t < 0)
		return -1;
	return d * 2 + t;
}

static void pool_flush(struct vdestack *s, bool locked)
{
	unsigned int k;

	if (locked)
		pthread_mutex_lock(&s->pool_lock);
	for (k = 0; k < sizeof(s->pool) / sizeof(s->pool[0]); k++) {
		while (s->pool[k].n)
			close(s->pool[k].fd[--s->pool[k].n]);
		s->pool[k].batch = 0;
	}
	if (locked)
		pthread_mutex_unlock(&s->pool_lock);
}

/* A socket of kind @key from the pool, refilled on a miss; -errno. */
static int pool_get(struct vdestack *s, int key, int domain, int type,
		    char *msg, size_t msglen)
{
	struct vs_pool *p = &s->pool[key];
	int args[3] = { domain, type | SOCK_CLOEXEC, 0 };
	int got[VS_SOCKET_BATCH_MAX], fd = -1, r, i;
	unsigned int want;

	pthread_mutex_lock(&s->pool_lock);
	if (p->n)
		fd = p->fd[--p->n];
	want = p->batch ? p->batch : 1;
	if (fd < 0)
		p->batch = want * 2 > VS_SOCKET_BATCH_MAX ? VS_SOCKET_BATCH_MAX
							  : want * 2;
	pthread_mutex_unlock(&s->pool_lock);
	if (fd >= 0)
		return fd;

	r = vs_agent_sockets(s, args, want, got, msg, msglen);
	if (r == -EMFILE && want > 1)
		r = vs_agent_sockets(s, args, 1, got, msg, msglen);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->pool_lock);
	for (i = 1; i < r; i++) {
		if (p->n < VS_SOCKET_BATCH_MAX)
			p->fd[p->n++] = got[i];
		else
			close(got[i]);
	}
	pthread_mutex_unlock(&s->pool_lock);
	return got[0];
}

/* socket in the stack; -errno, and the thread's message set. */
int vs_msocket(struct vdestack *s, int domain, int type, int protocol)
{
	int args[3] = { domain, type | SOCK_CLOEXEC, protocol };
	char msg[160] = "";
	int key = pool_key(domain, type, protocol), r = 0;
	bool pooled = key >= 0 && getpid() == s->owner;
	int fd = prefetched(s, domain, type, protocol);

	if (fd < 0 && pooled)
		fd = r = pool_get(s, key, domain,
				  type & ~(SOCK_CLOEXEC | SOCK_NONBLOCK), msg,
				  sizeof(msg));
	if (fd >= 0) {
		/* made ahead (prefetched or pooled): blocking */
		if ((type & SOCK_NONBLOCK) &&
		    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
			r = -errno;
			close(fd);
		}
	} else if (!pooled) {
		r = vs_agent_call(s, VS_OP_SOCKET, args, NULL, 0, NULL, 0, &fd,
				  msg, sizeof(msg));
	}
	if (r < 0) {
		vs_set_errmsg("%s", msg[0] ? msg : strerror(-r));
		return r;
	}
	/* sockets cross SCM_RIGHTS as O_CLOEXEC (MSG_CMSG_CLOEXEC): give
	 * the caller exactly the flag it asked for */
	if (!(type & SOCK_CLOEXEC))
		fcntl(fd, F_SETFD, 0);
	return fd;
}

VS_EXPORT int vde_msocket(struct vdestack *s, int domain, int type,
			  int protocol)
{
	int r;

	if (!s)
		return fail(-EINVAL, "vde_msocket: no stack");
	r = vs_stack_get(s);
	if (r < 0)
		return fail(r, "vde_msocket: the stack is being deleted");
	r = vs_msocket(s, domain, type, protocol);
	vs_stack_put(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/**
 * vde_stackcmd() - run commands inside the stack
 * Return: 0, the first non-zero status (128+N: signal N; 127/126: could not
 * execute), or -1 with errno (EINVAL: malformed or relative command).
 */
VS_EXPORT int vde_stackcmd(struct vdestack *s, const char *stackcmd)
{
	int stdio[3] = { 0, 1, 2 }, r, i;
	unsigned int ncmds;
	char msg[256];
	char *buf;
	size_t len;

	if (!s)
		return fail(-EINVAL, "vde_stackcmd: no stack");
	r = vs_stackcmd_parse(stackcmd, &buf, &len, &ncmds, msg, sizeof(msg));
	if (r < 0)
		return fail(r, msg);
	r = vs_stack_get(s);
	if (r < 0) {
		free(buf);
		return fail(r, "vde_stackcmd: the stack is being deleted");
	}
	/* commands may change the sysctls new sockets read their defaults
	 * from: sockets made before must not be handed out after */
	if (getpid() == s->owner)
		pool_flush(s, true);
	/* a closed stdio fd is passed as /dev/null */
	for (i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0)
			stdio[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
	r = vs_agent_call(s, VS_OP_CMD, NULL, buf, len, stdio, 3, NULL, msg,
			  sizeof(msg));
	for (i = 0; i < 3; i++)
		if (stdio[i] != i && stdio[i] >= 0)
			close(stdio[i]);
	vs_stack_put(s);
	free(buf);
	if (r < 0)
		return fail(r, msg);
	return r;
}

VS_EXPORT const char *vde_stack_backend(struct vdestack *s)
{
	if (!s) {
		errno = EINVAL;
		return NULL;
	}
	return s->be ? s->be->name : "none";
}

VS_EXPORT const char *vde_stack_ifname(struct vdestack *s)
{
	if (!s) {
		errno = EINVAL;
		return NULL;
	}
	return s->ifname;
}

VS_EXPORT int vde_stack_stats(struct vdestack *s, struct vde_stack_stats *st,
			      size_t size)
{
	struct vde_stack_stats tmp;
	int r = 0;

	if (!s || !st || size == 0)
		return fail(-EINVAL, "vde_stack_stats: bad arguments");
	memset(&tmp, 0, sizeof(tmp));
	if (vs_stack_get(s) < 0)
		return fail(-ESHUTDOWN, NULL);
	if (s->be && s->be->stats)
		r = s->be->stats(s->be_priv, &tmp);
	vs_stack_put(s);
	if (r < 0)
		return fail(r, NULL);
	memcpy(st, &tmp, size < sizeof(tmp) ? size : sizeof(tmp));
	if (size > sizeof(tmp))
		memset((char *)st + sizeof(tmp), 0, size - sizeof(tmp));
	return 0;
}
