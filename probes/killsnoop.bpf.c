// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// killsnoop: the syscalls' entries keep the target and signal per thread;
// the exits send them with the result.
#include "common.bpf.h"
#include "killsnoop.h"

SWIFTBPF_EVENT(signal_event);

const volatile struct sigsnoop_config sig_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct signal_event);
} calls SEC(".maps");

static __always_inline int kill_enter(__u32 target, int sig, enum killsnoop_call call)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct signal_event e = {};

	if (sig_cfg.signal && sig != sig_cfg.signal)
		return 0;
	if (!task_selected())
		return 0;
	e.target_pid = target;
	e.sig = sig;
	e.code = call;
	bpf_map_update_elem(&calls, &tid, &e, BPF_ANY);
	return 0;
}

static __always_inline int kill_exit(void *ctx, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct signal_event *pending = bpf_map_lookup_elem(&calls, &tid);
	struct signal_event *e;

	if (!pending)
		return 0;
	if (!filter.failed_only || ret < 0) {
		e = reserve_event(sizeof(*e));
		if (e) {
			*e = *pending;
			fill_task(&e->task);
			e->result = ret;
			submit_event(e);
		}
	}
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int enter_kill(struct trace_event_raw_sys_enter *ctx)
{
	return kill_enter((__u32)ctx->args[0], (int)ctx->args[1], KILLSNOOP_KILL);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int enter_tkill(struct trace_event_raw_sys_enter *ctx)
{
	return kill_enter((__u32)ctx->args[0], (int)ctx->args[1], KILLSNOOP_TKILL);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int enter_tgkill(struct trace_event_raw_sys_enter *ctx)
{
	return kill_enter((__u32)ctx->args[1], (int)ctx->args[2], KILLSNOOP_TGKILL);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int exit_kill(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int exit_tkill(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int exit_tgkill(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx, ctx->ret);
}
