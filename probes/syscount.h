// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* syscount: syscalls counted per syscall number or per process, in the
 * kernel; user space reads and clears the map each interval. */
#ifndef SWIFTBPF_SYSCOUNT_H
#define SWIFTBPF_SYSCOUNT_H

#include "common.h"

#define SYSCOUNT_HIST_SLOTS 40

struct syscount_config {
	__u8 by_process;    /* key by PID instead of syscall number */
	__u8 latency;       /* measure time in the syscall */
	__u8 pad[2];
	__s32 hist_nr;      /* syscall number for the histogram, or -1 */
};

struct syscount_value {
	__u64 count;
	__u64 errors;
	__u64 total_ns;
	char comm[TASK_COMM_LEN]; /* first command seen (per-process mode) */
};

#endif
