// SPDX-License-Identifier: BSD-2-Clause
/* Host compile of the test probe header (the module's one C source). */
#include "testprobes.h"
_Static_assert(sizeof(struct test_sample) == 16, "sample layout changed");
