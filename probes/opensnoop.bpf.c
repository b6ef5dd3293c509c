// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// opensnoop: arguments stored per thread at entry, event sent at exit.
#include "common.bpf.h"
#include "opensnoop.h"

_Static_assert(sizeof(((struct open_event *)0)->path) == PATH_BUF, "read_user_path fills PATH_BUF bytes");

const volatile struct open_config open_cfg = {};

struct open_args {
	const char *path;
	__u64 flags;
	__u32 mode;
	__s32 dfd;
	__u8 syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct open_args);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_event);
} scratch SEC(".maps");

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

static __always_inline int on_enter(const char *path, __s32 dfd, __u64 flags, __u32 mode, __u8 syscall)
{
	struct open_args args = { .path = path, .dfd = dfd, .flags = flags, .mode = mode, .syscall = syscall };
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!task_selected() || !name_selected())
		return 0;
	bpf_map_update_elem(&inflight, &tid, &args, BPF_ANY);
	return 0;
}

static __always_inline int on_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	struct open_args *args = bpf_map_lookup_elem(&inflight, &tid);
	struct open_event *e;
	__u8 truncated;
	__u32 size;

	if (!args)
		return 0;
	if (!result_selected(ret))
		goto cleanup;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto cleanup;
	fill_task(e);
	e->flags = args->flags;
	e->ret = ret;
	e->dfd = args->dfd;
	e->mode = args->mode;
	e->syscall = args->syscall;
	e->event_flags = 0;
	size = read_user_path(e->path, args->path, &e->path_len, &truncated);
	if (truncated)
		e->event_flags |= OPEN_EVENT_PATH_TRUNCATED;
	emit_event(e, offsetof(struct open_event, path) + size);
cleanup:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int open_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[0], -100, ctx->args[1], ctx->args[2], OPEN_SYSCALL_OPEN);
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[1], (__s32)ctx->args[0], ctx->args[2], ctx->args[3], OPEN_SYSCALL_OPENAT);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return on_enter((const char *)ctx->args[1], (__s32)ctx->args[0], how.flags, (__u32)how.mode, OPEN_SYSCALL_OPENAT2);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}
