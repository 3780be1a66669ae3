// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * errmsg.c - the per-thread message behind vde_stack_errmsg(), debug log
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "stack.h"

static __thread char errmsg[1024];

void vs_set_errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	vs_debug("%s", errmsg);
}

void vs_clear_errmsg(void)
{
	errmsg[0] = '\0';
}

/**
 * vde_stack_errmsg() - what went wrong in this thread's last failed call
 *
 * Return: a message, "" if none; valid until the thread's next call.
 */
VS_EXPORT const char *vde_stack_errmsg(void)
{
	return errmsg;
}

static int on = -1;

/* the debug=1 option of vde_addstack_opt() */
void vs_debug_enable(void)
{
	on = 1;
}

/* Silent unless VDESTACK_DEBUG is set (ignored in setuid programs). */
void vs_debug(const char *fmt, ...)
{
	va_list ap;

	if (on < 0)
		on = secure_getenv("VDESTACK_DEBUG") != NULL;
	if (!on)
		return;
	va_start(ap, fmt);
	fputs("vdestack: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
