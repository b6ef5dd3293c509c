// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* swift-bpf's types shared between probes and Swift: the filter every
 * tool's flags fill in. Fixed-width kernel types only, so the BPF and host
 * compilers agree on the layout. Part of the public probe contract (see
 * swiftbpf.bpf.h). */
#ifndef SWIFTBPF_H
#define SWIFTBPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TASK_COMM_LEN 16

/* The ring buffer's wakeups (swiftbpf.bpf.h's wakeup_flags()): a CPU wakes
 * the consumer at most SWIFTBPF_WAKEUPS_PER_SECOND times a second (in
 * clock ticks: at least one), and RingBuffer, while records arrive, reads
 * the ring every SWIFTBPF_SAFETY_POLL_NS on its own. The poll must outlast
 * the wakeup interval plus a tick (25 + 10 ms at worst). */
#define SWIFTBPF_WAKEUPS_PER_SECOND 40
#define SWIFTBPF_SAFETY_POLL_NS 50000000ULL
#define SWIFTBPF_WAKEUP_SLOTS 1024 /* per-CPU slots; more CPUs share */
/* The largest record a probe sends when `events` is a perf buffer (the
 * per-CPU scratch reserve_event() builds records in). */
#define SWIFTBPF_PERF_RECORD_MAX 16384

/* trace_filter.use_workloads */
#define WORKLOADS_ANY 0            /* no container filter */
#define WORKLOADS_UNDECIDED_PASS 1 /* undecided cgroups pass; user space decides (streaming tools) */
#define WORKLOADS_DECIDED_ONLY 2   /* only cgroups decided as selected (tools that count in the kernel) */

/* Set in .rodata before load (TraceSession.load sets it by name), so the
 * verifier sees constants and dead branches cost nothing. Zero means "no
 * filter" except for uid, where (__u32)-1 means "no filter". */
struct trace_filter {
	__u32 pid;          /* process (tgid) */
	__u32 tid;          /* thread */
	__u32 uid;          /* (__u32)-1: any */
	__u8 failed_only;   /* only calls that returned an error */
	__u8 use_comm;
	__u8 use_cgroup;    /* task must be in cgroup_filter[0] */
	__u8 use_workloads; /* WORKLOADS_*: --container/--pod/--namespace (cgroup_verdicts) */
	char comm[TASK_COMM_LEN];
	__u8 ns_pids;       /* fill task_info's ns_pid/ns_tid (--container-pids) */
	__u8 pad[3];
};

/* Who did it, and when: the block every task event starts with, filled by
 * fill_task() and read in Swift as TaskInfo (through TaskEvent). 56 bytes;
 * the layout is part of the contract. */
struct task_info {
	__u64 ts_ns;        /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cgroup_id;    /* the task's cgroup v2 ID */
	__u32 pid;          /* process (tgid), in the host's PID namespace */
	__u32 tid;          /* thread */
	__u32 ppid;         /* parent process */
	__u32 uid;
	char comm[TASK_COMM_LEN];
	__u32 ns_pid;       /* the process as its own PID namespace sees it (0: not asked) */
	__u32 ns_tid;       /* the thread, likewise */
};

#endif
