// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* sigsnoop: every signal generated, with its sender, target and fate;
 * killsnoop: the kill(2), tkill(2) and tgkill(2) calls only. */
#ifndef SWIFTBPF_SIGSNOOP_H
#define SWIFTBPF_SIGSNOOP_H

#include "common.h"

struct sigsnoop_config {
	__s32 signal;       /* only this signal (0: any) */
	__u32 pad;
};

struct signal_event {
	struct task_info task;  /* the sender (the current task) */
	__u32 target_pid;       /* the thread the signal is for */
	__s32 sig;
	__s32 result;           /* sigsnoop: TRACE_SIGNAL_*; killsnoop: the syscall's return */
	__s32 code;             /* sigsnoop: si_code (SI_USER, SI_KERNEL...); killsnoop: which syscall */
	char target_comm[TASK_COMM_LEN]; /* sigsnoop only */
};

enum killsnoop_call { KILLSNOOP_KILL, KILLSNOOP_TKILL, KILLSNOOP_TGKILL };

#endif
