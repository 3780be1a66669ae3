// SPDX-License-Identifier: LGPL-2.1-or-later
/* relay.so - a valid relay below tap's priority, max MTU 1500, one option */
#include "fake.h"

static const struct vdestack_backend_option relay_options[] = {
	{"queues", "N: number of queues (test option)"},
	{NULL, NULL},
};

FAKE_DESCRIPTOR(.name = "relay", .summary = "test relay that never forwards",
		.priority = 5, .options = relay_options);
