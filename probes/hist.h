// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Log2 histograms counted in the kernel, one per key (a process, a
 * thread, a cgroup, a disk...), shared by runqlat, cpudist and
 * biolatency. User space reads and clears them each interval. */
#ifndef SWIFTBPF_HIST_H
#define SWIFTBPF_HIST_H

#include "common.h"

#define HIST_SLOTS 32

/* What a histogram is per. */
enum hist_per {
	HIST_ALL = 0,
	HIST_PER_PROCESS = 1,
	HIST_PER_THREAD = 2,
	HIST_PER_CGROUP = 3,
};

struct hist_config {
	__u64 divisor;      /* nanoseconds per unit: 1000 (usecs) or 1000000 (msecs) */
	__u8 per;           /* enum hist_per (the scheduler tools) */
	__u8 pad[7];
};

struct hist_key {
	__u64 id;           /* PID, TID, cgroup ID or disk (major << 20 | minor); 0 for all */
	__u32 flags;        /* biolatency -F: the request's operation and flags */
	__u32 pad;
};

struct hist {
	__u64 slots[HIST_SLOTS];
	__u64 count;
	__u64 total_ns;     /* sum of the durations */
	char comm[TASK_COMM_LEN]; /* per process or thread: its command */
};

#ifndef __bpf__
_Static_assert(sizeof(struct hist) == 8 * HIST_SLOTS + 32, "struct hist layout");
_Static_assert(sizeof(struct hist_key) == 16, "struct hist_key layout");
#endif

#endif
