// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// runqlat: time from becoming runnable (woken, new, or preempted while
// runnable) to running, from raw tracepoints (no kprobes). The woken
// task is not the current one, so the filters test it by its task_struct.
#include "common.bpf.h"
#include "hist.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} runnable_since SEC(".maps");

struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

/* Before 5.14 the field was `state`. */
static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

static __always_inline void became_runnable(struct task_struct *t)
{
	__u32 tid = BPF_CORE_READ(t, pid);
	__u64 now;

	/* TID 0 is a CPU's idle task. */
	if (!tid || !other_task_selected(t))
		return;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&runnable_since, &tid, &now, BPF_ANY);
}

SEC("raw_tp/sched_wakeup")
int runq_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	became_runnable((struct task_struct *)ctx->args[0]);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int runq_wakeup_new(struct bpf_raw_tracepoint_args *ctx)
{
	became_runnable((struct task_struct *)ctx->args[0]);
	return 0;
}

SEC("raw_tp/sched_switch")
int runq_switch(struct bpf_raw_tracepoint_args *ctx)
{
	/* sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...) */
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	__u32 tid = BPF_CORE_READ(next, pid);
	__u64 *since;

	/* Preempted while still runnable: back on the run queue now. */
	if (task_state(prev) == 0 /* TASK_RUNNING */)
		became_runnable(prev);
	since = bpf_map_lookup_elem(&runnable_since, &tid);
	if (!since)
		return 0;
	hist_add_task(next, bpf_ktime_get_ns() - *since);
	bpf_map_delete_elem(&runnable_since, &tid);
	return 0;
}
