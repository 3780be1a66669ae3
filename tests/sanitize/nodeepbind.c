// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nodeepbind.c - let sanitizer builds load libvdeplug's plugins
 *
 * libvdeplug dlopen()s its plugins with RTLD_DEEPBIND, which ASan and TSan
 * refuse (their interceptors would be bypassed).  The sanitizer variants
 * link this into every program: it interposes dlopen and drops that one
 * flag.  The plugins do not rely on deep binding for anything our tests
 * exercise (they only avoid symbol clashes with the application).
 * Test builds only; never part of the library.
 */
#include <dlfcn.h>

void *dlopen(const char *file, int mode)
{
	static void *(*next)(const char *, int);

	if (!next)
		next = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
	return next(file, mode & ~RTLD_DEEPBIND);
}
