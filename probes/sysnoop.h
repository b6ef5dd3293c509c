// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* sysnoop: any syscalls by name. One pair of programs is attached to each
 * requested syscalls:sys_enter_NAME / sys_exit_NAME tracepoint, with the
 * syscall's index in the request as the BPF cookie. */
#ifndef SWIFTBPF_SYSNOOP_H
#define SWIFTBPF_SYSNOOP_H

#include "common.h"

#define SYSNOOP_MAX_SYSCALLS 64
#define SYSNOOP_STRINGS 2
#define SYSNOOP_STR_MAX 256

/* Per requested syscall (indexed by cookie): which arguments are C strings,
 * read at entry while the caller's memory is certain to hold them. */
struct sysnoop_spec {
	__u8 string_arg[SYSNOOP_STRINGS]; /* argument index + 1, 0: none */
	__u8 nargs;         /* arguments the syscall has (0-6) */
	__u8 pad;
};

struct sysnoop_event {
	struct task_info task;  /* at entry; comm at exit */
	__u64 latency_ns;
	__u64 args[6];
	__s64 ret;
	__u32 index;        /* cookie: which requested syscall */
	__s32 nr;           /* syscall number, as the kernel reported it */
	__u16 str_len[SYSNOOP_STRINGS]; /* bytes read, NUL included; 0: none */
	char strings[SYSNOOP_STRINGS][SYSNOOP_STR_MAX];
};

#endif
