// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// execsnoop: argv is read at entry (the old image still exists), the event
// is sent at exit with the result and the new command name.
#include "common.bpf.h"
#include "execsnoop.h"

SWIFTBPF_EVENT(exec_event);

const volatile struct exec_config exec_cfg = {
	.max_args = 20,
	.max_arg_len = 128,
};

/* Per task: a successful exec from a thread makes it the leader, under the
 * leader's PID, but it is the same task. */
DECLARE_CALL_STATE(struct exec_event)

static __always_inline int on_enter(const char *filename, const char *const *argv)
{
	__u32 limit = exec_cfg.max_arg_len + 2, i;
	struct exec_event *e;
	const char *arg;
	long len;

	if (!ids_selected())
		return 0;
	e = call_state_begin();
	if (!e)
		return 0;
	if (limit > EXEC_ARG_LIMIT)
		limit = EXEC_ARG_LIMIT;
	len = bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename);
	e->filename_len = len > 0 ? len - 1 : 0;

	for (i = 0; i < EXEC_ARGS_LIMIT && i < exec_cfg.max_args; i++) {
		__u32 off = e->args_size;

		arg = NULL;
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			return 0;
		if (off > EXEC_ARGS_BUF - EXEC_ARG_LIMIT - 1) {
			e->flags |= EXEC_FLAG_BUFFER_FULL;
			return 0;
		}
		len = bpf_probe_read_user_str(&e->args[off], limit, arg);
		if (len <= 0)
			return 0;
		/* limit allows one character more than max_arg_len: reading it
		 * means the argument is longer, so cut it there and say so. */
		if (len == limit && limit > 2) {
			e->args[(off + limit - 2) & (EXEC_ARGS_BUF - 1)] = 0;
			len = limit - 1;
			e->flags |= EXEC_FLAG_ARG_CUT;
		}
		e->args_count++;
		e->args_size += len;
	}
	arg = NULL;
	if (i < EXEC_ARGS_LIMIT && !bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) && arg)
		e->flags |= EXEC_FLAG_MORE_ARGS;
	return 0;
}

static __always_inline int on_exit(void *ctx, long ret)
{
	struct exec_event *e = call_state_find();
	__u32 size;

	if (!e)
		return 0;
	if (!result_selected(ret) || !comm_selected())
		goto cleanup;
	e->ret = ret;
	fill_task(&e->task);
	size = e->args_size;
	emit_event(e, offsetof(struct exec_event, args) + (size & (EXEC_ARGS_BUF - 1)));
cleanup:
	call_state_end(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx, ctx->ret);
}
