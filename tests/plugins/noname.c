// SPDX-License-Identifier: LGPL-2.1-or-later
/* noname.so - descriptor whose name is NULL */
#include "fake.h"

FAKE_DESCRIPTOR(.name = NULL);
