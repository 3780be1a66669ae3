// SPDX-License-Identifier: LGPL-2.1-or-later
/* noops.so - descriptor without a create operation */
#include "fake.h"

FAKE_DESCRIPTOR(.name = "noops", .create = NULL);
