// SPDX-License-Identifier: LGPL-2.1-or-later
/* nosym.so - a shared object that exports no descriptor */
#include "fake.h"

FAKE_EXPORT int vdestack_backend_typo = 1;
