// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// mkdirtrace: every mkdir(2) and mkdirat(2), reported at syscall exit with
// its result. Enter stores the arguments per thread; exit emits the event.
#include "common.bpf.h"
#include "mkdirtrace.h"

_Static_assert(sizeof(((struct mkdir_event *)0)->path) == PATH_BUF, "read_user_path fills PATH_BUF bytes");

struct mkdir_args {
	const char *path;
	__s32 dfd;
	__u32 mode;
	__u8 syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct mkdir_args);
} inflight SEC(".maps");

/* The event is too large for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mkdir_event);
} scratch SEC(".maps");

static __always_inline int on_enter(const char *path, __s32 dfd, __u32 mode, __u8 syscall)
{
	struct mkdir_args args = { .path = path, .dfd = dfd, .mode = mode, .syscall = syscall };
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!task_selected())
		return 0;
	bpf_map_update_elem(&inflight, &tid, &args, BPF_ANY);
	return 0;
}

static __always_inline int on_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	struct mkdir_args *args;
	struct mkdir_event *e;
	__u8 truncated;
	__u32 size;

	args = bpf_map_lookup_elem(&inflight, &tid);
	if (!args)
		return 0;
	if (!result_selected(ret))
		goto cleanup;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto cleanup;

	fill_task(e);
	e->ppid = current_ppid();
	e->ret = ret;
	e->dfd = args->dfd;
	e->mode = args->mode;
	e->syscall = args->syscall;
	e->flags = 0;

	size = read_user_path(e->path, args->path, &e->path_len, &truncated);
	if (truncated)
		e->flags |= MKDIR_EVENT_PATH_TRUNCATED;
	emit_event(e, offsetof(struct mkdir_event, path) + size);
cleanup:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mkdir")
int mkdir_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[0], -100 /* AT_FDCWD */, (__u32)ctx->args[1],
			MKDIR_SYSCALL_MKDIR);
}

SEC("tracepoint/syscalls/sys_exit_mkdir")
int mkdir_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_mkdirat")
int mkdirat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[1], (__s32)ctx->args[0], (__u32)ctx->args[2],
			MKDIR_SYSCALL_MKDIRAT);
}

SEC("tracepoint/syscalls/sys_exit_mkdirat")
int mkdirat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}
