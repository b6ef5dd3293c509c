// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* swift-bpf's probe contract, for probes in any package that applies the
 * BPFProbeCompiler plugin (it puts this header on the include path):
 *
 * - `events`: the ring buffer. RingBuffer and TraceSession.stream read it;
 *   TraceSession.load sizes it from --buffer-size.
 * - `lost_events`: a per-CPU count of records the ring buffer had no room
 *   for (ring buffers only tell the producer). RingBuffer reports it.
 *   Emit with reserve_event()/emit_event() and it is kept for you.
 * - `filter`, `cgroup_filter` and `cgroup_verdicts`: what the shared tool
 *   flags (-p, -t, -u, -c, -x, --cgroup, --container, --pod, --namespace)
 *   select, tested with task_selected() and result_selected().
 *   TraceSession.load fills them by name.
 * - `struct task_info` (swiftbpf.h): start an event with it and fill it
 *   with fill_task(); Swift reads it through TaskEvent, and the tools'
 *   shared columns and JSON fields come from it.
 *
 * Include it after vmlinux.h and the libbpf headers it needs. */
#ifndef SWIFTBPF_BPF_H
#define SWIFTBPF_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "swiftbpf.h"

/* User space resizes this before load (tools' --buffer-size). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

/* Ring buffers only tell the producer that a reserve failed, so count the
 * failures here; the library sums the CPUs and reports them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

/* Slot 0 holds the cgroup v2 directory given with --cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/* --container, --pod, --namespace: user space decides, per cgroup ID, whether
 * a cgroup's tasks are selected (1) or not (0). A cgroup it has not decided
 * yet (one made after the tool started) passes, and user space decides when
 * its first event arrives, so no container's first events are lost to the
 * time it takes to learn a new cgroup's name. LRU, so a long run on a node
 * that churns containers keeps room; TraceSession.load shrinks it when no
 * container flag is given (LRU maps are preallocated). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_verdicts SEC(".maps");

const volatile struct trace_filter filter = {
	.uid = (__u32)-1,
};

static __always_inline void count_lost_event(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

	if (lost)
		*lost += 1; /* per-CPU slot: no atomics needed */
}

/* Copies size bytes of data into the ring buffer, counting a failure. */
static __always_inline void emit_event(void *data, __u64 size)
{
	if (bpf_ringbuf_output(&events, data, size, 0))
		count_lost_event();
}

/* Reserves a fixed-size record in place (no copy), counting a failure. */
static __always_inline void *reserve_event(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		count_lost_event();
	return e;
}

/* A struct pid's number in the innermost PID namespace it belongs to
 * (numbers[level]), as /proc/PID/status's last NSpid column shows it. */
static __always_inline __u32 ns_nr(struct pid *pid)
{
	struct upid upid = {};
	unsigned int level = BPF_CORE_READ(pid, level);

	bpf_core_read(&upid, sizeof(upid), &pid->numbers[level]);
	return upid.nr;
}

/* Fills the struct task_info an event starts with: now, and the current
 * task's cgroup, process, thread, parent, user and command (and with
 * filter.ns_pids, its PID and TID in its own PID namespace). */
static __always_inline void fill_task(struct task_info *t)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	t->ts_ns = bpf_ktime_get_ns();
	t->cgroup_id = bpf_get_current_cgroup_id();
	t->pid = pid_tgid >> 32;
	t->tid = (__u32)pid_tgid;
	t->ppid = BPF_CORE_READ(task, real_parent, tgid);
	t->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(t->comm, sizeof(t->comm));
	/* Read only when asked: a read-only global, so the verifier drops
	 * this branch from tools that do not want it. */
	if (filter.ns_pids) {
		t->ns_tid = ns_nr(BPF_CORE_READ(task, thread_pid));
		t->ns_pid = ns_nr(BPF_CORE_READ(task, group_leader, thread_pid));
	} else {
		t->ns_pid = 0;
		t->ns_tid = 0;
	}
}

/* Whether a command name equals -c's. */
static __always_inline bool comm_equals_filter(const char *comm)
{
	for (int i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != filter.comm[i])
			return false;
		if (comm[i] == 0)
			break;
	}
	return true;
}

static __always_inline bool comm_matches(void)
{
	char comm[TASK_COMM_LEN];

	bpf_get_current_comm(comm, sizeof(comm));
	return comm_equals_filter(comm);
}

/* The filters on who the task is (PID, TID, UID, cgroup), without the
 * command name, which exec changes. */
static __always_inline bool ids_selected(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (filter.pid && (pid_tgid >> 32) != filter.pid)
		return false;
	if (filter.tid && (__u32)pid_tgid != filter.tid)
		return false;
	if (filter.uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != filter.uid)
		return false;
	if (filter.use_cgroup && bpf_current_task_under_cgroup(&cgroup_filter, 0) != 1)
		return false;
	if (filter.use_workloads) {
		__u64 cgroup = bpf_get_current_cgroup_id();
		__u8 *verdict = bpf_map_lookup_elem(&cgroup_verdicts, &cgroup);

		if (verdict ? !*verdict : filter.use_workloads == WORKLOADS_DECIDED_ONLY)
			return false;
	}
	return true;
}

static __always_inline bool comm_selected(void)
{
	return !filter.use_comm || comm_matches();
}

/* True when the current task passes every filter that does not depend on
 * the syscall's result. */
static __always_inline bool task_selected(void)
{
	return ids_selected() && comm_selected();
}

/* The same filters for a task that is not the current one (the task a
 * scheduler event is about). --cgroup is not applied: the kernel tests only
 * the current task's cgroup ancestry for a BPF program, so tools that use
 * this refuse --cgroup. */
static __always_inline bool other_task_selected(struct task_struct *t)
{
	if (filter.pid && BPF_CORE_READ(t, tgid) != filter.pid)
		return false;
	if (filter.tid && BPF_CORE_READ(t, pid) != filter.tid)
		return false;
	if (filter.uid != (__u32)-1) {
		__u32 uid = 0;

		BPF_CORE_READ_INTO(&uid, t, cred, uid.val);
		if (uid != filter.uid)
			return false;
	}
	if (filter.use_workloads) {
		__u64 cgroup = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
		__u8 *verdict = bpf_map_lookup_elem(&cgroup_verdicts, &cgroup);

		if (verdict ? !*verdict : filter.use_workloads == WORKLOADS_DECIDED_ONLY)
			return false;
	}
	if (filter.use_comm) {
		char comm[TASK_COMM_LEN];

		bpf_probe_read_kernel_str(comm, sizeof(comm), t->comm);
		if (!comm_equals_filter(comm))
			return false;
	}
	return true;
}

static __always_inline bool result_selected(long ret)
{
	return !filter.failed_only || ret < 0;
}

#endif
