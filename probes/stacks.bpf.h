/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/* stacks.bpf.h: the kernel half of stacks.h. Stack IDs come from
 * bpf_get_stackid(); a stack that cannot be stored is counted in
 * stack_gaps, never dropped silently. User space sizes the maps. */
#ifndef SWIFTBPF_STACKS_BPF_H
#define SWIFTBPF_STACKS_BPF_H

#include "stacks.h"

#define PF_KTHREAD 0x00200000   /* a kernel thread: it has no user stack */
#define STACKS_EFAULT 14
#define STACKS_EEXIST 17

const volatile struct stacks_config stacks_cfg = {
	.user = 1,
	.kernel = 1,
	.per_process = 1,
	.max_ns = (__u64)-1,
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, STACKS_MAX_DEPTH * sizeof(__u64));
} stack_traces SEC(".maps");

/* Samples, hits, or nanoseconds off CPU (offcputime), per stack. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct stack_key);
	__type(value, __u64);
} stack_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GAP_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} stack_gaps SEC(".maps");

static __always_inline void count_gap(__u32 kind)
{
	__u64 *n = bpf_map_lookup_elem(&stack_gaps, &kind);

	if (n)
		*n += 1;
}

/* A stack ID, or -1 after counting why there is none. A sample taken in
 * user mode has no kernel stack (-EFAULT): that is not a gap. */
static __always_inline __s32 stack_id(void *ctx, __u64 flags, __u32 gap_base)
{
	long id = bpf_get_stackid(ctx, &stack_traces, flags);

	if (id >= 0)
		return id;
	if (id == -STACKS_EFAULT && gap_base == GAP_KERNEL_COLLISION)
		return -1;
	count_gap(gap_base + (id == -STACKS_EEXIST ? 0 : id == -STACKS_EFAULT ? 1 : 2));
	return -1;
}

/* Processes whose user stacks were taken, so each is announced once. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} stack_pids SEC(".maps");

/* A process's first user stack: its PID goes to user space through the
 * events ring, which reads its memory map while it lives, so a process
 * that exits before the report still has its frames named. */
static __always_inline void announce_process(void *ctx, __u32 pid)
{
	__u8 seen = 1;
	__u32 *record;

	if (bpf_map_update_elem(&stack_pids, &pid, &seen, BPF_NOEXIST))
		return;
	record = reserve_event(sizeof(*record));
	if (!record)
		return;
	*record = pid;
	wake_consumer_now(); /* user space reads its maps while it lives */
	submit_event(record);
}

/* The current task's key: who it is and its stacks, as stacks_cfg asks. */
static __always_inline void take_stacks(void *ctx, struct stack_key *key)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	__builtin_memset(key, 0, sizeof(*key));
	if (stacks_cfg.per_process) {
		key->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(key->comm, sizeof(key->comm));
	}
	key->user_stack = -1;
	key->kernel_stack = -1;
	if (stacks_cfg.user && !(BPF_CORE_READ(task, flags) & PF_KTHREAD)) {
		key->user_stack = stack_id(ctx, BPF_F_USER_STACK, GAP_USER_COLLISION);
		if (key->pid)
			announce_process(ctx, key->pid);
	}
	if (stacks_cfg.kernel)
		key->kernel_stack = stack_id(ctx, 0, GAP_KERNEL_COLLISION);
}

/* Adds weight (1 per sample, or nanoseconds) to a stack's count. */
static __always_inline void add_to_stack(const struct stack_key *key, __u64 weight)
{
	__u64 *count = bpf_map_lookup_elem(&stack_counts, key);

	if (!count) {
		__u64 zero = 0;

		/* Another CPU may have made it meanwhile: then use that one. */
		bpf_map_update_elem(&stack_counts, key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&stack_counts, key);
		if (!count) {
			count_gap(GAP_COUNTS_FULL);
			return;
		}
	}
	add_count(count, weight);
}

#endif
