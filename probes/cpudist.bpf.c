// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// cpudist: one raw tracepoint, sched_switch. The task switched in starts
// a slice on the CPU (or ends one off it); the task switched out the
// reverse.
#include "common.bpf.h"
#include "hist.bpf.h"
#include "cpudist.h"

const volatile struct cpudist_config cpudist_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} since SEC(".maps");

/* Ends the interval `t` started, if one was started, adding it to `t`'s histogram. */
static __always_inline void end_interval(struct task_struct *t, __u32 tid, __u64 now)
{
	__u64 *start = bpf_map_lookup_elem(&since, &tid);

	if (!start)
		return;
	if (now > *start)
		hist_add_task(t, now - *start);
	bpf_map_delete_elem(&since, &tid);
}

SEC("raw_tp/sched_switch")
int cpudist_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	__u32 prev_tid = BPF_CORE_READ(prev, pid), next_tid = BPF_CORE_READ(next, pid);
	__u64 now = bpf_ktime_get_ns();

	/* On-CPU: a slice is from switch-in to switch-out; off-CPU the
	 * reverse. TID 0 is a CPU's idle task. */
	struct task_struct *starts = cpudist_cfg.offcpu ? prev : next;
	struct task_struct *ends = cpudist_cfg.offcpu ? next : prev;
	__u32 start_tid = cpudist_cfg.offcpu ? prev_tid : next_tid;
	__u32 end_tid = cpudist_cfg.offcpu ? next_tid : prev_tid;

	if (end_tid)
		end_interval(ends, end_tid, now);
	if (start_tid && other_task_selected(starts))
		bpf_map_update_elem(&since, &start_tid, &now, BPF_ANY);
	return 0;
}

/* A task that exits ends its slice here, before its parent is told: the
 * last switch away from it comes after, when a tool stopped at the
 * parent's wait would have read the histograms already. */
SEC("raw_tp/sched_process_exit")
int cpudist_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	__u32 tid = BPF_CORE_READ(task, pid);

	if (cpudist_cfg.offcpu)
		bpf_map_delete_elem(&since, &tid);
	else
		end_interval(task, tid, bpf_ktime_get_ns());
	return 0;
}
