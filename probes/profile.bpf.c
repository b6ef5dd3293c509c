// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// profile: a perf_event program on each CPU's cpu-clock event counts the
// interrupted task's stacks.
#include "common.bpf.h"
#include "profile.h"
#include "stacks.bpf.h"

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
	struct stack_key key;

	/* PID 0 is each CPU's idle task. */
	if (!stacks_cfg.idle && (bpf_get_current_pid_tgid() >> 32) == 0)
		return 0;
	if (!task_selected())
		return 0;
	take_stacks(ctx, &key);
	add_to_stack(&key, 1);
	return 0;
}
