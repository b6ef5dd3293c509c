// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* offcputime: time threads spend off CPU, per stack that blocked. */
#ifndef SWIFTBPF_OFFCPUTIME_H
#define SWIFTBPF_OFFCPUTIME_H

#include "stacks.h"

/* A thread switched out: when, and the stacks it switched out with. */
struct offcpu_start {
	__u64 ts_ns;
	struct stack_key key;
};

#endif
