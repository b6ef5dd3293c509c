// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The kernel side of tools that trace syscalls taking a path: the enter
 * tracepoint saves the arguments per thread (path_call_enter), the exit
 * tracepoint sends one struct path_event with the result (path_call_exit).
 * A tool includes this once and writes only its SEC() programs. */
#ifndef SWIFTBPF_PATHCALL_BPF_H
#define SWIFTBPF_PATHCALL_BPF_H

#include "common.bpf.h"
#include "pathcall.h"

/* Arguments from enter to exit, by thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct path_args);
} inflight SEC(".maps");

/* The event is too large for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_event);
} scratch SEC(".maps");

/* Saves a call's arguments for its exit; the caller has applied its filters. */
static __always_inline int path_call_enter(const char *path, __s32 dfd, __u64 call_flags, __u32 mode, __u8 syscall)
{
	struct path_args args = { .path = (__u64)path, .call_flags = call_flags, .dfd = dfd, .mode = mode, .syscall = syscall };
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&inflight, &tid, &args, BPF_ANY);
	return 0;
}

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

/* Sends the event of the call the current thread saved at enter, unless
 * -x leaves it out. The path is read now: at enter it may not be paged in. */
static __always_inline int path_call_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0, size;
	struct path_args *args = bpf_map_lookup_elem(&inflight, &tid);
	struct path_event *e;

	if (!args)
		return 0;
	if (!result_selected(ret))
		goto done;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto done;
	fill_task(&e->task);
	e->call_flags = args->call_flags;
	e->ret = ret;
	e->dfd = args->dfd;
	e->mode = args->mode;
	e->syscall = args->syscall;
	e->flags = 0;
	size = read_user_path(e, (const char *)args->path);
	emit_event(e, offsetof(struct path_event, path) + size);
done:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

#endif
