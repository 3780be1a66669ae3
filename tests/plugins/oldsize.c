// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * oldsize.so - a descriptor of ABI 1 built before the prefetch field: its
 * size ends before it, so what lies there (a bad pointer here) is not read
 */
#include <stdint.h>

#include "fake.h"

FAKE_DESCRIPTOR(.size = offsetof(struct vdestack_backend, prefetch),
		.name = "oldsize",
		.prefetch = (const struct vdestack_fd_request *)(uintptr_t)8);
