// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * backend_info.c - vdestack-backend-info: which backends can run here, and
 * why not
 *
 * DOC: Theory of Operation
 *
 * The backends come from vde_backend_list(): every "*.so" of the backend
 * directory, broken ones with their load error, good ones with their
 * probe's verdict.  A probe only knows its own needs (/dev/net/tun, ...);
 * every stack also needs a user+net namespace, so this tool tries one the
 * way the library will (a child calling unshare(CLONE_NEWUSER |
 * CLONE_NEWNET)) and counts a backend usable only if both work.  The
 * kernel facts it prints are the ones a person needs to fix a "no": the
 * sysctls that forbid unprivileged user namespaces, the mode of the
 * devices, the capability that host-side backends need.
 *
 * Exit status: EXIT_USABLE, EXIT_NONE_USABLE, EXIT_USAGE, EXIT_NO_DIR.
 */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vdestack.h>

#define PROG "vdestack-backend-info"

enum {
	EXIT_USABLE = 0,
	EXIT_NONE_USABLE = 1,
	EXIT_USAGE = 2,
	EXIT_NO_DIR = 3,
};

/**
 * struct tool_opt - one command line option, for getopt and for --help
 * @name:	long name
 * @key:	short name, also the getopt value
 * @arg:	argument name, NULL if none
 * @help:	one line
 */
struct tool_opt {
	const char *name;
	int key;
	const char *arg;
	const char *help;
};

static const struct tool_opt tool_opts[] = {
	{"json", 'j', NULL, "print JSON for scripts instead of text"},
	{"backend-dir", 'd', "DIR",
	 "look for backends in DIR (as VDESTACK_BACKEND_DIR does)"},
	{"help", 'h', NULL, "print this help and exit"},
	{"version", 'V', NULL, "print the library version and exit"},
};
#define N_OPTS (sizeof(tool_opts) / sizeof(tool_opts[0]))

/**
 * struct dev_fact - a device node a backend opens
 * @path:	"/dev/net/tun"
 * @exists:	stat() found it
 * @err:	0 if this user can open it read-write, else errno
 * @st:		its stat, if @exists
 * @group:	name of its group, or the number
 * @fix:	what to do when @err is EACCES
 * @missing:	what to do when it does not exist
 */
struct dev_fact {
	const char *path;
	bool exists;
	int err;
	struct stat st;
	char group[64];
	char owner[64];
	const char *fix;
	const char *missing;
};

/**
 * struct facts - what this system allows this user
 * @release:		uname -r
 * @uid:		real uid
 * @user:		its name
 * @userns_err:		0 if a user+net namespace could be created, else
 *			errno (-1: could not even try)
 * @max_userns:		/proc/sys/user/max_user_namespaces, -1 if unreadable
 * @unpriv_clone:	/proc/sys/kernel/unprivileged_userns_clone, -1 if
 *			absent (Debian's patch; mainline has no such knob)
 * @aa_restrict:	/proc/sys/kernel/apparmor_restrict_unprivileged_userns,
 *			-1 if absent
 * @userns_why:		reason and fix when @userns_err
 * @tun:		/dev/net/tun
 * @vhost:		/dev/vhost-net
 * @cap_net_admin:	1 if the process has CAP_NET_ADMIN, 0 if not, -1 if
 *			unknown
 * @initial_userns:	the process is in the initial user namespace, so
 *			@cap_net_admin counts for host interfaces
 */
struct facts {
	char release[65];
	uid_t uid;
	char user[64];
	int userns_err;
	long max_userns;
	long unpriv_clone;
	long aa_restrict;
	char userns_why[256];
	struct dev_fact tun;
	struct dev_fact vhost;
	int cap_net_admin;
	bool initial_userns;
};

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * Can this user create a user+net namespace?  0 or errno; -1 if it could
 * not be tried.  The child reports through a pipe, not its exit status,
 * which a tool like valgrind may replace.
 */
static int try_userns(void)
{
	int p[2], err = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		err = unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 ? 0 : errno;
		_exit(write(p[1], &err, sizeof(err)) == sizeof(err) ? 0 : 1);
	}
	close(p[1]);
	if (pid > 0) {
		if (read(p[0], &err, sizeof(err)) != sizeof(err))
			err = -1;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close(p[0]);
	return err;
}

static void explain_userns(struct facts *f)
{
	int e = f->userns_err;
	bool root = f->uid == 0;

	if (e == 0)
		return;
	if (e < 0)
		snprintf(f->userns_why, sizeof(f->userns_why),
			 "could not test (fork failed)");
	else if (f->max_userns == 0)
		snprintf(f->userns_why, sizeof(f->userns_why),
			 "%s: user.max_user_namespaces is 0 (sysctl -w "
			 "user.max_user_namespaces=15000)",
			 strerror(e));
	else if (!root && f->unpriv_clone == 0)
		snprintf(f->userns_why, sizeof(f->userns_why),
			 "%s: kernel.unprivileged_userns_clone is 0 (sysctl -w "
			 "kernel.unprivileged_userns_clone=1)",
			 strerror(e));
	else if (!root && f->aa_restrict == 1)
		snprintf(
			f->userns_why, sizeof(f->userns_why),
			"%s: kernel.apparmor_restrict_unprivileged_userns is 1 "
			"(sysctl -w "
			"kernel.apparmor_restrict_unprivileged_userns"
			"=0, or an AppArmor profile allowing userns for this "
			"program)",
			strerror(e));
	else if (e == ENOSPC || e == EUSERS)
		snprintf(f->userns_why, sizeof(f->userns_why),
			 "%s: the limit of user namespaces is reached (raise "
			 "user.max_user_namespaces)",
			 strerror(e));
	else if (e == EINVAL)
		snprintf(f->userns_why, sizeof(f->userns_why),
			 "%s: the kernel has no user namespaces "
			 "(CONFIG_USER_NS)",
			 strerror(e));
	else if (e == EPERM)
		snprintf(f->userns_why, sizeof(f->userns_why),
			 "%s: forbidden by a seccomp filter or the container "
			 "runtime, or the process is chrooted (allow "
			 "unshare(CLONE_NEWUSER) in the container's profile)",
			 strerror(e));
	else
		snprintf(f->userns_why, sizeof(f->userns_why), "%s",
			 strerror(e));
}

static void name_of(char *buf, size_t len, bool user, unsigned int id)
{
	struct passwd *pw = user ? getpwuid(id) : NULL;
	struct group *gr = user ? NULL : getgrgid(id);
	const char *n = pw ? pw->pw_name : gr ? gr->gr_name : NULL;

	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "%u", id);
}

static void probe_dev(struct dev_fact *d)
{
	int fd;

	d->exists = stat(d->path, &d->st) == 0;
	if (!d->exists) {
		d->err = errno;
		return;
	}
	name_of(d->group, sizeof(d->group), false, d->st.st_gid);
	name_of(d->owner, sizeof(d->owner), true, d->st.st_uid);
	fd = open(d->path, O_RDWR | O_CLOEXEC);
	d->err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
}

/* Is this process in the initial user namespace (identity uid map)? */
static bool in_initial_userns(void)
{
	unsigned long a, b, c;
	FILE *f = fopen("/proc/self/uid_map", "re");
	bool r = false;

	if (!f)
		return true; /* no user namespaces at all */
	if (fscanf(f, "%lu %lu %lu", &a, &b, &c) == 3)
		r = a == 0 && b == 0 && c == 4294967295UL;
	fclose(f);
	return r;
}

static void gather(struct facts *f)
{
	struct utsname u;

	memset(f, 0, sizeof(*f));
	if (uname(&u) == 0)
		snprintf(f->release, sizeof(f->release), "%s", u.release);
	f->uid = getuid();
	name_of(f->user, sizeof(f->user), true, f->uid);
	f->max_userns = read_long("/proc/sys/user/max_user_namespaces");
	f->unpriv_clone =
		read_long("/proc/sys/kernel/unprivileged_userns_clone");
	f->aa_restrict = read_long(
		"/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	f->userns_err = try_userns();
	explain_userns(f);

	f->tun.path = "/dev/net/tun";
	f->tun.fix = "the device must be mode 0666, as most distributions "
		     "ship it: chmod 0666 /dev/net/tun";
	f->tun.missing = "modprobe tun, or mknod -m 0666 /dev/net/tun c 10 200";
	probe_dev(&f->tun);
	f->vhost.path = "/dev/vhost-net";
	f->vhost.missing = "modprobe vhost_net";
	probe_dev(&f->vhost);

	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process() == 0)
		f->cap_net_admin =
			capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN)
				? 1
				: 0;
	else
		f->cap_net_admin = -1;
	f->initial_userns = in_initial_userns();
}

/* One line on a device: "ok", or what is wrong and the fix. */
static void dev_verdict(const struct dev_fact *d, char *buf, size_t len)
{
	char fix[160];

	if (!d->exists && d->err == ENOENT) {
		snprintf(buf, len, "missing (%s)", d->missing);
		return;
	}
	if (!d->exists) {
		snprintf(buf, len, "%s", strerror(d->err));
		return;
	}
	if (!d->err) {
		snprintf(buf, len, "ok");
		return;
	}
	if (d->fix)
		snprintf(fix, sizeof(fix), "%s", d->fix);
	else
		snprintf(fix, sizeof(fix),
			 "add the user to group %s, or make the device "
			 "mode 0666",
			 d->group);
	if (d->err == EACCES || d->err == EPERM)
		snprintf(buf, len, "permission denied (%s)", fix);
	else
		snprintf(buf, len, "%s", strerror(d->err));
}

/**
 * backend_verdict() - can @b run here, for this user?  And if not, why?
 * @b:		backend
 * @f:		facts
 * @why:	set to the reason, "" if it can
 *
 * Return: true if it can.
 */
static bool backend_verdict(const struct vde_backend_info *b,
			    const struct facts *f, const char **why)
{
	static char buf[320];

	if (!b->usable) {
		*why = b->reason;
		return false;
	}
	if (f->userns_err) {
		snprintf(buf, sizeof(buf), "user namespaces: %s",
			 f->userns_why);
		*why = buf;
		return false;
	}
	*why = "";
	return true;
}

/* The backend "backend=auto" would take: the usable relay ranked first. */
static const struct vde_backend_info *
auto_choice(const struct vde_backend_info *l, size_t n, const struct facts *f)
{
	const struct vde_backend_info *best = NULL;
	const char *why;
	size_t i;

	for (i = 0; i < n; i++)
		if (!l[i].schemes && backend_verdict(&l[i], f, &why) &&
		    (!best || l[i].priority > best->priority))
			best = &l[i];
	return best;
}

/* --------------------------------------------------------- text output */

/* @msg without a leading "backend NAME: ", which the line already says */
static const char *strip_name(const char *msg, const char *name)
{
	size_t n = strlen(name);

	if (!strncmp(msg, "backend ", 8) && !strncmp(msg + 8, name, n) &&
	    !strncmp(msg + 8 + n, ": ", 2))
		return msg + 10 + n;
	return msg;
}

static void print_text(const struct facts *f, const char *dir,
		       const struct vde_backend_info *l, size_t n,
		       const char *list_err)
{
	const struct vde_backend_info *best = auto_choice(l, n, f);
	char v[320];
	size_t i, k;

	printf("libvdestack %s\n", VDESTACK_VERSION);
	printf("backend directory: %s\n\n", dir ? dir : "(unknown)");
	printf("this system: kernel %s, user %s (uid %u)\n", f->release,
	       f->user, (unsigned int)f->uid);
	if (f->userns_err)
		printf("  user namespaces: cannot create a user+net namespace: "
		       "%s\n",
		       f->userns_why);
	else
		printf("  user namespaces: ok (this user can create a user+net "
		       "namespace)\n");
	printf("    user.max_user_namespaces = %ld\n", f->max_userns);
	if (f->unpriv_clone >= 0)
		printf("    kernel.unprivileged_userns_clone = %ld\n",
		       f->unpriv_clone);
	if (f->aa_restrict >= 0)
		printf("    kernel.apparmor_restrict_unprivileged_userns = "
		       "%ld\n",
		       f->aa_restrict);
	dev_verdict(&f->tun, v, sizeof(v));
	printf("  %s: %s", f->tun.path, v);
	if (f->tun.exists)
		printf(" [mode %04o %s:%s]", f->tun.st.st_mode & 07777,
		       f->tun.owner, f->tun.group);
	printf("\n");
	dev_verdict(&f->vhost, v, sizeof(v));
	printf("  %s: %s", f->vhost.path, v);
	if (f->vhost.exists)
		printf(" [mode %04o %s:%s]", f->vhost.st.st_mode & 07777,
		       f->vhost.owner, f->vhost.group);
	printf("\n");
	if (f->cap_net_admin < 0)
		printf("  CAP_NET_ADMIN: unknown (cannot read the process "
		       "capabilities)\n");
	else if (f->cap_net_admin && f->initial_userns)
		printf("  CAP_NET_ADMIN: yes, in the initial user namespace\n");
	else if (f->cap_net_admin)
		printf("  CAP_NET_ADMIN: only inside a container's user "
		       "namespace (host interfaces are out of reach)\n");
	else
		printf("  CAP_NET_ADMIN: no (only backends on host interfaces "
		       "need it: run as root, or give the program the file "
		       "capability: setcap cap_net_admin+ep PROGRAM)\n");

	printf("\nbackends:\n");
	if (list_err)
		printf("  none: %s\n", list_err);
	else if (!n)
		printf("  none installed in %s\n", dir);
	for (i = 0; i < n; i++) {
		const struct vde_backend_info *b = &l[i];
		const char *why;

		if (backend_verdict(b, f, &why))
			printf("  %s: usable\n", b->name);
		else
			printf("  %s: NOT %s: %s\n", b->name,
			       b->load_errno ? "loaded" : "usable",
			       strip_name(why, b->name));
		if (b->load_errno)
			continue;
		printf("    %s\n", b->summary);
		printf("    %s, ABI %u, priority %d, max MTU %u\n", b->path,
		       b->abi, b->priority, b->max_mtu);
		if (b->schemes) {
			printf("    claims:");
			for (k = 0; b->schemes[k]; k++)
				printf(" %s://", b->schemes[k]);
			printf("\n");
		} else {
			printf("    relay: serves any libvdeplug network\n");
		}
		if (!b->options)
			printf("    options: none\n");
		for (k = 0; b->options && b->options[k].name; k++)
			printf("    option %s=%s\n", b->options[k].name,
			       b->options[k].help ? b->options[k].help : "");
	}
	printf("\nbackend=auto: %s\n",
	       best ? best->name : "nothing usable (see the reasons above)");
}

/* --------------------------------------------------------- JSON output */

/* Length of a valid UTF-8 sequence at @s, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong, surrogates, beyond U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

/* A JSON string (or null): control characters escaped, bad UTF-8 as
 * U+FFFD, so any path or message makes valid JSON. */
static void jstr(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else if (n == 0)
			fputs("\\ufffd", stdout);
		else
			fwrite(p, 1, n, stdout);
		p += n ? n : 1;
	}
	putchar('"');
}

static void jkey(const char *indent, const char *key)
{
	printf("%s", indent);
	jstr(key);
	fputs(": ", stdout);
}

static void jlong_or_null(long v)
{
	if (v < 0)
		fputs("null", stdout);
	else
		printf("%ld", v);
}

static void jbool(bool b)
{
	fputs(b ? "true" : "false", stdout);
}

static void jdev(const char *key, const struct dev_fact *d)
{
	char v[320];

	dev_verdict(d, v, sizeof(v));
	jkey("\t\t", key);
	printf("{\"path\": ");
	jstr(d->path);
	printf(", \"exists\": ");
	jbool(d->exists);
	printf(", \"accessible\": ");
	jbool(d->exists && !d->err);
	if (d->exists) {
		printf(", \"mode\": \"%04o\", \"owner\": ",
		       d->st.st_mode & 07777);
		jstr(d->owner);
		printf(", \"group\": ");
		jstr(d->group);
	} else {
		printf(", \"mode\": null, \"owner\": null, \"group\": null");
	}
	printf(", \"errno\": %d, \"status\": ", d->err);
	jstr(v);
	printf("}");
}

static void print_json(const struct facts *f, const char *dir,
		       const struct vde_backend_info *l, size_t n,
		       const char *list_err)
{
	const struct vde_backend_info *best = auto_choice(l, n, f);
	size_t i, k, usable = 0;

	printf("{\n");
	jkey("\t", "version");
	jstr(VDESTACK_VERSION);
	printf(",\n");
	jkey("\t", "backend_dir");
	jstr(dir);
	printf(",\n");
	jkey("\t", "error");
	jstr(list_err);
	printf(",\n");
	jkey("\t", "system");
	printf("{\n");
	jkey("\t\t", "kernel_release");
	jstr(f->release);
	printf(",\n");
	jkey("\t\t", "uid");
	printf("%u,\n", (unsigned int)f->uid);
	jkey("\t\t", "user");
	jstr(f->user);
	printf(",\n");
	jkey("\t\t", "user_namespaces");
	printf("{\"ok\": ");
	jbool(f->userns_err == 0);
	printf(", \"errno\": %d, \"reason\": ", f->userns_err);
	jstr(f->userns_err ? f->userns_why : NULL);
	printf(", \"max_user_namespaces\": ");
	jlong_or_null(f->max_userns);
	printf(", \"unprivileged_userns_clone\": ");
	jlong_or_null(f->unpriv_clone);
	printf(", \"apparmor_restrict_unprivileged_userns\": ");
	jlong_or_null(f->aa_restrict);
	printf("},\n");
	jdev("tun", &f->tun);
	printf(",\n");
	jdev("vhost_net", &f->vhost);
	printf(",\n");
	jkey("\t\t", "cap_net_admin");
	if (f->cap_net_admin < 0)
		fputs("null", stdout);
	else
		jbool(f->cap_net_admin && f->initial_userns);
	printf(",\n");
	jkey("\t\t", "initial_user_namespace");
	jbool(f->initial_userns);
	printf("\n\t},\n");
	jkey("\t", "backends");
	printf("[");
	for (i = 0; i < n; i++) {
		const struct vde_backend_info *b = &l[i];
		const char *why;
		bool ok = backend_verdict(b, f, &why);

		usable += ok;
		printf("%s\n\t\t{\n", i ? "," : "");
		jkey("\t\t\t", "name");
		jstr(b->name);
		printf(",\n");
		jkey("\t\t\t", "path");
		jstr(b->path);
		printf(",\n");
		jkey("\t\t\t", "loaded");
		jbool(b->load_errno == 0);
		printf(",\n");
		jkey("\t\t\t", "load_error");
		jstr(b->load_errno ? b->load_error : NULL);
		printf(",\n");
		jkey("\t\t\t", "abi");
		printf("%u,\n", b->abi);
		jkey("\t\t\t", "summary");
		jstr(b->load_errno ? NULL : b->summary);
		printf(",\n");
		jkey("\t\t\t", "priority");
		printf("%d,\n", b->priority);
		jkey("\t\t\t", "max_mtu");
		printf("%u,\n", b->max_mtu);
		jkey("\t\t\t", "relay");
		jbool(!b->load_errno && !b->schemes);
		printf(",\n");
		jkey("\t\t\t", "schemes");
		printf("[");
		for (k = 0; b->schemes && b->schemes[k]; k++) {
			printf("%s", k ? ", " : "");
			jstr(b->schemes[k]);
		}
		printf("],\n");
		jkey("\t\t\t", "options");
		printf("[");
		for (k = 0; b->options && b->options[k].name; k++) {
			printf("%s{\"name\": ", k ? ", " : "");
			jstr(b->options[k].name);
			printf(", \"help\": ");
			jstr(b->options[k].help);
			printf("}");
		}
		printf("],\n");
		jkey("\t\t\t", "probe_ok");
		jbool(b->usable);
		printf(",\n");
		jkey("\t\t\t", "usable");
		jbool(ok);
		printf(",\n");
		jkey("\t\t\t", "errno");
		printf("%d,\n", ok	    ? 0
				: b->usable ? f->userns_err
					    : b->probe_errno);
		jkey("\t\t\t", "reason");
		jstr(ok ? NULL : why);
		printf("\n\t\t}");
	}
	printf("%s],\n", n ? "\n\t" : "");
	jkey("\t", "usable");
	printf("%zu,\n", usable);
	jkey("\t", "auto");
	jstr(best ? best->name : NULL);
	printf("\n}\n");
}

/* ------------------------------------------------------------- options */

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"List the libvdestack forwarding backends installed, whether "
		"each can run\nhere for this user and, if not, why; and the "
		"kernel facts checked.\n\n",
		PROG);
	for (i = 0; i < N_OPTS; i++) {
		char left[40];

		snprintf(left, sizeof(left), "-%c, --%s%s%s", tool_opts[i].key,
			 tool_opts[i].name, tool_opts[i].arg ? "=" : "",
			 tool_opts[i].arg ? tool_opts[i].arg : "");
		fprintf(out, "  %-24s %s\n", left, tool_opts[i].help);
	}
	fprintf(out,
		"\nExit status: %d if at least one backend can run, %d if "
		"none can,\n%d on a usage error, %d if the backend directory "
		"cannot be read.\n"
		"See vdestack-backend-info(1) and vdestack-backends(7).\n",
		EXIT_USABLE, EXIT_NONE_USABLE, EXIT_USAGE, EXIT_NO_DIR);
}

/**
 * parse_args() - the command line, per the table
 * @argc:	argument count
 * @argv:	arguments
 * @json:	set by --json
 *
 * Return: -1 to go on, else the exit status (--help, --version, error).
 */
static int parse_args(int argc, char **argv, bool *json)
{
	struct option lo[N_OPTS + 1];
	char so[2 * N_OPTS + 2] = ":";
	size_t i, s = 1;
	int c;

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < N_OPTS; i++) {
		lo[i].name = tool_opts[i].name;
		lo[i].has_arg =
			tool_opts[i].arg ? required_argument : no_argument;
		lo[i].val = tool_opts[i].key;
		so[s++] = (char)tool_opts[i].key;
		if (tool_opts[i].arg)
			so[s++] = ':';
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'd': {
			char *abs = realpath(optarg, NULL);

			/* the paths printed are then absolute too */
			setenv("VDESTACK_BACKEND_DIR", abs ? abs : optarg, 1);
			free(abs);
			break;
		}
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("%s (libvdestack) %s\n", PROG, VDESTACK_VERSION);
			return EXIT_SUCCESS;
		case ':':
			fprintf(stderr, "%s: option %s needs an argument\n",
				PROG, argv[optind - 1]);
			goto bad;
		default:
			fprintf(stderr, "%s: unknown option %s\n", PROG,
				argv[optind - 1]);
			goto bad;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG,
			argv[optind]);
		goto bad;
	}
	return -1;
bad:
	fprintf(stderr, "Try '%s --help'.\n", PROG);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct vde_backend_info *l = NULL;
	char list_err[512];
	const char *dir, *why;
	bool json = false, dir_bad = false;
	struct facts f;
	size_t n = 0, i, usable = 0;
	int r;

	r = parse_args(argc, argv, &json);
	if (r >= 0)
		return r;
	gather(&f);
	dir = vde_backend_dir();
	if (vde_backend_list(&l, &n) < 0) {
		snprintf(list_err, sizeof(list_err), "%s",
			 vde_stack_errmsg()[0] ? vde_stack_errmsg()
					       : strerror(errno));
		dir_bad = true;
	}
	if (json)
		print_json(&f, dir, l, n, dir_bad ? list_err : NULL);
	else
		print_text(&f, dir, l, n, dir_bad ? list_err : NULL);
	for (i = 0; i < n; i++)
		usable += backend_verdict(&l[i], &f, &why);
	vde_backend_list_free(l, n);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write the output: %s\n", PROG,
			strerror(errno));
		return EXIT_NO_DIR;
	}
	if (dir_bad) {
		if (json)
			fprintf(stderr, "%s: %s\n", PROG, list_err);
		return EXIT_NO_DIR;
	}
	return usable ? EXIT_USABLE : EXIT_NONE_USABLE;
}
