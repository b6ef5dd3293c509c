// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* cpudist: how long tasks run (or stay off the CPU) at a stretch, as
 * histograms (hist.h). */
#ifndef SWIFTBPF_CPUDIST_H
#define SWIFTBPF_CPUDIST_H

#include "hist.h"

struct cpudist_config {
	__u8 offcpu;        /* time off the CPU between slices, not on it */
	__u8 pad[7];
};

#endif
