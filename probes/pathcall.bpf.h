// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The kernel side of tools that trace syscalls taking a path: one struct
 * path_event per call, with its result (path_call_report). Where the
 * arguments can be read at the exit (SYSCALL_REGS_AT_EXIT, syscalls.bpf.h),
 * a tool's one tp_btf/sys_exit program calls path_call_report; elsewhere the
 * enter tracepoint saves them per thread (path_call_enter) and the exit
 * tracepoint reports (path_call_exit). A tool includes this once and
 * writes only its SEC() programs. */
#ifndef SWIFTBPF_PATHCALL_BPF_H
#define SWIFTBPF_PATHCALL_BPF_H

#include "common.bpf.h"
#include "syscalls.bpf.h"
#include "pathcall.h"

SWIFTBPF_EVENT(path_event);

/* The event is too large for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_event);
} scratch SEC(".maps");

/* Reads the user path into the event; returns how many bytes of the path
 * buffer to send (path and NUL), provably bounded for the verifier. */
static __always_inline __u32 read_user_path(struct path_event *e, const char *src)
{
	long n = bpf_probe_read_user_str(e->path, sizeof(e->path), src);

	if (n <= 0) {
		e->path[0] = 0;
		n = 1;
	}
	if (n == sizeof(e->path))
		e->flags |= PATH_EVENT_TRUNCATED;
	e->path_len = n - 1;
	return ((n - 1) & (sizeof(e->path) - 1)) + 1;
}

/* Sends the event of a call that returned ret, unless -x leaves it out;
 * the caller has applied its filters. The path is read now: at enter it
 * may not be paged in. */
static __always_inline int path_call_report(void *ctx, long ret, const char *path, __s32 dfd, __u64 call_flags, __u32 mode,
					    __u8 syscall)
{
	__u32 zero = 0, size;
	struct path_event *e;

	if (!result_selected(ret))
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	fill_task(&e->task);
	e->call_flags = call_flags;
	e->ret = ret;
	e->dfd = dfd;
	e->mode = mode;
	e->syscall = syscall;
	e->flags = 0;
	size = read_user_path(e, path);
	emit_event(e, offsetof(struct path_event, path) + size);
	return 0;
}

/* The section of a syscall tracepoint program: where a tp_btf/sys_exit
 * program does the same work, not loaded unless chosen ("?"). */
#ifdef SYSCALL_REGS_AT_EXIT
#define SYSCALL_TRACEPOINT(name) SEC("?tracepoint/syscalls/" name)
#else
#define SYSCALL_TRACEPOINT(name) SEC("tracepoint/syscalls/" name)
#endif

/* The syscall tracepoints' way, where tp_btf cannot attach (no kernel
 * BTF; TraceSession.load chooses): the arguments saved at enter. */
DECLARE_CALL_STATE(struct path_args)

/* Saves a call's arguments for its exit; the caller has applied its filters. */
static __always_inline int path_call_enter(const char *path, __s32 dfd, __u64 call_flags, __u32 mode, __u8 syscall)
{
	struct path_args *args = call_state_begin();

	if (args)
		*args = (struct path_args){ .path = (__u64)path, .call_flags = call_flags, .dfd = dfd, .mode = mode, .syscall = syscall };
	return 0;
}

/* Reports the call the current thread saved at enter. */
static __always_inline int path_call_exit(void *ctx, long ret)
{
	struct path_args *args = call_state_find();

	if (!args)
		return 0;
	path_call_report(ctx, ret, (const char *)args->path, args->dfd, args->call_flags, args->mode, args->syscall);
	call_state_end(args);
	return 0;
}

#endif
