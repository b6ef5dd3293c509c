// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// opensnoop: every open, openat and openat2, reported at syscall exit with
// its result (pathcall.bpf.h does the work).
#include "pathcall.bpf.h"
#include "opensnoop.h"

const volatile struct open_config open_cfg = {};

/* -n: the command name contains open_cfg.name. */
static __always_inline bool name_selected(void)
{
	char comm[TASK_COMM_LEN];

	if (!open_cfg.use_name)
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	for (int start = 0; start < TASK_COMM_LEN; start++) {
		bool match = true;

		for (int j = 0; j < TASK_COMM_LEN; j++) {
			char want = open_cfg.name[j];

			if (!want)
				break;
			if (start + j >= TASK_COMM_LEN || comm[start + j] != want) {
				match = false;
				break;
			}
		}
		if (match)
			return true;
		if (!comm[start])
			break;
	}
	return false;
}

#ifdef SYSCALL_REGS_AT_EXIT
SEC("tp_btf/sys_exit")
int BPF_PROG(open_exit, struct pt_regs *regs, long ret)
{
	long nr = syscall_nr(regs);
	struct open_how how = {};

	if (nr != SYSCALL_NR_OPEN && nr != SYSCALL_NR_OPENAT && nr != SYSCALL_NR_OPENAT2)
		return 0;
	if (!task_selected() || !name_selected())
		return 0;
	if (nr == SYSCALL_NR_OPEN)
		return path_call_report(ctx, ret, (const char *)SYSCALL_ARG0(regs), -100 /* AT_FDCWD */, SYSCALL_ARG1(regs),
					(__u32)SYSCALL_ARG2(regs), OPEN_SYSCALL_OPEN);
	if (nr == SYSCALL_NR_OPENAT)
		return path_call_report(ctx, ret, (const char *)SYSCALL_ARG1(regs), (__s32)SYSCALL_ARG0(regs),
					SYSCALL_ARG2(regs), (__u32)SYSCALL_ARG3(regs), OPEN_SYSCALL_OPENAT);
	bpf_probe_read_user(&how, sizeof(how), (void *)SYSCALL_ARG2(regs));
	return path_call_report(ctx, ret, (const char *)SYSCALL_ARG1(regs), (__s32)SYSCALL_ARG0(regs), how.flags,
				(__u32)how.mode, OPEN_SYSCALL_OPENAT2);
}
#endif

/* Without kernel BTF tp_btf does not attach: the syscall tracepoints
 * instead, the arguments carried from enter to exit (TraceSession.load
 * loads one set or the other). */
static __always_inline int on_enter(const char *path, __s32 dfd, __u64 flags, __u32 mode, __u8 syscall)
{
	if (!task_selected() || !name_selected())
		return 0;
	return path_call_enter(path, dfd, flags, mode, syscall);
}

SYSCALL_TRACEPOINT("sys_enter_open")
int open_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[0], -100, ctx->args[1], ctx->args[2], OPEN_SYSCALL_OPEN);
}

SYSCALL_TRACEPOINT("sys_exit_open")
int open_return(struct trace_event_raw_sys_exit *ctx)
{
	return path_call_exit(ctx, ctx->ret);
}

SYSCALL_TRACEPOINT("sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[1], (__s32)ctx->args[0], ctx->args[2], ctx->args[3], OPEN_SYSCALL_OPENAT);
}

SYSCALL_TRACEPOINT("sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return path_call_exit(ctx, ctx->ret);
}

SYSCALL_TRACEPOINT("sys_enter_openat2")
int openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return on_enter((const char *)ctx->args[1], (__s32)ctx->args[0], how.flags, (__u32)how.mode, OPEN_SYSCALL_OPENAT2);
}

SYSCALL_TRACEPOINT("sys_exit_openat2")
int openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return path_call_exit(ctx, ctx->ret);
}
