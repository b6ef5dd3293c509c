// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* exitsnoop: every process exit, with its status and age. */
#ifndef SWIFTBPF_EXITSNOOP_H
#define SWIFTBPF_EXITSNOOP_H

#include "common.h"

struct exitsnoop_config {
	__u8 threads;       /* every thread's exit, not only processes' */
	__u8 pad[7];
};

struct exit_event {
	struct task_info task;  /* the exiting task */
	__u64 age_ns;           /* since the process (or thread) started */
	__u32 status;           /* wait(2)'s status: code << 8, or the signal (| 0x80 for a core) */
	__u32 pad;
};

#endif
