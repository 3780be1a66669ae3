// SPDX-License-Identifier: LGPL-2.1-or-later
/* oversize.so - its size field is larger than the symbol: fields past the
 * symbol (prefetch, say) must not be read */
#include "fake.h"

FAKE_DESCRIPTOR(.size = sizeof(struct vdestack_backend) + 64,
		.name = "oversize");
