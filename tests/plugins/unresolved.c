// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * unresolved.so - needs a function nothing defines: RTLD_NOW refuses it
 * (built without -Wl,--no-undefined on purpose)
 */
#include "fake.h"

extern int vdestack_test_no_such_function(void);

static int unresolved_probe(char *reason, size_t len)
{
	return vdestack_test_no_such_function();
}

FAKE_DESCRIPTOR(.name = "unresolved", .probe = unresolved_probe);
