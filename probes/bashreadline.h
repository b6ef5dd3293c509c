// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* bashreadline: each line bash's readline() returns. */
#ifndef SWIFTBPF_BASHREADLINE_H
#define SWIFTBPF_BASHREADLINE_H

#include "common.h"

#define READLINE_MAX 480

struct readline_event {
	struct task_info task;
	__u16 len;          /* bytes in line, without the NUL */
	__u8 truncated;
	__u8 pad[5];
	char line[READLINE_MAX];
};

#endif
