// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * paths.c - where the agent and the backend plugins are
 *
 * Both live in "vdestack/" next to the library file itself (found with
 * dladdr() when the library is loaded): <libdir>/vdestack/ once installed,
 * build/<variant>/lib/vdestack/ in the build tree, which mirrors the
 * installed layout.  So the build tree needs no environment variable and
 * an installed copy cannot be pointed elsewhere by the user.
 * VDESTACK_BACKEND_DIR overrides the plugin directory (for tests); it is
 * read with secure_getenv(), so a setuid/setcap program ignores it.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

static char libexec[PATH_MAX];

__attribute__((constructor)) static void vs_paths_init(void)
{
	char real[PATH_MAX], *slash;
	Dl_info info;

	if (!dladdr((void *)vs_paths_init, &info) || !info.dli_fname)
		return;
	if (!realpath(info.dli_fname, real))
		return;
	slash = strrchr(real, '/');
	if (!slash)
		return;
	*slash = '\0';
	if (strlen(real) + sizeof("/vdestack") > sizeof(libexec))
		return;
	strcpy(libexec, real);
	strcat(libexec, "/vdestack");
}

const char *vs_libexec_dir(void)
{
	return libexec;
}

const char *vs_backend_dir(void)
{
	const char *env = secure_getenv("VDESTACK_BACKEND_DIR");

	return env && *env ? env : libexec;
}
