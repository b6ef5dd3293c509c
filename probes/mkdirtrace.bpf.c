// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// mkdirtrace: every mkdir(2) and mkdirat(2), reported at syscall exit with
// its result (pathcall.bpf.h does the work).
#include "pathcall.bpf.h"
#include "mkdirtrace.h"

#ifdef SYSCALL_REGS_AT_EXIT
SEC("tp_btf/sys_exit")
int BPF_PROG(mkdir_exit, struct pt_regs *regs, long ret)
{
	long nr = syscall_nr(regs);

	if (nr != SYSCALL_NR_MKDIR && nr != SYSCALL_NR_MKDIRAT)
		return 0;
	if (!task_selected())
		return 0;
	if (nr == SYSCALL_NR_MKDIR)
		return path_call_report(ctx, ret, (const char *)SYSCALL_ARG0(regs), -100 /* AT_FDCWD */,
					0, (__u32)SYSCALL_ARG1(regs), MKDIR_SYSCALL_MKDIR);
	return path_call_report(ctx, ret, (const char *)SYSCALL_ARG1(regs), (__s32)SYSCALL_ARG0(regs),
				0, (__u32)SYSCALL_ARG2(regs), MKDIR_SYSCALL_MKDIRAT);
}
#endif

/* Without kernel BTF tp_btf does not attach: the syscall tracepoints
 * instead, the arguments carried from enter to exit (TraceSession.load
 * loads one set or the other). */
static __always_inline int on_enter(const char *path, __s32 dfd, __u32 mode, __u8 syscall)
{
	if (!task_selected())
		return 0;
	return path_call_enter(path, dfd, 0, mode, syscall);
}

SYSCALL_TRACEPOINT("sys_enter_mkdir")
int mkdir_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[0], -100 /* AT_FDCWD */, (__u32)ctx->args[1],
			MKDIR_SYSCALL_MKDIR);
}

SYSCALL_TRACEPOINT("sys_exit_mkdir")
int mkdir_return(struct trace_event_raw_sys_exit *ctx)
{
	return path_call_exit(ctx, ctx->ret);
}

SYSCALL_TRACEPOINT("sys_enter_mkdirat")
int mkdirat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[1], (__s32)ctx->args[0], (__u32)ctx->args[2],
			MKDIR_SYSCALL_MKDIRAT);
}

SYSCALL_TRACEPOINT("sys_exit_mkdirat")
int mkdirat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return path_call_exit(ctx, ctx->ret);
}
