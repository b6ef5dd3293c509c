// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* opensnoop: one struct path_event per open(2), openat(2) or openat2(2). */
#ifndef SWIFTBPF_OPENSNOOP_H
#define SWIFTBPF_OPENSNOOP_H

#include "pathcall.h"

/* path_event.syscall */
enum open_syscall {
	OPEN_SYSCALL_OPEN = 0,
	OPEN_SYSCALL_OPENAT = 1,
	OPEN_SYSCALL_OPENAT2 = 2,
};

struct open_config {
	/* -n NAME: only tasks whose command name contains this */
	char name[TASK_COMM_LEN];
	__u8 use_name;
};

#endif
