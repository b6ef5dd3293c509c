// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* One event per signal generated anywhere on the machine. */
#ifndef SIGNALWATCH_H
#define SIGNALWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct signal_event {
	__u32 sender_pid;
	__u32 target_pid;
	__s32 sig;
	__s32 result;       /* 0 delivered, 1 ignored, 2 already pending, ... */
	char sender_comm[16];
	char target_comm[16];
};

#endif
