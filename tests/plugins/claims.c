// SPDX-License-Identifier: LGPL-2.1-or-later
/* claims.so - a valid backend that claims the VNL scheme testscheme:// */
#include "fake.h"

static const char *const claims_schemes[] = {"testscheme", NULL};
static const struct vdestack_backend_option claims_options[] = {
	{"mode", "bridge|private: test option"},
	{NULL, NULL},
};

FAKE_DESCRIPTOR(.name = "claims", .priority = 1000, .schemes = claims_schemes,
		.options = claims_options, .max_mtu = 65535);
