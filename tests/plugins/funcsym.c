// SPDX-License-Identifier: LGPL-2.1-or-later
/* funcsym.so - the symbol is a function, not a descriptor */
#include "fake.h"

FAKE_EXPORT void vdestack_backend(void)
{
}
