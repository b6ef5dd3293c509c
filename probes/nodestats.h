// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* nodestats: what swiftbpf-exporter counts in the kernel for the whole
 * node, per cgroup: syscalls with their errors, execs, and syscall latency
 * as log2 histograms. User space turns cgroups into containers and pods. */
#ifndef SWIFTBPF_NODESTATS_H
#define SWIFTBPF_NODESTATS_H

#include "common.h"

#define NODESTATS_MAX_SYSCALL 512   /* latency histograms cover 0..511 */
#define NODESTATS_LATENCY_SLOTS 36  /* [2^i, 2^(i+1)) ns; the last one is open */

struct nodestats_config {
	__u8 latency;       /* measure time in each syscall (costs a sys_enter probe) */
	__u8 pad[7];
};

/* syscalls: one counter per cgroup, syscall and result */
struct syscall_key {
	__u64 cgroup_id;
	__u32 nr;
	__u32 err;          /* errno, or 0 for success */
};

/* execs: one counter per cgroup and new command name; past
 * NODESTATS_EXEC_NAMES names in one cgroup, the rest count under an empty
 * name (no exec'd program has one), so one tenant's exec storm cannot fill
 * the map for every other workload. */
#define NODESTATS_EXEC_NAMES 64

struct exec_key {
	__u64 cgroup_id;
	char comm[TASK_COMM_LEN];
};

#define NODESTATS_PATH_MAX 256

/* events: a cgroup v2 directory was made or removed. The path comes with
 * it, so user space can name a cgroup that is gone by the time it reads
 * the event (a short-lived container). */
struct cgroup_change {
	__u64 cgroup_id;
	__u8 removed;
	__u8 pad[7];
	char path[NODESTATS_PATH_MAX]; /* from the hierarchy's root; cut at the limit */
};

#endif
