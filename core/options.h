/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * options.h - the options string of vde_addstack_opt() and VDESTACK_OPTIONS
 *
 * "backend=NAME|auto,mtu=N,debug=0|1,KEY=VALUE,...": core keys are parsed
 * into fields, every other key is kept for the backend, in order, as
 * "key=value/key=value".
 */
#ifndef VS_OPTIONS_H
#define VS_OPTIONS_H

#include <stddef.h>

/* Longest options string accepted. */
#define VS_OPTIONS_MAX 4096

/**
 * struct vs_options - parsed options; zero it before the first parse
 * @backend:		backend name or "auto"; "" if not given
 * @mtu:		68..65535; 0 if not given
 * @debug:		0 or 1
 * @backend_opts:	other keys, "key=value/key=value", "" if none
 */
struct vs_options {
	char backend[32];
	unsigned int mtu;
	int debug;
	char backend_opts[512];
};

int vs_options_parse(const char *s, struct vs_options *o, char *err,
		     size_t errlen);
int vs_options_check_backend(const char *backend_opts,
			     const char *const *allowed_keys, char *err,
			     size_t errlen);

#endif /* VS_OPTIONS_H */
