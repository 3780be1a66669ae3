// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * backend.c - loading forwarding backends (dlopen'd plugins)
 *
 * A plugin is <dir>/<name>.so exporting VDESTACK_BACKEND_SYMBOL.  It is
 * loaded with RTLD_NOW|RTLD_LOCAL (never RTLD_DEEPBIND: it breaks
 * interposition and sanitizers) the first time a stack asks for it, checked
 * (ABI, struct size, name) and kept loaded for the life of the process:
 * unloading code that a relay thread might still be returning through is
 * not worth the few KiB.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

#define MAX_BACKENDS 32

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char name[32];
	const struct vdestack_backend *be;
} reg[MAX_BACKENDS];
static unsigned int nreg;

static int valid_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= sizeof(reg[0].name))
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-' ||
		      name[i] == '_'))
			return 0;
	return 1;
}

/* Oldest layout we understand: everything up to and including stats. */
#define BE_MIN_SIZE                                                     \
	(offsetof(struct vdestack_backend, stats) +                     \
	 sizeof(((struct vdestack_backend *)0)->stats))

static int load_locked(const char *name, const struct vdestack_backend **out,
		       char *msg, size_t msglen)
{
	const struct vdestack_backend *be;
	char path[PATH_MAX];
	unsigned int i;
	void *dl;

	for (i = 0; i < nreg; i++)
		if (!strcmp(reg[i].name, name)) {
			*out = reg[i].be;
			return 0;
		}
	if (!valid_name(name)) {
		snprintf(msg, msglen, "invalid backend name '%.40s'", name);
		return -EINVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.so", vs_backend_dir(),
			     name) >= sizeof(path))
		return -ENAMETOOLONG;
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *e = dlerror();

		snprintf(msg, msglen, "backend %s: cannot load %s: %s", name,
			 path, e ? e : "unknown error");
		return -ENOENT;
	}
	be = dlsym(dl, VDESTACK_BACKEND_SYMBOL);
	if (!be) {
		snprintf(msg, msglen, "backend %s: %s has no symbol %s", name,
			 path, VDESTACK_BACKEND_SYMBOL);
		goto bad;
	}
	if (be->abi != VDESTACK_BACKEND_ABI) {
		snprintf(msg, msglen,
			 "backend %s: ABI %u, this library needs ABI %u", name,
			 be->abi, VDESTACK_BACKEND_ABI);
		goto bad;
	}
	if (be->size < BE_MIN_SIZE || !be->name || strcmp(be->name, name) ||
	    !be->create || !be->destroy || !be->probe) {
		snprintf(msg, msglen,
			 "backend %s: malformed descriptor in %s (size %u, "
			 "name '%.32s')",
			 name, path, be->size, be->name ? be->name : "(null)");
		goto bad;
	}
	if (nreg == MAX_BACKENDS) {
		snprintf(msg, msglen, "too many backends");
		dlclose(dl);
		return -ENOSPC;
	}
	snprintf(reg[nreg].name, sizeof(reg[nreg].name), "%s", name);
	reg[nreg++].be = be;
	*out = be;
	return 0;
bad:
	dlclose(dl);
	return -ELIBBAD;
}

/**
 * vs_backend_load() - get a backend by name, loading it on first use
 * Return: 0, or -errno with a message (-ENOENT: no such plugin,
 * -ELIBBAD: not a valid plugin for this library).
 */
int vs_backend_load(const char *name, const struct vdestack_backend **be,
		    char *msg, size_t msglen)
{
	int r;

	pthread_mutex_lock(&reg_lock);
	r = load_locked(name, be, msg, msglen);
	pthread_mutex_unlock(&reg_lock);
	return r;
}

/* Call @fn for the name of every *.so in the backend directory. */
static int each_plugin(int (*fn)(const char *name, void *arg), void *arg)
{
	DIR *d = opendir(vs_backend_dir());
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	while (!r && (e = readdir(d))) {
		char name[64];
		size_t n = strlen(e->d_name);

		if (n < 4 || n - 3 >= sizeof(name) ||
		    strcmp(e->d_name + n - 3, ".so"))
			continue;
		memcpy(name, e->d_name, n - 3);
		name[n - 3] = '\0';
		r = fn(name, arg);
	}
	closedir(d);
	return r;
}

struct scheme_search {
	const char *scheme;
	size_t len;
	const struct vdestack_backend *found;
};

static int match_scheme(const char *name, void *arg)
{
	struct scheme_search *ss = arg;
	const struct vdestack_backend *be;
	const char *const *sc;
	char msg[8];

	if (vs_backend_load(name, &be, msg, sizeof(msg)) < 0 || !be->schemes)
		return 0;
	for (sc = be->schemes; *sc; sc++)
		if (strlen(*sc) == ss->len && !strncmp(*sc, ss->scheme, ss->len)) {
			ss->found = be;
			return 1;
		}
	return 0;
}

/**
 * vs_backend_for_scheme() - the backend that claims @vdenet's scheme
 * Return: 1 and *be if one claims it, 0 if none does (a libvdeplug URL).
 */
int vs_backend_for_scheme(const char *vdenet,
			  const struct vdestack_backend **be, char *msg,
			  size_t msglen)
{
	struct scheme_search ss = { .scheme = vdenet };
	const char *p = strstr(vdenet, "://");

	if (!p)
		return 0;
	ss.len = (size_t)(p - vdenet);
	each_plugin(match_scheme, &ss);
	if (!ss.found)
		return 0;
	*be = ss.found;
	return 1;
}

struct auto_search {
	const struct vdestack_backend *best;
};

static int consider(const char *name, void *arg)
{
	struct auto_search *as = arg;
	const struct vdestack_backend *be;
	char reason[VDESTACK_REASON_MAX];

	if (vs_backend_load(name, &be, reason, sizeof(reason)) < 0)
		return 0;
	if (be->schemes)
		return 0; /* claims its own scheme: not a relay */
	if (as->best && as->best->priority >= be->priority)
		return 0;
	if (be->probe(reason, sizeof(reason)) < 0) {
		vs_debug("auto: %s cannot run: %s", name, reason);
		return 0;
	}
	as->best = be;
	return 0;
}

/**
 * vs_backend_auto() - the usable relay backend with the highest priority
 * Return: 0 and *be, or -errno.
 */
int vs_backend_auto(const struct vdestack_backend **be, char *msg,
		    size_t msglen)
{
	struct auto_search as = { NULL };
	int r = each_plugin(consider, &as);

	if (!as.best) {
		snprintf(msg, msglen, "no usable backend in %s%s%s",
			 vs_backend_dir(), r < 0 ? ": " : "",
			 r < 0 ? strerror(-r) : "");
		return -ENOENT;
	}
	*be = as.best;
	return 0;
}
