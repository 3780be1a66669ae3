// SPDX-License-Identifier: LGPL-2.1-or-later
/* misnamed.so - descriptor that calls itself "other" */
#include "fake.h"

FAKE_DESCRIPTOR(.name = "other");
