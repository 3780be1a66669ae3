// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tiny.so - the symbol has the right ABI but is 8 bytes long: reading the
 * rest of a descriptor would run past it
 */
#include <stdint.h>

#include "fake.h"

FAKE_EXPORT const uint32_t vdestack_backend[2] = {VDESTACK_BACKEND_ABI, 4096};
