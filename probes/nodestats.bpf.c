// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// nodestats: the exporter's counters. Everything is counted in per-CPU maps
// in the kernel; the exporter sums and reads them at scrape time. A counter
// that finds its map full is counted in lost_events, never dropped silently.
#include "common.bpf.h"
#include "nodestats.h"

const volatile struct nodestats_config nodestats_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct syscall_key);
	__type(value, __u64);
} syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct exec_key);
	__type(value, __u64);
} execs SEC(".maps");

/* Names in `execs` per cgroup (see NODESTATS_EXEC_NAMES). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} exec_names SEC(".maps");

/* Index nr * NODESTATS_LATENCY_SLOTS + slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NODESTATS_MAX_SYSCALL * NODESTATS_LATENCY_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} latency SEC(".maps");

/* Total nanoseconds per syscall, for the histograms' _sum. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NODESTATS_MAX_SYSCALL);
	__type(key, __u32);
	__type(value, __u64);
} latency_ns SEC(".maps");

/* When the current syscall started, per task: in task storage, or a hash
 * before Linux 5.12 (user space chooses, DECLARE_CALL_STATE). */
DECLARE_CALL_STATE(__u64)

static __always_inline void count(void *map, const void *key)
{
	__u64 zero = 0, *n = bpf_map_lookup_elem(map, key);

	if (!n) {
		/* EEXIST when another CPU made the entry meanwhile: fine. */
		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(map, key);
		if (!n) {
			count_lost_event(); /* the map is full */
			return;
		}
	}
	*n += 1; /* per-CPU: no atomics needed */
}

SEC("tracepoint/raw_syscalls/sys_enter")
int stats_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 *start;

	if (!nodestats_cfg.latency)
		return 0;
	start = call_state_begin();
	if (start)
		*start = bpf_ktime_get_ns();
	else
		count_lost_event(); /* the hash of a pre-5.12 kernel is full */
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int stats_exit(struct trace_event_raw_sys_exit *ctx)
{
	long ret = ctx->ret;
	struct syscall_key key = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.nr = (__u32)ctx->id,
		.err = ret < 0 && ret >= -4095 ? (__u32)-ret : 0,
	};
	__u64 *start;

	if (ctx->id < 0)
		return 0;
	count(&syscalls, &key);
	if (!nodestats_cfg.latency || key.nr >= NODESTATS_MAX_SYSCALL)
		return 0;
	start = call_state_find();
	if (start) {
		__u64 ns = bpf_ktime_get_ns() - *start;
		__u32 slot = log2_slot(ns), index, nr = key.nr;
		__u64 *n;

		if (slot >= NODESTATS_LATENCY_SLOTS)
			slot = NODESTATS_LATENCY_SLOTS - 1;
		index = nr * NODESTATS_LATENCY_SLOTS + slot;
		n = bpf_map_lookup_elem(&latency, &index);
		if (n)
			*n += 1;
		n = bpf_map_lookup_elem(&latency_ns, &nr);
		if (n)
			*n += ns;
		call_state_end(start);
	}
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int stats_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct exec_key key = { .cgroup_id = bpf_get_current_cgroup_id() };
	__u32 one = 1, *names;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (!bpf_map_lookup_elem(&execs, &key)) {
		/* A new name for this cgroup: within its budget, or "other". */
		names = bpf_map_lookup_elem(&exec_names, &key.cgroup_id);
		if (!names) {
			/* A full map (or another CPU first, which is fine): with no
			 * budget to count against, the name counts as "other". */
			if (bpf_map_update_elem(&exec_names, &key.cgroup_id, &one, BPF_NOEXIST) &&
			    !bpf_map_lookup_elem(&exec_names, &key.cgroup_id))
				__builtin_memset(key.comm, 0, sizeof(key.comm));
		} else if (*names >= NODESTATS_EXEC_NAMES)
			__builtin_memset(key.comm, 0, sizeof(key.comm));
		else
			add_count(names, 1);
	}
	count(&execs, &key);
	return 0;
}

static __always_inline int cgroup_changed(struct trace_event_raw_cgroup *ctx, __u8 removed)
{
	struct cgroup_change *e;

	if (ctx->root != 0) /* v1 hierarchies; the unified one is hierarchy 0 */
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	e->cgroup_id = ctx->id;
	e->removed = removed;
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), (void *)ctx + (ctx->__data_loc_path & 0xFFFF));
	/* User space names the cgroup's container from its directory. */
	wake_consumer_now();
	submit_event(e);
	return 0;
}

/* A new cgroup: user space names it while its path is known. */
SEC("tracepoint/cgroup/cgroup_mkdir")
int stats_cgroup_mkdir(struct trace_event_raw_cgroup *ctx)
{
	return cgroup_changed(ctx, 0);
}

/* A removed cgroup: its counters are collected once more, then retired. */
SEC("tracepoint/cgroup/cgroup_rmdir")
int stats_cgroup_rmdir(struct trace_event_raw_cgroup *ctx)
{
	return cgroup_changed(ctx, 1);
}
