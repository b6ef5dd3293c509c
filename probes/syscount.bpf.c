// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// syscount: raw_syscalls enter/exit. Counts live in a per-CPU hash, so
// busy CPUs never contend; user space sums them.
#include "common.bpf.h"
#include "syscount.h"

const volatile struct syscount_config count_cfg = {
	.hist_nr = -1,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct syscount_value);
} counts SEC(".maps");

/* log2 histogram of latency (ns) for count_cfg.hist_nr. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCOUNT_HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 ts;

	if (!count_cfg.latency && count_cfg.hist_nr < 0)
		return 0;
	if (!task_selected())
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, key;
	struct syscount_value *v, zero = {};
	__u64 delta = 0, *ts;
	long ret = ctx->ret;
	__s32 nr = ctx->id;

	if (nr < 0)
		return 0;
	if (count_cfg.latency || count_cfg.hist_nr >= 0) {
		ts = bpf_map_lookup_elem(&start, &tid);
		if (!ts)
			return 0; /* entered before we attached, or filtered out */
		delta = bpf_ktime_get_ns() - *ts;
		bpf_map_delete_elem(&start, &tid);
	} else if (!task_selected()) {
		return 0;
	}
	if (!result_selected(ret))
		return 0;

	key = count_cfg.by_process ? (__u32)(pid_tgid >> 32) : (__u32)nr;
	v = bpf_map_lookup_elem(&counts, &key);
	if (!v) {
		bpf_get_current_comm(zero.comm, sizeof(zero.comm));
		bpf_map_update_elem(&counts, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&counts, &key);
		if (!v)
			return 0;
	}
	v->count++;
	if (ret < 0)
		v->errors++;
	v->total_ns += delta;

	if (nr == count_cfg.hist_nr) {
		__u32 slot = log2_slot(delta);
		__u64 *bucket;

		if (slot >= SYSCOUNT_HIST_SLOTS)
			slot = SYSCOUNT_HIST_SLOTS - 1;
		bucket = bpf_map_lookup_elem(&hist, &slot);
		if (bucket)
			*bucket += 1;
	}
	return 0;
}
