// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* opensnoop: one event per open(2), openat(2) or openat2(2). */
#ifndef SWIFTBPF_OPENSNOOP_H
#define SWIFTBPF_OPENSNOOP_H

#include "common.h"

#define OPEN_PATH_MAX 4096

enum open_syscall {
	OPEN_SYSCALL_OPEN = 0,
	OPEN_SYSCALL_OPENAT = 1,
	OPEN_SYSCALL_OPENAT2 = 2,
};

#define OPEN_EVENT_PATH_TRUNCATED 1

struct open_config {
	/* -n NAME: only tasks whose command name contains this */
	char name[TASK_COMM_LEN];
	__u8 use_name;
};

struct open_event {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u64 flags;        /* open flags (O_*) */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;          /* fd or -errno */
	__s32 dfd;
	__u32 mode;
	__u16 path_len;
	__u8 syscall;       /* enum open_syscall */
	__u8 event_flags;   /* OPEN_EVENT_* */
	char comm[TASK_COMM_LEN];
	char path[OPEN_PATH_MAX];
};

#endif
