// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Types shared by every bundled probe and the Swift side (imported through
 * the ProbeEvents module): swift-bpf's public ones (include/swiftbpf.h). */
#ifndef SWIFTBPF_COMMON_H
#define SWIFTBPF_COMMON_H

#include "include/swiftbpf.h"

#endif
