// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The event of a syscall that takes a path (mkdir, open, ...): the shared
 * kernel side of mkdirtrace and opensnoop (pathcall.bpf.h) and its Swift
 * view (PathEvent). Each tool numbers its own syscalls in `syscall`. */
#ifndef SWIFTBPF_PATHCALL_H
#define SWIFTBPF_PATHCALL_H

#include "common.h"

#define PATH_EVENT_PATH_MAX 4096

/* flags */
#define PATH_EVENT_TRUNCATED 1  /* the path filled the buffer */

/* What enter saves for exit, per thread. */
struct path_args {
	__u64 path;              /* the user address of the path */
	__u64 call_flags;
	__s32 dfd;
	__u32 mode;
	__u8 syscall;
	__u8 pad[7];
};

/* Sent with only path_len + 1 bytes of path, so short paths make short
 * records in the ring buffer. */
struct path_event {
	struct task_info task;   /* at the syscall's exit */
	__u64 call_flags;        /* the call's flags argument (open's O_*), or 0 */
	__s32 ret;               /* fd, 0, or -errno */
	__s32 dfd;               /* AT_FDCWD (-100) for calls without one */
	__u32 mode;              /* as passed, before the umask */
	__u16 path_len;          /* bytes in path, without the NUL */
	__u8 syscall;            /* the tool's enum of its syscalls */
	__u8 flags;              /* PATH_EVENT_* */
	char path[PATH_EVENT_PATH_MAX];
};

#endif
