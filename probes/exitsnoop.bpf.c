// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// exitsnoop: sched:sched_process_exit runs in the exiting task, with its
// exit code already set.
#include "common.bpf.h"
#include "exitsnoop.h"

SWIFTBPF_EVENT(exit_event);

const volatile struct exitsnoop_config exit_cfg = {};

SEC("tracepoint/sched/sched_process_exit")
int exit_process(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct exit_event *e;
	__u32 code;

	/* A process ends when its leader does; other threads' exits are noise
	 * unless asked for. */
	if (!exit_cfg.threads && (__u32)pid_tgid != pid_tgid >> 32)
		return 0;
	if (!task_selected())
		return 0;
	code = BPF_CORE_READ(task, exit_code);
	if (filter.failed_only && code == 0)
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_task(&e->task);
	e->age_ns = e->task.ts_ns - (exit_cfg.threads ? BPF_CORE_READ(task, start_time)
						      : BPF_CORE_READ(task, group_leader, start_time));
	e->status = code;
	e->pad = 0;
	submit_event(e);
	return 0;
}
