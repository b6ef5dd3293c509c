// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// offcputime: the sched_switch raw tracepoint (no kprobes). At switch-out
// the current task is the one leaving, so its stacks are where it
// blocked; when it is switched back in, the time away is added to them.
#include "common.bpf.h"
#include "offcputime.h"
#include "stacks.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct offcpu_start);
} switched_out SEC(".maps");

SEC("raw_tp/sched_switch")
int offcpu_switch(struct bpf_raw_tracepoint_args *ctx)
{
	/* sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...) */
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	__u32 prev_tid = BPF_CORE_READ(prev, pid);
	__u32 next_tid = BPF_CORE_READ(next, pid);
	__u64 now = bpf_ktime_get_ns();
	struct offcpu_start *start;

	/* TID 0 is a CPU's idle task, never blocked. */
	if (prev_tid && task_selected()) {
		struct offcpu_start s = { .ts_ns = now };

		take_stacks(ctx, &s.key);
		bpf_map_update_elem(&switched_out, &prev_tid, &s, BPF_ANY);
	}
	start = bpf_map_lookup_elem(&switched_out, &next_tid);
	if (start) {
		__u64 away = now - start->ts_ns;

		if (away >= stacks_cfg.min_ns && away <= stacks_cfg.max_ns)
			add_to_stack(&start->key, away);
		bpf_map_delete_elem(&switched_out, &next_tid);
	}
	return 0;
}
