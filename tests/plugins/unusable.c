// SPDX-License-Identifier: LGPL-2.1-or-later
/* unusable.so - a valid relay above tap's priority whose probe always fails */
#include "fake.h"

static int unusable_probe(char *reason, size_t len)
{
	snprintf(reason, len, "unusable: a test backend that never runs");
	return -EACCES;
}

FAKE_DESCRIPTOR(.name = "unusable", .priority = 50, .probe = unusable_probe);
