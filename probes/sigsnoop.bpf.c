// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// sigsnoop: signal:signal_generate fires for every signal the kernel
// generates, from kill(2), a fault, a timer or the kernel itself; the
// current task is the sender.
#include "common.bpf.h"
#include "sigsnoop.h"

SWIFTBPF_EVENT(signal_event);

const volatile struct sigsnoop_config sig_cfg = {};

SEC("tracepoint/signal/signal_generate")
int signal_generate(struct trace_event_raw_signal_generate *ctx)
{
	struct signal_event *e;
	int sig = ctx->sig;

	if (sig_cfg.signal && sig != sig_cfg.signal)
		return 0;
	/* TRACE_SIGNAL_DELIVERED is 0: anything else did not arrive. */
	if (filter.failed_only && ctx->result == 0)
		return 0;
	if (!task_selected())
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_task(&e->task);
	e->target_pid = ctx->pid;
	e->sig = sig;
	e->result = ctx->result;
	e->code = ctx->code;
	bpf_probe_read_kernel(e->target_comm, sizeof(e->target_comm), ctx->comm);
	submit_event(e);
	return 0;
}
