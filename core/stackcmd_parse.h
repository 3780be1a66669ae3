/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stackcmd_parse.h - vde_stackcmd() strings to a packed argv list and back
 *
 * The application parses (errors are reported where the caller can read
 * them); the namespace agent receives the packed buffer and trusts nothing
 * in it.  Packed format, repeated once per command:
 *
 *	uint32_t argc	(host byte order, unaligned)
 *	argc NUL-terminated strings, argv[0] an absolute path
 */
#ifndef VS_STACKCMD_PARSE_H
#define VS_STACKCMD_PARSE_H

#include <stddef.h>

/* Largest packed buffer; also the largest message the agent must accept. */
#define VS_STACKCMD_MAX (128 * 1024)
/* Most arguments (argv[0] included) of one command. */
#define VS_STACKCMD_MAXARGS 4096
/* Most commands in one vde_stackcmd() string. */
#define VS_STACKCMD_MAXCMDS 256

int vs_stackcmd_parse(const char *s, char **buf, size_t *len,
		      unsigned int *ncmds, char *err, size_t errlen);
int vs_stackcmd_next(const char *buf, size_t len, size_t *off, char **argv,
		     size_t maxargv, unsigned int *argc);

#endif /* VS_STACKCMD_PARSE_H */
