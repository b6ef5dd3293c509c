// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// stackcount: one program per kind of place; user space loads the one
// the target needs and attaches it there.
#include "common.bpf.h"
#include "stackcount.h"
#include "stacks.bpf.h"

static __always_inline int count_here(void *ctx)
{
	struct stack_key key;

	if (!task_selected())
		return 0;
	take_stacks(ctx, &key);
	add_to_stack(&key, 1);
	return 0;
}

SEC("tracepoint")
int stackcount_tp(void *ctx)
{
	return count_here(ctx);
}

SEC("uprobe")
int stackcount_uprobe(struct pt_regs *ctx)
{
	return count_here(ctx);
}
