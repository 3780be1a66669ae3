/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stack.h - internals shared by the core's files
 *
 * Convention inside the core: 0 or a result on success, -errno on failure;
 * errno and the thread's message are set once, at the API boundary.
 */
#ifndef VS_STACK_H
#define VS_STACK_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include <vdestack.h>
#include <vdestack_backend.h>

#define VS_EXPORT __attribute__((visibility("default")))

struct vdeconn;

/**
 * struct vdestack - one stack
 * @lock:	protects @refs and @dying
 * @idle:	signalled when @refs drops to 0 while @dying
 * @refs:	calls in progress on this stack
 * @dying:	vde_delstack() has started: new calls fail with ESHUTDOWN
 * @ctl_lock:	serialises request/reply pairs on @ctl
 * @ctl:	control socket to the agent
 * @agent_pid:	the agent, a child of the process that created the stack
 * @agent_pidfd: pidfd of the agent
 * @hello_pending: the agent's HELLO is not read yet (vs_agent_hello()),
 *		under @ctl_lock; only while vde_addstack() runs
 * @hello_err:	why the agent could not start (HELLO's error), or 0
 * @hello_msg:	its message
 * @owner:	getpid() of the creating process (fork detection)
 * @conn:	libvdeplug connection, or NULL
 * @be:		backend descriptor, or NULL for a stack without network
 * @be_priv:	backend state
 * @ifname:	interface name in the stack
 * @pf:		descriptors made with the namespace for the backend's
 *		create() (its prefetch list); fd -1 once taken, the rest
 *		closed when create() returns
 * @pf_n:	entries in @pf
 * @pool_lock:	protects @pool and @pf
 * @pool:	sockets made ahead, per common kind (see vs_msocket())
 */
struct vdestack {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned int refs;
	bool dying;
	pthread_mutex_t ctl_lock;
	int ctl;
	pid_t agent_pid;
	int agent_pidfd;
	bool hello_pending;
	int hello_err;
	char hello_msg[128];
	pid_t owner;
	struct vdeconn *conn;
	const struct vdestack_backend *be;
	void *be_priv;
	char ifname[IFNAMSIZ];
	struct vs_prefetched {
		struct vdestack_fd_request req;
		int fd;
	} pf[VDESTACK_PREFETCH_MAX];
	unsigned int pf_n;
	pthread_mutex_t pool_lock;
	struct vs_pool {
		unsigned int n;	/* sockets held */
		unsigned int batch; /* next request size */
		int fd[16];	/* VS_SOCKET_BATCH_MAX */
	} pool[4];
};

/* errmsg.c */
void vs_set_errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vs_clear_errmsg(void);
void vs_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vs_debug_enable(void);

/* paths.c */
const char *vs_libexec_dir(void);
const char *vs_backend_dir(void);

/* spawn.c */
int vs_agent_spawn(struct vdestack *s, char *msg, size_t msglen);
int vs_agent_hello_locked(struct vdestack *s, char *msg, size_t msglen);
int vs_agent_hello(struct vdestack *s, char *msg, size_t msglen);

/* agent.c (library side of the protocol) */
int vs_agent_sockets(struct vdestack *s, const int *args, unsigned int want,
		     int *fds, char *msg, size_t msglen);
int vs_agent_call(struct vdestack *s, int op, const int *args,
		  const void *payload, size_t len, const int *fds,
		  unsigned int nfds, int *rfd, char *msg, size_t msglen);

/* stack.c */
int vs_stack_get(struct vdestack *s);
void vs_stack_put(struct vdestack *s);
int vs_msocket(struct vdestack *s, int domain, int type, int protocol);

/* socket.c */
void vs_default_forget(struct vdestack *s);
void vs_socket_bypass(bool on);

/* backend.c */
int vs_backend_load(const char *name, const struct vdestack_backend **be,
		    char *msg, size_t msglen);
int vs_backend_for_scheme(const char *vdenet,
			  const struct vdestack_backend **be, char *msg,
			  size_t msglen);
int vs_backend_auto(const struct vdestack_backend **be, char *msg,
		    size_t msglen);
unsigned int vs_backend_prefetch(const struct vdestack_backend *be,
				 struct vdestack_fd_request *req);
extern const struct vdestack_services vs_services;

#endif
