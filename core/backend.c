// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * backend.c - loading forwarding backends (dlopen'd plugins), discovery
 *
 * DOC: Theory of Operation
 *
 * A plugin is <dir>/<name>.so exporting VDESTACK_BACKEND_SYMBOL, where
 * <dir> is vs_backend_dir().  It is loaded with RTLD_NOW|RTLD_LOCAL (never
 * RTLD_DEEPBIND: it breaks interposition and sanitizers), checked (symbol
 * size, ABI, struct size, name, mandatory ops) and, if good, kept loaded
 * for the life of the process: unloading code that a relay thread might
 * still be returning through is not worth the few KiB.  A file that fails
 * any check is unloaded at once and never has any of its ops called; its
 * error is remembered (keyed by path and the file's identity, so a
 * replaced file is tried again) and reported by vde_backend_list().
 *
 * Nothing in a bad file can crash the caller short of code it runs itself:
 * a file whose segments reach past its end (which makes dlopen() itself
 * die of SIGBUS) or that is not a regular file is refused before
 * dlopen(), dlopen() rejects the rest of what is not a loadable object for
 * this machine, and the descriptor is read only as far as the symbol's own
 * size allows.  What we cannot guard is a plugin's ELF constructor, which
 * dlopen() runs: the price of dlopen(), as for any library.
 *
 * Every vde_addstack() needs the list of plugins (a VNL scheme may be
 * claimed by one; "auto" wants the best relay), so the directory is scanned
 * once per process and directory name, and rescanned only by
 * vde_backend_list().  The "auto" choice itself is not cached: it depends on
 * probes (is /dev/net/tun accessible now?) and a probe is one open(2),
 * far below the cost of the namespace that follows.  So a backend that
 * becomes usable, or stops being usable, is noticed by the next stack,
 * while one installed after the first scan is not (until a listing).
 *
 * One mutex guards the registry and the scan; probes run outside it, since
 * they are plugin code and descriptors never go away.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack.h"

/* Oldest layout we understand: everything up to and including stats. */
#define BE_MIN_SIZE                                                            \
	(offsetof(struct vdestack_backend, stats) +                            \
	 sizeof(((struct vdestack_backend *)0)->stats))
/* What must be readable to see the ABI and the size. */
#define BE_HEAD_SIZE (2 * sizeof(uint32_t))

#define NAME_MAX_LEN 31
#define MSG_MAX (VDESTACK_REASON_MAX + PATH_MAX / 4)

/**
 * struct plugin - one plugin file the registry has seen
 * @next:	list link (entries are never freed)
 * @path:	"<dir>/<name>.so", the key
 * @name:	backend name, the file name without ".so"
 * @be:		validated descriptor, or NULL if the file is no good
 * @err:	-errno of the failure when @be is NULL
 * @abi:	ABI the file declares, 0 if it could not be read
 * @dev:	identity of the file when it failed: a changed file is retried
 * @ino:	...
 * @mtime:	...
 * @msg:	why it failed
 */
struct plugin {
	struct plugin *next;
	char *path;
	char name[NAME_MAX_LEN + 1];
	const struct vdestack_backend *be;
	int err;
	bool transient; /* failed for lack of fds or memory: retry */
	unsigned int abi;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	char msg[MSG_MAX];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct plugin *registry;

/**
 * struct scan - the plugins of one directory, sorted by name
 * @dir:	directory scanned, "" if none yet
 * @p:		its plugins (good and bad)
 * @n:		how many
 */
static struct scan {
	char dir[PATH_MAX];
	struct plugin **p;
	size_t n;
} scan;

/* A fork()ed child must not inherit the lock held by another thread. */
static void reg_prepare(void)
{
	pthread_mutex_lock(&reg_lock);
}

static void reg_release(void)
{
	pthread_mutex_unlock(&reg_lock);
}

__attribute__((constructor)) static void vs_backend_init(void)
{
	pthread_atfork(reg_prepare, reg_release, reg_release);
}

/**
 * valid_name() - is @name usable as a backend name?
 * @name:	candidate
 *
 * The name becomes a path component and a key of the options string.
 *
 * Return: 1 if it is 1 to 31 characters of [a-z0-9_-].
 */
static int valid_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-' ||
		      name[i] == '_'))
			return 0;
	return 1;
}

/**
 * check_descriptor() - is the symbol @be of @path a descriptor we can use?
 * @be:		address of VDESTACK_BACKEND_SYMBOL in the loaded file
 * @name:	name the file implies
 * @path:	file, for messages
 * @abi:	set to the ABI the descriptor declares, when readable
 * @msg:	buffer for the reason
 * @msglen:	its size
 *
 * The ELF symbol table knows the size of the object: never read a field
 * beyond it, so a wrong or truncated descriptor cannot fault.  A size of 0
 * (a symbol defined without one, e.g. in assembly) is taken on trust.
 *
 * Return: 0, or -ELIBBAD with a message.
 */
static int check_descriptor(const struct vdestack_backend *be, const char *name,
			    const char *path, unsigned int *abi, char *msg,
			    size_t msglen)
{
	const ElfW(Sym) *sym = NULL;
	size_t symsize = 0;
	Dl_info info;

	if (dladdr1(be, &info, (void **)&sym, RTLD_DL_SYMENT) && sym) {
		if (ELF64_ST_TYPE(sym->st_info) == STT_FUNC) {
			snprintf(msg, msglen,
				 "backend %s: %s: %s is a function, not a "
				 "struct vdestack_backend",
				 name, path, VDESTACK_BACKEND_SYMBOL);
			return -ELIBBAD;
		}
		symsize = sym->st_size;
	}
	if (symsize && symsize < BE_HEAD_SIZE) {
		snprintf(msg, msglen,
			 "backend %s: %s: %s is %zu bytes, not a struct "
			 "vdestack_backend",
			 name, path, VDESTACK_BACKEND_SYMBOL, symsize);
		return -ELIBBAD;
	}
	*abi = be->abi;
	if (be->abi != VDESTACK_BACKEND_ABI) {
		snprintf(msg, msglen,
			 "backend %s: %s is built for backend ABI %u, this "
			 "libvdestack (%s) needs ABI %u (rebuild it against "
			 "this vdestack_backend.h)",
			 name, path, be->abi, VDESTACK_VERSION,
			 (unsigned int)VDESTACK_BACKEND_ABI);
		return -ELIBBAD;
	}
	if (symsize && symsize < BE_MIN_SIZE) {
		snprintf(msg, msglen,
			 "backend %s: %s: %s is %zu bytes, a descriptor of ABI "
			 "%u has at least %zu (not a struct vdestack_backend?)",
			 name, path, VDESTACK_BACKEND_SYMBOL, symsize,
			 (unsigned int)VDESTACK_BACKEND_ABI, (size_t)BE_MIN_SIZE);
		return -ELIBBAD;
	}
	if (be->size < BE_MIN_SIZE) {
		snprintf(msg, msglen,
			 "backend %s: %s: descriptor size field is %u, ABI %u "
			 "needs at least %zu (set .size = sizeof(struct "
			 "vdestack_backend))",
			 name, path, be->size, (unsigned int)VDESTACK_BACKEND_ABI,
			 (size_t)BE_MIN_SIZE);
		return -ELIBBAD;
	}
	if (symsize && be->size > symsize) {
		snprintf(msg, msglen,
			 "backend %s: %s: descriptor size field is %u, but "
			 "the %s symbol is %zu bytes (set .size = "
			 "sizeof(struct vdestack_backend))",
			 name, path, be->size, VDESTACK_BACKEND_SYMBOL,
			 symsize);
		return -ELIBBAD;
	}
	if (!be->name) {
		snprintf(msg, msglen,
			 "backend %s: %s: descriptor has no name (it must be "
			 "\"%s\", the file name without .so)",
			 name, path, name);
		return -ELIBBAD;
	}
	if (strcmp(be->name, name)) {
		snprintf(msg, msglen,
			 "backend %s: %s: descriptor calls itself \"%.32s\" "
			 "(the name must equal the file name without .so)",
			 name, path, be->name);
		return -ELIBBAD;
	}
	if (!be->probe || !be->create || !be->destroy) {
		snprintf(msg, msglen,
			 "backend %s: %s: descriptor has no %s operation", name,
			 path,
			 !be->probe    ? "probe"
			 : !be->create ? "create"
				       : "destroy");
		return -ELIBBAD;
	}
	return 0;
}

/**
 * elf_check() - is @path whole enough for dlopen() not to fault?
 * @path:	plugin file
 * @why:	set to a description of the defect
 * @whylen:	its size
 *
 * The dynamic loader maps the segments the program headers name without
 * comparing them with the file's size, and then reads them: a truncated
 * file (an interrupted copy) kills the process with SIGBUS inside
 * dlopen().  So check what it will map.  The rest (machine, ELF type,
 * symbols) dlopen() checks itself and reports as an error.
 *
 * Return: 0 or -ELIBBAD with @why set.
 */
static int elf_check(const char *path, char *why, size_t whylen)
{
	ElfW(Ehdr) eh;
	struct stat st;
	unsigned int i;
	int fd, r = -ELIBBAD;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "%s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		goto out;
	}
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		snprintf(why, whylen, "not an ELF file");
		goto out;
	}
	if (eh.e_ident[EI_CLASS] !=
		    (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh.e_phentsize != sizeof(ElfW(Phdr))) {
		snprintf(why, whylen, "wrong ELF class for this machine");
		goto out;
	}
	if (eh.e_phoff > (uint64_t)st.st_size ||
	    (uint64_t)eh.e_phnum * sizeof(ElfW(Phdr)) >
		    (uint64_t)st.st_size - eh.e_phoff) {
		snprintf(why, whylen, "truncated (program headers missing)");
		goto out;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		ElfW(Phdr) ph;

		if (pread(fd, &ph, sizeof(ph),
			  (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph)) {
			snprintf(why, whylen, "cannot read program header %u",
				 i);
			goto out;
		}
		if (ph.p_type != PT_LOAD && ph.p_type != PT_DYNAMIC)
			continue;
		if (ph.p_offset > (uint64_t)st.st_size ||
		    ph.p_filesz > (uint64_t)st.st_size - ph.p_offset) {
			snprintf(why, whylen,
				 "truncated (a segment ends at byte %llu, the "
				 "file has %llu)",
				 (unsigned long long)ph.p_offset +
					 (unsigned long long)ph.p_filesz,
				 (unsigned long long)st.st_size);
			goto out;
		}
	}
	r = 0;
out:
	close(fd);
	return r;
}

/**
 * plugin_find() - the registry entry for @path
 * @path:	plugin file
 *
 * Context: reg_lock held.
 * Return: entry or NULL.
 */
static struct plugin *plugin_find(const char *path)
{
	struct plugin *p;

	for (p = registry; p; p = p->next)
		if (!strcmp(p->path, path))
			return p;
	return NULL;
}

/**
 * plugin_open() - load and check one plugin file into @p
 * @p:		entry with @path and @name set
 *
 * Context: reg_lock held.
 */
static void plugin_open(struct plugin *p)
{
	const struct vdestack_backend *be;
	char why[128];
	void *dl;
	int r;

	p->be = NULL;
	p->abi = 0;
	p->msg[0] = '\0';
	p->transient = false;
	r = elf_check(p->path, why, sizeof(why));
	if (r == -EMFILE || r == -ENFILE || r == -ENOMEM)
		p->transient = true;
	if (r < 0) {
		snprintf(p->msg, sizeof(p->msg),
			 "backend %s: %s is not a loadable plugin: %s", p->name,
			 p->path, why);
		p->err = r;
		return;
	}
	errno = 0;
	dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *e = dlerror();

		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
			p->transient = true;
		snprintf(p->msg, sizeof(p->msg),
			 "backend %s: cannot load %s: %s", p->name, p->path,
			 e ? e : "unknown error");
		p->err = -ELIBBAD;
		return;
	}
	dlerror();
	be = dlsym(dl, VDESTACK_BACKEND_SYMBOL);
	if (!be) {
		snprintf(p->msg, sizeof(p->msg),
			 "backend %s: %s exports no symbol %s (not a "
			 "libvdestack backend)",
			 p->name, p->path, VDESTACK_BACKEND_SYMBOL);
		r = -ELIBBAD;
	} else {
		r = check_descriptor(be, p->name, p->path, &p->abi, p->msg,
				     sizeof(p->msg));
	}
	if (r < 0) {
		dlclose(dl);
		p->err = r;
		return;
	}
	p->be = be;
	p->err = 0;
}

/**
 * load_locked() - the registry entry for backend @name in @dir
 * @dir:	plugin directory
 * @name:	backend name (file name without ".so")
 * @out:	set to the entry (good or bad) unless an error is returned
 * @msg:	message when an error is returned
 * @msglen:	its size
 *
 * Context: reg_lock held.
 * Return: 0 (check (*out)->be), -ENOENT if there is no such file, -EINVAL
 * for a name that cannot be a backend, -ENAMETOOLONG, -ENOMEM.
 */
static int load_locked(const char *dir, const char *name, struct plugin **out,
		       char *msg, size_t msglen)
{
	char path[PATH_MAX];
	struct plugin *p;
	struct stat st;

	if (!valid_name(name)) {
		snprintf(msg, msglen,
			 "invalid backend name '%.40s' (1 to %d characters "
			 "a-z 0-9 _ -)",
			 name, NAME_MAX_LEN);
		return -EINVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.so", dir, name) >=
	    sizeof(path)) {
		snprintf(msg, msglen, "backend %s: path too long", name);
		return -ENAMETOOLONG;
	}
	p = plugin_find(path);
	if (p && p->be) {
		*out = p;
		return 0;
	}
	if (stat(path, &st) < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(msg, msglen,
				 "backend %s is not installed (no %s; "
				 "vdestack-backend-info lists the installed "
				 "backends)",
				 name, path);
		else
			snprintf(msg, msglen, "backend %s: %s: %s", name, path,
				 strerror(e));
		return -e;
	}
	if (p && !p->transient && p->dev == st.st_dev && p->ino == st.st_ino &&
	    p->mtime.tv_sec == st.st_mtim.tv_sec &&
	    p->mtime.tv_nsec == st.st_mtim.tv_nsec) {
		*out = p;
		return 0;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || !(p->path = strdup(path))) {
			free(p);
			snprintf(msg, msglen, "backend %s: out of memory",
				 name);
			return -ENOMEM;
		}
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->next = registry;
		registry = p;
	}
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	p->mtime = st.st_mtim;
	plugin_open(p);
	if (p->be)
		vs_debug("backend %s: loaded %s", name, path);
	else
		vs_debug("%s", p->msg);
	*out = p;
	return 0;
}

/**
 * vs_backend_prefetch() - the descriptors @be's create() will ask for
 * @be:		a loaded (validated) descriptor
 * @req:	receives at most VDESTACK_PREFETCH_MAX requests
 *
 * Entries after the first with a domain of 0 and fields a descriptor's
 * @size does not reach are not read.  Types come without SOCK_NONBLOCK and
 * SOCK_CLOEXEC: the call that takes a descriptor brings its own flags.
 *
 * Return: the number of requests.
 */
unsigned int vs_backend_prefetch(const struct vdestack_backend *be,
				 struct vdestack_fd_request *req)
{
	const struct vdestack_fd_request *l;
	unsigned int n;

	if (be->size <
	    offsetof(struct vdestack_backend, prefetch) + sizeof(be->prefetch))
		return 0;
	l = be->prefetch;
	if (!l)
		return 0;
	/* never an entry past the last that counts */
	for (n = 0; n < VDESTACK_PREFETCH_MAX && l[n].domain; n++) {
		req[n] = l[n];
		req[n].type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	return n;
}

/**
 * vs_backend_load() - get a backend by name, loading it on first use
 * @name:	backend name
 * @be:		set to its descriptor on success
 * @msg:	message on failure
 * @msglen:	its size
 *
 * Return: 0, or -errno with a message: -ENOENT no such plugin, -ELIBBAD
 * not a valid plugin for this library, -EINVAL not a backend name.
 */
int vs_backend_load(const char *name, const struct vdestack_backend **be,
		    char *msg, size_t msglen)
{
	struct plugin *p;
	int r;

	pthread_mutex_lock(&reg_lock);
	r = load_locked(vs_backend_dir(), name, &p, msg, msglen);
	if (r == 0 && !p->be) {
		snprintf(msg, msglen, "%s", p->msg);
		r = p->err;
	} else if (r == 0) {
		*be = p->be;
	}
	pthread_mutex_unlock(&reg_lock);
	return r;
}

static int plugin_cmp(const void *a, const void *b)
{
	const struct plugin *const *pa = a, *const *pb = b;

	return strcmp((*pa)->name, (*pb)->name);
}

/**
 * scan_locked() - make @scan the plugins of @dir, loading each
 * @dir:	plugin directory
 * @force:	rescan even if @scan already describes @dir
 *
 * A file that cannot even be registered (bad name, vanished) is left out
 * here; vde_backend_list() reports those itself.
 *
 * Context: reg_lock held.
 * Return: 0 or -errno (directory unreadable, out of memory); on error
 * @scan is left empty.
 */
static int scan_locked(const char *dir, bool force)
{
	struct plugin **v = NULL, *p;
	size_t n = 0, cap = 0;
	bool transient = false;
	struct dirent *e;
	char msg[8];
	DIR *d;

	if (!force && scan.dir[0] && !strcmp(scan.dir, dir))
		return 0;
	free(scan.p);
	scan.p = NULL;
	scan.n = 0;
	scan.dir[0] = '\0';
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char name[NAME_MAX_LEN + 1];
		size_t len = strlen(e->d_name);

		if (len <= 3 || strcmp(e->d_name + len - 3, ".so") ||
		    len - 3 > NAME_MAX_LEN)
			continue;
		memcpy(name, e->d_name, len - 3);
		name[len - 3] = '\0';
		if (load_locked(dir, name, &p, msg, sizeof(msg)) < 0)
			continue;
		transient |= p->transient;
		if (n == cap) {
			struct plugin **nv;

			cap = cap ? 2 * cap : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = p;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), plugin_cmp);
	scan.p = v;
	scan.n = n;
	/* a plugin that failed for want of fds or memory: scan again */
	if (!transient)
		snprintf(scan.dir, sizeof(scan.dir), "%s", dir);
	return 0;
}

/**
 * vs_backend_for_scheme() - the backend that claims @vdenet's scheme
 * @vdenet:	VNL given to vde_addstack()
 * @be:		set to the claiming backend's descriptor
 * @msg:	unused (a scheme nobody claims is libvdeplug's)
 * @msglen:	its size
 *
 * If two backends claim one scheme, the first by name wins.
 *
 * Return: 1 and *be if one claims it, 0 if none does (a libvdeplug URL).
 */
int vs_backend_for_scheme(const char *vdenet,
			  const struct vdestack_backend **be, char *msg,
			  size_t msglen)
{
	const char *p = strstr(vdenet, "://");
	const struct vdestack_backend *found = NULL;
	size_t len, i;

	if (!p)
		return 0;
	len = (size_t)(p - vdenet);
	pthread_mutex_lock(&reg_lock);
	if (scan_locked(vs_backend_dir(), false) == 0) {
		for (i = 0; i < scan.n && !found; i++) {
			const struct vdestack_backend *b = scan.p[i]->be;
			const char *const *sc;

			if (!b || !b->schemes)
				continue;
			for (sc = b->schemes; *sc; sc++)
				if (strlen(*sc) == len &&
				    !strncmp(*sc, vdenet, len)) {
					found = b;
					break;
				}
		}
	}
	pthread_mutex_unlock(&reg_lock);
	if (!found)
		return 0;
	*be = found;
	return 1;
}

static int prio_cmp(const void *a, const void *b)
{
	const struct vdestack_backend *const *x = a, *const *y = b;

	if ((*x)->priority != (*y)->priority)
		return (*x)->priority > (*y)->priority ? -1 : 1;
	return strcmp((*x)->name, (*y)->name);
}

/**
 * vs_backend_auto() - the usable relay backend with the highest priority
 * @be:		set to it
 * @msg:	on failure, why (each candidate's reason, or the directory's)
 * @msglen:	its size
 *
 * Backends that claim a VNL scheme are not relays and never chosen here;
 * broken plugins are skipped.
 *
 * Return: 0 and *be, or -errno (-ENOENT: none usable).
 */
int vs_backend_auto(const struct vdestack_backend **be, char *msg,
		    size_t msglen)
{
	const struct vdestack_backend **cand;
	const char *dir = vs_backend_dir();
	size_t n = 0, i, used;
	int r, first = -ENOENT;
	bool transient = false;

	pthread_mutex_lock(&reg_lock);
	r = scan_locked(dir, false);
	for (i = 0; r == 0 && i < scan.n; i++)
		transient |= scan.p[i]->transient;
	/* failed plugins are not in the scan: look at the registry too */
	for (struct plugin *p = registry; r == 0 && p; p = p->next)
		transient |= p->transient;
	cand = r == 0 && scan.n ? calloc(scan.n, sizeof(*cand)) : NULL;
	if (r == 0 && scan.n && !cand)
		r = -ENOMEM;
	for (i = 0; cand && i < scan.n; i++)
		if (scan.p[i]->be && !scan.p[i]->be->schemes)
			cand[n++] = scan.p[i]->be;
	pthread_mutex_unlock(&reg_lock);
	if (r < 0) {
		snprintf(msg, msglen,
			 "no backend: cannot read the backend directory %s: "
			 "%s",
			 dir[0] ? dir : "(unknown)", strerror(-r));
		return r == -ENOMEM || r == -EMFILE || r == -ENFILE ? r
								      : -ENOENT;
	}
	if (!n && transient) {
		free(cand);
		snprintf(msg, msglen,
			 "no backend could be loaded from %s: out of file "
			 "descriptors or memory",
			 dir);
		return -EMFILE;
	}
	if (n)
		qsort(cand, n, sizeof(*cand), prio_cmp);
	used = (size_t)snprintf(msg, msglen, "no usable backend in %s%s", dir,
				n ? "" : " (none installed)");
	for (i = 0; i < n; i++) {
		char reason[VDESTACK_REASON_MAX] = "";

		r = cand[i]->probe(reason, sizeof(reason));
		if (r >= 0) {
			*be = cand[i];
			free(cand);
			msg[0] = '\0';
			return 0;
		}
		vs_debug("auto: %s cannot run: %s", cand[i]->name, reason);
		if (first == -ENOENT)
			first = r;
		if (used < msglen)
			used += (size_t)snprintf(
				msg + used, msglen - used, "%s%s: %s",
				i ? "; " : " (", cand[i]->name,
				reason[0] ? reason : strerror(-r));
	}
	if (n && used < msglen)
		snprintf(msg + used, msglen - used, ")");
	free(cand);
	/* one candidate: its own errno (EACCES ...) says more than ENOENT */
	return n == 1 ? first : -ENOENT;
}

/* ------------------------------------------------------ public discovery */

static char *dupstr(const char *s, bool *oom)
{
	char *d = strdup(s ? s : "");

	if (!d)
		*oom = true;
	return d;
}

/**
 * info_fill() - describe one plugin in @i, probing it if it loaded
 * @i:		entry to fill (zeroed)
 * @p:		registry entry
 *
 * Return: 0 or -ENOMEM.
 */
static int info_fill(struct vde_backend_info *i, const struct plugin *p)
{
	const struct vdestack_backend *be = p->be;
	char reason[VDESTACK_REASON_MAX] = "";
	bool oom = false;
	size_t k, n;
	int r;

	i->name = dupstr(p->name, &oom);
	i->path = dupstr(p->path, &oom);
	i->abi = p->abi;
	if (!be) {
		i->load_errno = -p->err;
		i->load_error = dupstr(p->msg, &oom);
		i->summary = dupstr("", &oom);
		i->probe_errno = -p->err;
		i->reason = dupstr(p->msg, &oom);
		return oom ? -ENOMEM : 0;
	}
	i->load_error = dupstr("", &oom);
	i->summary = dupstr(be->summary, &oom);
	i->priority = be->priority;
	i->max_mtu = be->max_mtu;
	if (be->schemes) {
		char **sc;

		for (n = 0; be->schemes[n]; n++)
			;
		sc = calloc(n + 1, sizeof(*sc));
		if (!sc)
			return -ENOMEM;
		i->schemes = (const char *const *)sc;
		for (k = 0; k < n; k++)
			sc[k] = dupstr(be->schemes[k], &oom);
	}
	if (be->options) {
		struct vde_backend_option *o;

		for (n = 0; be->options[n].name; n++)
			;
		o = calloc(n + 1, sizeof(*o));
		if (!o)
			return -ENOMEM;
		i->options = o;
		for (k = 0; k < n; k++) {
			o[k].name = dupstr(be->options[k].name, &oom);
			o[k].help = dupstr(be->options[k].help, &oom);
		}
	}
	if (oom)
		return -ENOMEM;
	r = be->probe(reason, sizeof(reason));
	i->probe_errno = r < 0 ? -r : 0;
	i->usable = i->probe_errno == 0;
	if (!i->usable && !reason[0])
		snprintf(reason, sizeof(reason), "%s",
			 strerror(i->probe_errno));
	i->reason = dupstr(i->usable ? "" : reason, &oom);
	return oom ? -ENOMEM : 0;
}

/**
 * info_bad_name() - describe a *.so file that cannot be a backend
 * @i:		entry to fill (zeroed)
 * @dir:	directory
 * @file:	file name
 * @err:	-errno from load_locked()
 * @msg:	its message
 *
 * Return: 0 or -ENOMEM.
 */
static int info_bad_name(struct vde_backend_info *i, const char *dir,
			 const char *file, int err, const char *msg)
{
	size_t len = strlen(dir) + strlen(file) + 2;
	char why[MSG_MAX];
	bool oom = false;
	char *path = malloc(len);

	if (!path)
		return -ENOMEM;
	snprintf(path, len, "%s/%s", dir, file);
	i->path = path;
	i->name = strndup(file, strlen(file) - 3);
	if (!i->name)
		oom = true;
	if (err == -EINVAL)
		snprintf(why, sizeof(why),
			 "%s: the file name is not a backend name (rename it "
			 "to NAME.so, NAME of 1 to %d characters a-z 0-9 _ -)",
			 path, NAME_MAX_LEN);
	else
		snprintf(why, sizeof(why), "%s", msg);
	i->load_errno = -err;
	i->load_error = dupstr(why, &oom);
	i->summary = dupstr("", &oom);
	i->probe_errno = -err;
	i->reason = dupstr(why, &oom);
	return oom ? -ENOMEM : 0;
}

/**
 * vde_backend_list_free() - free what vde_backend_list() returned
 * @list:	array, or NULL
 * @n:		number of entries
 */
VS_EXPORT void vde_backend_list_free(struct vde_backend_info *list, size_t n)
{
	size_t i, k;

	if (!list)
		return;
	for (i = 0; i < n; i++) {
		struct vde_backend_info *e = &list[i];

		free((char *)e->name);
		free((char *)e->path);
		free((char *)e->load_error);
		free((char *)e->summary);
		free((char *)e->reason);
		for (k = 0; e->schemes && e->schemes[k]; k++)
			free((char *)e->schemes[k]);
		free((void *)e->schemes);
		for (k = 0; e->options && e->options[k].name; k++) {
			free((char *)e->options[k].name);
			free((char *)e->options[k].help);
		}
		free((void *)e->options);
	}
	free(list);
}

static int info_cmp(const void *a, const void *b)
{
	const struct vde_backend_info *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/**
 * list_extra() - add the *.so files of @dir that the scan could not take
 * @dir:	directory
 * @v:		array (grown)
 * @n:		entries used
 * @cap:	entries allocated
 *
 * Return: 0 or -errno.
 */
static int list_extra(const char *dir, struct vde_backend_info **v, size_t *n,
		      size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	while (!r && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char name[NAME_MAX + 1], msg[MSG_MAX];
		struct plugin *p;

		if (len <= 3 || strcmp(e->d_name + len - 3, ".so") ||
		    e->d_name[0] == '.')
			continue;
		memcpy(name, e->d_name, len - 3);
		name[len - 3] = '\0';
		pthread_mutex_lock(&reg_lock);
		r = load_locked(dir, name, &p, msg, sizeof(msg));
		pthread_mutex_unlock(&reg_lock);
		if (r == 0 || r == -ENOENT) { /* listed already, or gone */
			r = 0;
			continue;
		}
		if (*n == *cap) {
			struct vde_backend_info *nv;

			*cap = *cap ? 2 * *cap : 8;
			nv = realloc(*v, *cap * sizeof(**v));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*v = nv;
		}
		memset(&(*v)[*n], 0, sizeof(**v));
		r = info_bad_name(&(*v)[(*n)++], dir, e->d_name, r, msg);
	}
	closedir(d);
	return r;
}

/**
 * vde_backend_list() - describe every backend installed, usable or not
 * @list:	set to a malloc'd array, NULL if there is none
 * @n:		set to the number of entries
 *
 * Rescans the backend directory (vde_backend_dir()), loads every "*.so" in
 * it and probes those that load.  A file that is not a valid backend is
 * listed with its error; it is never skipped.
 *
 * Return: 0, or -1 and errno (ENOENT, EACCES, ENOTDIR: the directory cannot
 * be read; ENOMEM; EINVAL: NULL argument) with vde_stack_errmsg() naming
 * the directory.
 */
VS_EXPORT int vde_backend_list(struct vde_backend_info **list, size_t *n)
{
	const char *dir = vs_backend_dir();
	struct vde_backend_info *v = NULL;
	struct plugin **copy = NULL;
	size_t i, cnt = 0, cap = 0;
	int r;

	vs_clear_errmsg();
	if (!list || !n) {
		vs_set_errmsg("vde_backend_list: NULL argument");
		errno = EINVAL;
		return -1;
	}
	*list = NULL;
	*n = 0;
	pthread_mutex_lock(&reg_lock);
	r = scan_locked(dir, true);
	if (r == 0 && scan.n) {
		copy = malloc(scan.n * sizeof(*copy));
		if (copy) {
			memcpy(copy, scan.p, scan.n * sizeof(*copy));
			cnt = scan.n;
		} else {
			r = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	if (r < 0) {
		if (r == -ENOMEM)
			vs_set_errmsg("vde_backend_list: out of memory");
		else
			vs_set_errmsg(
				"cannot read the backend directory %s: %s "
				"(reinstall libvdestack, or fix "
				"VDESTACK_BACKEND_DIR)",
				dir[0] ? dir : "(unknown)", strerror(-r));
		errno = -r;
		return -1;
	}
	if (cnt) {
		v = calloc(cnt, sizeof(*v));
		if (!v)
			r = -ENOMEM;
		cap = cnt;
	}
	for (i = 0; r == 0 && i < cnt; i++)
		r = info_fill(&v[i], copy[i]);
	free(copy);
	if (r == 0)
		r = list_extra(dir, &v, &cnt, &cap);
	if (r < 0) {
		vde_backend_list_free(v, cnt);
		vs_set_errmsg("vde_backend_list: %s", strerror(-r));
		errno = -r;
		return -1;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), info_cmp);
	*list = v;
	*n = cnt;
	return 0;
}

/**
 * vde_backend_dir() - the directory backends are loaded from
 *
 * Return: the directory (VDESTACK_BACKEND_DIR if set, else "vdestack/" next
 * to the library file), or NULL and ENOENT if it cannot be determined.
 */
VS_EXPORT const char *vde_backend_dir(void)
{
	const char *d = vs_backend_dir();

	if (!d || !*d) {
		errno = ENOENT;
		return NULL;
	}
	return d;
}
