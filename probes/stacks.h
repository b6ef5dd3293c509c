// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* stacks: what the stack tools (profile, offcputime, stackcount) share:
 * stacks counted in the kernel by who ran them and which stack IDs they
 * have; user space names the frames. */
#ifndef SWIFTBPF_STACKS_H
#define SWIFTBPF_STACKS_H

#include "common.h"

#define STACKS_MAX_DEPTH 127         /* frames kept per stack (the kernel's maximum) */

/* One counted stack: who, and the IDs of its user and kernel halves in
 * stack_traces (-1: not taken, or lost, see stack_gaps). */
struct stack_key {
	__u32 pid;          /* process (tgid); 0 when not counting per process */
	__s32 user_stack;
	__s32 kernel_stack;
	char comm[TASK_COMM_LEN];
};

struct stacks_config {
	__u8 user;          /* take user stacks */
	__u8 kernel;        /* take kernel stacks */
	__u8 idle;          /* count the idle tasks (PID 0) too */
	__u8 per_process;   /* key by process (stackcount can count stacks only) */
	__u32 pad;
	__u64 min_ns;       /* offcputime: shortest block counted */
	__u64 max_ns;       /* offcputime: longest block counted */
};

/* stack_gaps: why a stack is missing, counted per CPU. */
enum stack_gap {
	GAP_USER_COLLISION,     /* -EEXIST: another stack had the slot */
	GAP_USER_UNWALKABLE,    /* -EFAULT */
	GAP_USER_OTHER,
	GAP_KERNEL_COLLISION,
	GAP_KERNEL_UNWALKABLE,  /* unused: a user-mode sample has no kernel stack */
	GAP_KERNEL_OTHER,
	GAP_COUNTS_FULL,        /* stack_counts had no room for a new stack */
	GAP_KINDS,
};

#endif
