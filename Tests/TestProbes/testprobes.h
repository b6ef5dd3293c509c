// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Test-only probe types, shared by testprobes.bpf.c and the tests. */
#ifndef SWIFTBPF_TESTPROBES_H
#define SWIFTBPF_TESTPROBES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <sys/syscall.h>
/* The host's number for getpriority(2), for the raw tracepoint test. */
static const int test_sys_getpriority = SYS_getpriority;
#endif

enum test_counter {
	COUNTER_UPROBE = 0,
	COUNTER_URETPROBE = 1,
	COUNTER_RAW_TP = 2,
	COUNTER_KPROBE = 3,
	COUNTER_MAX = 4,
};

/* kernellane.bpf.c: one counter per attach kind. */
enum lane_counter {
	LANE_KPROBE = 0,
	LANE_KPROBE_OFFSET = 1,
	LANE_KRETPROBE = 2,
	LANE_FENTRY = 3,
	LANE_FEXIT = 4,
	LANE_COUNTER_MAX = 5,
};

struct test_config {
	__u32 target_pid;
	__u32 target_syscall;
};

struct test_sample {
	__u64 seq;
	__u32 pid;
	__u32 value;
};

#endif
