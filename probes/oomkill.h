// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* oomkill: each task the OOM killer marks as its victim. */
#ifndef SWIFTBPF_OOMKILL_H
#define SWIFTBPF_OOMKILL_H

#include "common.h"

struct oom_event {
	struct task_info task;  /* the task whose allocation triggered it */
	__u32 victim_pid;
	__u32 victim_uid;       /* (__u32)-1 when the kernel does not say */
	__s32 oom_score_adj;
	__u8 has_memory;        /* the kernel gives the figures below (Linux 6.8+) */
	__u8 pad[3];
	__u64 total_vm_kb;
	__u64 anon_rss_kb;
	__u64 file_rss_kb;
	__u64 shmem_rss_kb;
	__u64 pgtables_kb;
	char victim_comm[TASK_COMM_LEN];
};

#endif
