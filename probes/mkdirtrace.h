// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* mkdirtrace: one event per completed mkdir(2) or mkdirat(2). */
#ifndef SWIFTBPF_MKDIRTRACE_H
#define SWIFTBPF_MKDIRTRACE_H

#include "common.h"

#define MKDIR_PATH_MAX 4096

enum mkdir_syscall {
	MKDIR_SYSCALL_MKDIR = 0,
	MKDIR_SYSCALL_MKDIRAT = 1,
};

#define MKDIR_EVENT_PATH_TRUNCATED 1

/* Sent with only path_len bytes of path, so the ring buffer holds short
 * records for short paths. */
struct mkdir_event {
	__u64 ts_ns;        /* CLOCK_MONOTONIC at syscall exit */
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__s32 ret;          /* 0 or -errno */
	__s32 dfd;          /* AT_FDCWD (-100) for mkdir(2) */
	__u32 mode;
	__u16 path_len;     /* bytes in path, without the NUL */
	__u8 syscall;       /* enum mkdir_syscall */
	__u8 flags;         /* MKDIR_EVENT_* */
	char comm[TASK_COMM_LEN];
	char path[MKDIR_PATH_MAX];
};

#endif
