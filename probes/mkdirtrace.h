// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* mkdirtrace: one struct path_event per completed mkdir(2) or mkdirat(2). */
#ifndef SWIFTBPF_MKDIRTRACE_H
#define SWIFTBPF_MKDIRTRACE_H

#include "pathcall.h"

/* path_event.syscall */
enum mkdir_syscall {
	MKDIR_SYSCALL_MKDIR = 0,
	MKDIR_SYSCALL_MKDIRAT = 1,
};

#endif
