// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// signalwatch: who signals whom, from the signal:signal_generate tracepoint.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "swiftbpf.bpf.h"  /* events, lost_events, filters: from swift-bpf's plugin */
#include "signalwatch.h"

SEC("tracepoint/signal/signal_generate")
int on_signal(struct trace_event_raw_signal_generate *ctx)
{
	struct signal_event *e;

	if (!task_selected())
		return 0;
	e = reserve_event(sizeof(*e));  /* counts in lost_events when full */
	if (!e)
		return 0;
	e->sender_pid = bpf_get_current_pid_tgid() >> 32;
	e->target_pid = ctx->pid;
	e->sig = ctx->sig;
	e->result = ctx->result;
	bpf_get_current_comm(e->sender_comm, sizeof(e->sender_comm));
	bpf_probe_read_kernel(e->target_comm, sizeof(e->target_comm), ctx->comm);
	submit_event(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
