// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* profile: on-CPU stacks sampled by a timed perf event on every CPU. */
#ifndef SWIFTBPF_PROFILE_H
#define SWIFTBPF_PROFILE_H

#include "stacks.h"

#endif
