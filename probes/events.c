// SPDX-License-Identifier: BSD-2-Clause
/* ProbeEvents' one host source: a header only BPF could compile fails
 * here too. The event structs' layouts are checked against their
 * generated views by a unit test (GeneratedEventViews.layoutMismatches). */
#include "common.h"
