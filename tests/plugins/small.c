// SPDX-License-Identifier: LGPL-2.1-or-later
/* small.so - right ABI, but its size field is smaller than the ABI's struct */
#include "fake.h"

FAKE_DESCRIPTOR(.size = 16, .name = "small");
