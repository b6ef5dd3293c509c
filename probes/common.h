// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Types shared by every bundled probe and the Swift side (imported through
 * the ProbeEvents module). Fixed-width kernel types only, so both compilers
 * agree on the layout. */
#ifndef SWIFTBPF_COMMON_H
#define SWIFTBPF_COMMON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TASK_COMM_LEN 16

/* Filters every tool understands. Set in .rodata before load, so the
 * verifier sees constants and dead branches cost nothing. Zero means
 * "no filter" except for uid, where (__u32)-1 means "no filter". */
struct trace_filter {
	__u32 pid;          /* process (tgid) */
	__u32 tid;          /* thread */
	__u32 uid;          /* (__u32)-1: any */
	__u8 failed_only;   /* only calls that returned an error */
	__u8 use_comm;
	__u8 use_cgroup;    /* task must be in cgroup_filter[0] */
	__u8 pad;
	char comm[TASK_COMM_LEN];
};

#endif
