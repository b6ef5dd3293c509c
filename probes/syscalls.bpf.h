// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* A syscall seen from one program at its exit: tp_btf/sys_exit runs at
 * every syscall's exit with the registers saved at its entry, where the
 * arguments still are. One program per call instead of an enter and an
 * exit program, no state carried between them, and none of the syscall
 * tracepoints' record building: the cheapest way to see a syscall with its
 * arguments and result. The price is a few instructions at the exit of
 * every other syscall on the machine, to look at the number and return.
 *
 * The register layout and numbers are per architecture; SYSCALL_REGS_AT_EXIT
 * is defined where this header knows them (x86-64). Elsewhere, and where
 * PATHCALL_TRACEPOINTS asks for it, tools use the syscall tracepoints with
 * DECLARE_CALL_STATE. tp_btf needs Linux 5.5 and kernel BTF. */
#ifndef SWIFTBPF_SYSCALLS_BPF_H
#define SWIFTBPF_SYSCALLS_BPF_H

#include "common.bpf.h"

#if defined(__TARGET_ARCH_x86) && !defined(PATHCALL_TRACEPOINTS)
#define SYSCALL_REGS_AT_EXIT 1

#define SYSCALL_NR_OPEN 2
#define SYSCALL_NR_MKDIR 83
#define SYSCALL_NR_OPENAT 257
#define SYSCALL_NR_MKDIRAT 258
#define SYSCALL_NR_OPENAT2 437

/* The 64-bit syscall's number, or -1 for a 32-bit (ia32) one: as for the
 * syscall tracepoints, which leave those out, since their numbers mean
 * other calls. Entered through `syscall`, a 64-bit call saved CS as
 * __USER_CS (0x33); x32 calls carry a high bit in the number. */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
	return regs->cs == 0x33 ? (long)regs->orig_ax : -1;
}

/* Argument n (0-5) as passed: rdi, rsi, rdx, r10, r8, r9. */
#define SYSCALL_ARG0(regs) ((regs)->di)
#define SYSCALL_ARG1(regs) ((regs)->si)
#define SYSCALL_ARG2(regs) ((regs)->dx)
#define SYSCALL_ARG3(regs) ((regs)->r10)
#endif

#endif
