// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_backend_load.c - the backend loader against good and broken plugins
 *
 * VDESTACK_BACKEND_DIR points at build/<variant>/tests/plugins/ (built by
 * tests/SConscript): a copy of the tap backend, the fakes of
 * tests/plugins/NAME.c and files that are not plugins.  Every broken file
 * must give its own clear error and must not crash the test process, which
 * loads them all in one process on purpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

static char plugdir[PATH_MAX];

#define assert_contains(hay, needle)                                           \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		if (!h_ || !strstr(h_, n_))                                    \
			fail_msg("\"%s\" lacks \"%s\"", h_ ? h_ : "(null)",    \
				 n_);                                          \
	} while (0)

static void use_dir(const char *dir)
{
	setenv("VDESTACK_BACKEND_DIR", dir, 1);
}

/**
 * load_err() - load @name from the test plugins, expecting failure
 * @name:	backend
 * @err:	expected -errno
 * @msg:	buffer of 512 bytes for the message
 *
 * The load runs in a child process: a crash (dlopen() of a truncated file
 * dies of SIGBUS) must fail this test, not take the loader's lock and the
 * other tests with it.
 */
static void load_err(const char *name, int err, char *msg)
{
	struct {
		int r;
		int got_be;
		char msg[512];
	} res;
	int p[2], st;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct vdestack_backend *be = NULL;

		memset(&res, 0, sizeof(res));
		res.r = vs_backend_load(name, &be, res.msg, sizeof(res.msg));
		res.got_be = be != NULL;
		_exit(write(p[1], &res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	close(p[1]);
	memset(&res, 0, sizeof(res));
	n = read(p[0], &res, sizeof(res));
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("loading %s killed the process: signal %d", name,
			 WTERMSIG(st));
	assert_int_equal(n, sizeof(res));
	memcpy(msg, res.msg, 512);
	msg[511] = '\0';
	assert_int_equal(res.r, err);
	assert_false(res.got_be);
	assert_true(msg[0] != '\0');
}

static char *mkdir_tmp(void)
{
	char tmpl[] = "/tmp/vdestack-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536], tmp[2 * PATH_MAX + 8];
	int in, out;
	ssize_t n;

	/* rename() over the target, as a package manager does */
	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	in = open(from, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	assert_int_equal(rename(tmp, to), 0);
}

static void copy_plugin(const char *file, const char *dir, const char *as)
{
	char from[2 * PATH_MAX], to[2 * PATH_MAX];

	snprintf(from, sizeof(from), "%s/%s", plugdir, file);
	snprintf(to, sizeof(to), "%s/%s", dir, as);
	copy_file(from, to);
}

static void remove_dir(char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static int tap_usable(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* ---------------------------------------------------------------- loading */

static void test_load_good_plugin_returns_checked_descriptor(void **state)
{
	const struct vdestack_backend *be = NULL;
	char msg[512] = "";

	assert_int_equal(vs_backend_load("tap", &be, msg, sizeof(msg)), 0);
	assert_non_null(be);
	assert_string_equal(be->name, "tap");
	assert_int_equal(be->abi, VDESTACK_BACKEND_ABI);
	assert_int_equal(be->max_mtu, 9216);
	assert_null(be->schemes);
	assert_non_null(be->create);
}

static void test_load_twice_returns_the_same_descriptor(void **state)
{
	const struct vdestack_backend *a = NULL, *b = NULL;
	char msg[512];

	assert_int_equal(vs_backend_load("relay", &a, msg, sizeof(msg)), 0);
	assert_int_equal(vs_backend_load("relay", &b, msg, sizeof(msg)), 0);
	assert_ptr_equal(a, b);
}

static void test_load_wrong_abi_is_elibbad_naming_both_abis(void **state)
{
	char msg[512];

	load_err("badabi", -ELIBBAD, msg);
	assert_contains(msg, "badabi.so");
	assert_contains(msg, "ABI 999");
	assert_contains(msg, "needs ABI 1");
}

static void test_load_random_bytes_is_elibbad_not_elf(void **state)
{
	char msg[512];

	load_err("corrupt", -ELIBBAD, msg);
	assert_contains(msg, "corrupt.so");
	assert_contains(msg, "not an ELF file");
}

static void test_load_empty_file_is_elibbad(void **state)
{
	char msg[512];

	load_err("empty", -ELIBBAD, msg);
	assert_contains(msg, "empty.so");
}

static void test_load_truncated_plugin_is_elibbad_not_sigbus(void **state)
{
	char msg[512];

	/* dlopen() itself dies of SIGBUS on this file */
	load_err("truncated", -ELIBBAD, msg);
	assert_contains(msg, "truncated.so");
	assert_contains(msg, "truncated (");
}

static void test_load_without_symbol_is_elibbad_naming_symbol(void **state)
{
	char msg[512];

	load_err("nosym", -ELIBBAD, msg);
	assert_contains(msg, "nosym.so");
	assert_contains(msg, "no symbol " VDESTACK_BACKEND_SYMBOL);
}

static void test_load_function_symbol_is_elibbad(void **state)
{
	char msg[512];

	load_err("funcsym", -ELIBBAD, msg);
	assert_contains(msg, "is a function");
}

static void test_load_symbol_smaller_than_descriptor_is_elibbad(void **state)
{
	char msg[512];

	/* its size field says 4096: the loader must believe the ELF size */
	load_err("tiny", -ELIBBAD, msg);
	assert_contains(msg, "is 8 bytes");
}

static void test_load_small_size_field_is_elibbad(void **state)
{
	char msg[512];

	load_err("small", -ELIBBAD, msg);
	assert_contains(msg, "size field is 16");
}

static void test_load_size_field_beyond_symbol_is_elibbad(void **state)
{
	char msg[512];

	/* fields past the symbol (prefetch) would be read from elsewhere */
	load_err("oversize", -ELIBBAD, msg);
	assert_contains(msg, "but the vdestack_backend symbol is");
}

/*
 * A prefetch list is read up to its first VDESTACK_PREFETCH_MAX entries
 * and no further: here those entries end right where an inaccessible page
 * begins, with no end marker, so one read too many faults.  Types come
 * back without SOCK_NONBLOCK/SOCK_CLOEXEC; a NULL list and a descriptor
 * whose size ends before the field give none.
 */
static void test_prefetch_reads_no_entry_past_the_last_that_counts(void **s)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct vdestack_fd_request req[VDESTACK_PREFETCH_MAX], *l;
	struct vdestack_backend be;
	unsigned int i;
	char *m;

	(void)s;
	m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
	l = (struct vdestack_fd_request *)(m + pg) - VDESTACK_PREFETCH_MAX;
	for (i = 0; i < VDESTACK_PREFETCH_MAX; i++) {
		l[i].domain = AF_INET;
		l[i].type = SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
		l[i].protocol = (int)i;
	}
	memset(&be, 0, sizeof(be));
	be.size = sizeof(be);
	be.prefetch = l;
	assert_int_equal(vs_backend_prefetch(&be, req), VDESTACK_PREFETCH_MAX);
	for (i = 0; i < VDESTACK_PREFETCH_MAX; i++) {
		assert_int_equal(req[i].domain, AF_INET);
		assert_int_equal(req[i].type, SOCK_DGRAM);
		assert_int_equal(req[i].protocol, (int)i);
	}
	/* an end marker before the last entry ends the list there */
	l[2].domain = 0;
	assert_int_equal(vs_backend_prefetch(&be, req), 2);
	be.prefetch = NULL;
	assert_int_equal(vs_backend_prefetch(&be, req), 0);
	be.prefetch = l;
	be.size = offsetof(struct vdestack_backend, prefetch);
	assert_int_equal(vs_backend_prefetch(&be, req), 0);
	munmap(m, (size_t)pg * 2);
}

static void test_load_null_name_is_elibbad(void **state)
{
	char msg[512];

	load_err("noname", -ELIBBAD, msg);
	assert_contains(msg, "has no name");
}

static void test_load_name_mismatch_is_elibbad_naming_both(void **state)
{
	char msg[512];

	load_err("misnamed", -ELIBBAD, msg);
	assert_contains(msg, "misnamed.so");
	assert_contains(msg, "\"other\"");
}

static void test_load_missing_create_is_elibbad(void **state)
{
	char msg[512];

	load_err("noops", -ELIBBAD, msg);
	assert_contains(msg, "no create operation");
}

static void test_load_unresolved_symbol_is_elibbad_naming_it(void **state)
{
	char msg[512];

	load_err("unresolved", -ELIBBAD, msg);
	assert_contains(msg, "vdestack_test_no_such_function");
}

static void test_load_nonexistent_is_enoent_naming_it(void **state)
{
	char msg[512];

	load_err("nonexistent", -ENOENT, msg);
	assert_contains(msg, "backend nonexistent is not installed");
	assert_contains(msg, "nonexistent.so");
}

static void test_load_invalid_names_are_einval(void **state)
{
	static const char *const names[] = {
		"",
		"../tap",
		"Tap",
		"a/b",
		"tap.so",
		"a b",
		"abcdefghijklmnopqrstuvwxyz0123456789",
	};
	char msg[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		load_err(names[i], -EINVAL, msg);
		assert_contains(msg, "invalid backend name");
	}
}

static void test_load_failure_is_retried_once_the_file_changes(void **state)
{
	const struct vdestack_backend *be = NULL;
	char *dir = mkdir_tmp();
	char msg[512];

	use_dir(dir);
	copy_plugin("corrupt.so", dir, "relay.so");
	load_err("relay", -ELIBBAD, msg);
	load_err("relay", -ELIBBAD, msg);
	copy_plugin("relay.so", dir, "relay.so");
	assert_int_equal(vs_backend_load("relay", &be, msg, sizeof(msg)), 0);
	assert_string_equal(be->name, "relay");
	use_dir(plugdir);
	remove_dir(dir);
}

/* -------------------------------------------------------- scheme and auto */

static void test_scheme_claimed_by_a_backend_finds_it(void **state)
{
	const struct vdestack_backend *be = NULL;
	char msg[64];

	assert_int_equal(
		vs_backend_for_scheme("testscheme://x", &be, msg, sizeof(msg)),
		1);
	assert_string_equal(be->name, "claims");
}

static void test_scheme_unclaimed_or_partial_is_libvdeplugs(void **state)
{
	static const char *const urls[] = {
		"seqpacket://3", "testschem://x", "testschemex://x",
		"testscheme:/x", "testscheme",	  "",
	};
	const struct vdestack_backend *be = NULL;
	char msg[64];
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		assert_int_equal(
			vs_backend_for_scheme(urls[i], &be, msg, sizeof(msg)),
			0);
	assert_null(be);
}

static void test_auto_skips_broken_unusable_and_claiming_backends(void **state)
{
	const struct vdestack_backend *be = NULL;
	char msg[512];

	/*
	 * badabi (100), claims (1000) and unusable (50) rank above tap (10):
	 * broken, not a relay, cannot run.  relay (5) is the fallback.
	 */
	assert_int_equal(vs_backend_auto(&be, msg, sizeof(msg)), 0);
	assert_non_null(be);
	assert_string_equal(be->name, tap_usable() ? "tap" : "relay");
}

static void test_auto_in_empty_dir_is_enoent_naming_dir(void **state)
{
	const struct vdestack_backend *be = NULL;
	char *dir = mkdir_tmp();
	char msg[512];

	use_dir(dir);
	assert_int_equal(vs_backend_auto(&be, msg, sizeof(msg)), -ENOENT);
	assert_null(be);
	assert_contains(msg, dir);
	assert_contains(msg, "none installed");
	use_dir(plugdir);
	remove_dir(dir);
}

static void test_auto_in_missing_dir_is_enoent_naming_dir(void **state)
{
	const struct vdestack_backend *be = NULL;
	char msg[512];

	use_dir("/nonexistent/vdestack");
	assert_int_equal(vs_backend_auto(&be, msg, sizeof(msg)), -ENOENT);
	assert_contains(msg, "/nonexistent/vdestack");
	use_dir(plugdir);
}

static void test_auto_failure_gives_each_candidates_reason(void **state)
{
	const struct vdestack_backend *be = NULL;
	char *dir = mkdir_tmp();
	char msg[512];

	use_dir(dir);
	copy_plugin("unusable.so", dir, "unusable.so");
	copy_plugin("corrupt.so", dir, "corrupt.so");
	/* one candidate: its probe's errno, not a generic ENOENT */
	assert_int_equal(vs_backend_auto(&be, msg, sizeof(msg)), -EACCES);
	assert_contains(msg, "unusable: unusable: a test backend that never");
	use_dir(plugdir);
	remove_dir(dir);
}

/* ---------------------------------------------------------------- listing */

static const struct vde_backend_info *find(const struct vde_backend_info *l,
					   size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			return &l[i];
	fail_msg("backend %s not listed", name);
	return NULL;
}

static void test_list_has_every_file_broken_ones_with_errors(void **state)
{
	static const char *const bad[] = {
		"badabi",   "corrupt", "empty",	    "funcsym",
		"misnamed", "noname",  "noops",	    "nosym",
		"oversize", "small",   "tiny",	    "truncated",
		"unresolved",
	};
	static const char *const good[] = {"claims",   "oldsize", "prefetch",
					   "relay",    "tap",	  "unusable"};
	struct vde_backend_info *l = NULL;
	const struct vde_backend_info *e;
	size_t n = 0, i;

	assert_int_equal(vde_backend_list(&l, &n), 0);
	assert_int_equal(n, 20);
	for (i = 1; i < n; i++)
		assert_true(strcmp(l[i - 1].name, l[i].name) < 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = find(l, n, bad[i]);
		assert_int_equal(e->load_errno, ELIBBAD);
		assert_contains(e->load_error, bad[i]);
		assert_int_equal(e->usable, 0);
		assert_int_equal(e->probe_errno, ELIBBAD);
		assert_true(e->reason[0] != '\0');
		assert_contains(e->path, plugdir);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		e = find(l, n, good[i]);
		assert_int_equal(e->load_errno, 0);
		assert_string_equal(e->load_error, "");
		assert_int_equal(e->abi, VDESTACK_BACKEND_ABI);
		assert_true(e->summary[0] != '\0');
	}
	e = find(l, n, "BadName");
	assert_int_equal(e->load_errno, EINVAL);
	assert_contains(e->load_error, "not a backend name");
	assert_int_equal(find(l, n, "badabi")->abi, 999);
	vde_backend_list_free(l, n);
}

static void test_list_copies_descriptor_fields(void **state)
{
	struct vde_backend_info *l = NULL;
	const struct vde_backend_info *e;
	size_t n = 0;

	assert_int_equal(vde_backend_list(&l, &n), 0);
	e = find(l, n, "claims");
	assert_non_null(e->schemes);
	assert_string_equal(e->schemes[0], "testscheme");
	assert_null(e->schemes[1]);
	assert_non_null(e->options);
	assert_string_equal(e->options[0].name, "mode");
	assert_contains(e->options[0].help, "bridge");
	assert_null(e->options[1].name);
	assert_int_equal(e->priority, 1000);
	assert_int_equal(e->max_mtu, 65535);
	e = find(l, n, "tap");
	assert_null(e->schemes);
	assert_null(e->options);
	assert_int_equal(e->priority, 10);
	assert_int_equal(e->max_mtu, 9216);
	assert_int_equal(e->usable, tap_usable());
	if (!e->usable) {
		assert_int_equal(e->probe_errno, EACCES);
		assert_contains(e->reason, "/dev/net/tun");
		assert_contains(e->reason, "0666");
	}
	vde_backend_list_free(l, n);
}

static void test_list_reports_probe_failure_with_reason(void **state)
{
	struct vde_backend_info *l = NULL;
	const struct vde_backend_info *e;
	size_t n = 0;

	assert_int_equal(vde_backend_list(&l, &n), 0);
	e = find(l, n, "unusable");
	assert_int_equal(e->load_errno, 0);
	assert_int_equal(e->usable, 0);
	assert_int_equal(e->probe_errno, EACCES);
	assert_string_equal(e->reason,
			    "unusable: a test backend that never runs");
	e = find(l, n, "relay");
	assert_int_equal(e->usable, 1);
	assert_int_equal(e->probe_errno, 0);
	assert_string_equal(e->reason, "");
	vde_backend_list_free(l, n);
}

static void test_list_sees_plugins_added_after_first_scan(void **state)
{
	struct vde_backend_info *l = NULL;
	const struct vde_backend_info *e;
	char *dir = mkdir_tmp();
	size_t n = 0;

	use_dir(dir);
	assert_int_equal(vde_backend_list(&l, &n), 0);
	assert_int_equal(n, 0);
	assert_null(l);
	copy_plugin("relay.so", dir, "relay.so");
	assert_int_equal(vde_backend_list(&l, &n), 0);
	assert_int_equal(n, 1);
	e = find(l, n, "relay");
	assert_int_equal(e->usable, 1);
	vde_backend_list_free(l, n);
	use_dir(plugdir);
	remove_dir(dir);
}

static void test_list_of_unreadable_dir_fails_naming_it(void **state)
{
	struct vde_backend_info *l = (void *)1;
	size_t n = 99;

	use_dir("/nonexistent/vdestack");
	errno = 0;
	assert_int_equal(vde_backend_list(&l, &n), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(l);
	assert_int_equal(n, 0);
	assert_contains(vde_stack_errmsg(), "/nonexistent/vdestack");
	use_dir("/etc/passwd");
	errno = 0;
	assert_int_equal(vde_backend_list(&l, &n), -1);
	assert_int_equal(errno, ENOTDIR);
	use_dir(plugdir);
}

static void test_list_null_arguments_are_einval(void **state)
{
	struct vde_backend_info *l;
	size_t n;

	errno = 0;
	assert_int_equal(vde_backend_list(NULL, &n), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(vde_backend_list(&l, NULL), -1);
	assert_int_equal(errno, EINVAL);
	vde_backend_list_free(NULL, 0);
}

static void test_backend_dir_follows_environment(void **state)
{
	assert_string_equal(vde_backend_dir(), plugdir);
	use_dir("/somewhere/else");
	assert_string_equal(vde_backend_dir(), "/somewhere/else");
	use_dir(plugdir);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_load_good_plugin_returns_checked_descriptor),
		cmocka_unit_test(test_load_twice_returns_the_same_descriptor),
		cmocka_unit_test(
			test_load_wrong_abi_is_elibbad_naming_both_abis),
		cmocka_unit_test(test_load_random_bytes_is_elibbad_not_elf),
		cmocka_unit_test(test_load_empty_file_is_elibbad),
		cmocka_unit_test(
			test_load_truncated_plugin_is_elibbad_not_sigbus),
		cmocka_unit_test(
			test_load_without_symbol_is_elibbad_naming_symbol),
		cmocka_unit_test(test_load_function_symbol_is_elibbad),
		cmocka_unit_test(
			test_load_symbol_smaller_than_descriptor_is_elibbad),
		cmocka_unit_test(test_load_small_size_field_is_elibbad),
		cmocka_unit_test(test_load_size_field_beyond_symbol_is_elibbad),
		cmocka_unit_test(
			test_prefetch_reads_no_entry_past_the_last_that_counts),
		cmocka_unit_test(test_load_null_name_is_elibbad),
		cmocka_unit_test(
			test_load_name_mismatch_is_elibbad_naming_both),
		cmocka_unit_test(test_load_missing_create_is_elibbad),
		cmocka_unit_test(
			test_load_unresolved_symbol_is_elibbad_naming_it),
		cmocka_unit_test(test_load_nonexistent_is_enoent_naming_it),
		cmocka_unit_test(test_load_invalid_names_are_einval),
		cmocka_unit_test(
			test_load_failure_is_retried_once_the_file_changes),
		cmocka_unit_test(test_scheme_claimed_by_a_backend_finds_it),
		cmocka_unit_test(
			test_scheme_unclaimed_or_partial_is_libvdeplugs),
		cmocka_unit_test(
			test_auto_skips_broken_unusable_and_claiming_backends),
		cmocka_unit_test(test_auto_in_empty_dir_is_enoent_naming_dir),
		cmocka_unit_test(test_auto_in_missing_dir_is_enoent_naming_dir),
		cmocka_unit_test(
			test_auto_failure_gives_each_candidates_reason),
		cmocka_unit_test(
			test_list_has_every_file_broken_ones_with_errors),
		cmocka_unit_test(test_list_copies_descriptor_fields),
		cmocka_unit_test(test_list_reports_probe_failure_with_reason),
		cmocka_unit_test(test_list_sees_plugins_added_after_first_scan),
		cmocka_unit_test(test_list_of_unreadable_dir_fails_naming_it),
		cmocka_unit_test(test_list_null_arguments_are_einval),
		cmocka_unit_test(test_backend_dir_follows_environment),
	};

	(void)argc;
	if (!realpath("/proc/self/exe", self))
		snprintf(self, sizeof(self), "%s", argv[0]);
	/* build/<variant>/tests/unit/test_backend_load -> tests/plugins */
	snprintf(plugdir, sizeof(plugdir), "%s/../plugins", dirname(self));
	if (!realpath(plugdir, self)) {
		fprintf(stderr, "test plugins not found in %s\n", plugdir);
		return 1;
	}
	snprintf(plugdir, sizeof(plugdir), "%s", self);
	use_dir(plugdir);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
