// SPDX-License-Identifier: LGPL-2.1-or-later
/* badabi.so - built for another backend ABI (and the highest priority) */
#include "fake.h"

FAKE_DESCRIPTOR(.abi = 999, .name = "badabi", .priority = 100);
