// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// mountsnoop: each call's entry keeps its arguments per thread; its exit
// reads the strings they point at (paged in by then) and sends the event
// with the result.
#include "common.bpf.h"
#include "mountsnoop.h"

SWIFTBPF_EVENT(mount_event);

struct mount_args {
	__u64 arg[5];
	__u32 call;
};

DECLARE_CALL_STATE(struct mount_args);

/* A syscall's enter record holds only its own arguments, and the kernel
 * refuses a program that reads past them: each call reads `count`. */
static __always_inline int mount_enter(struct trace_event_raw_sys_enter *ctx, enum mount_call call, int count)
{
	struct mount_args *s;

	if (!task_selected())
		return 0;
	s = call_state_begin();
	if (!s)
		return 0;
	s->arg[0] = ctx->args[0];
	s->arg[1] = ctx->args[1];
	if (count > 2)
		s->arg[2] = ctx->args[2];
	if (count > 3) {
		s->arg[3] = ctx->args[3];
		s->arg[4] = ctx->args[4];
	}
	s->call = call;
	return 0;
}

static __always_inline void read_string(char *dst, __u32 size, __u64 src)
{
	dst[0] = 0;
	if (src && bpf_probe_read_user_str(dst, size, (const void *)src) < 0)
		dst[0] = 0;
}

static __always_inline int mount_exit(void *ctx, long ret)
{
	struct mount_args *s = call_state_find();
	struct task_struct *task;
	struct mount_event *e;

	if (!s)
		return 0;
	if (!result_selected(ret))
		goto done;
	e = reserve_event(sizeof(*e));
	if (!e)
		goto done;
	fill_task(&e->task);
	task = (struct task_struct *)bpf_get_current_task();
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->ret = ret;
	e->call = s->call;
	e->dfd = 0;
	e->to_dfd = 0;
	e->attr_flags = 0;
	e->pad = 0;
	e->fstype[0] = 0;
	e->source[0] = 0;
	e->target[0] = 0;
	switch (s->call) {
	case MOUNT_CALL_MOUNT: /* source, target, fstype, flags, data */
		read_string(e->source, sizeof(e->source), s->arg[0]);
		read_string(e->target, sizeof(e->target), s->arg[1]);
		read_string(e->fstype, sizeof(e->fstype), s->arg[2]);
		e->flags = s->arg[3];
		break;
	case MOUNT_CALL_UMOUNT: /* target, flags */
		read_string(e->target, sizeof(e->target), s->arg[0]);
		e->flags = s->arg[1];
		break;
	case MOUNT_CALL_FSMOUNT: /* fs_fd, flags, attr_flags */
		e->dfd = (__s32)s->arg[0];
		e->flags = s->arg[1];
		e->attr_flags = (__u32)s->arg[2];
		break;
	default: /* move_mount: from_dfd, from_path, to_dfd, to_path, flags */
		e->dfd = (__s32)s->arg[0];
		read_string(e->source, sizeof(e->source), s->arg[1]);
		e->to_dfd = (__s32)s->arg[2];
		read_string(e->target, sizeof(e->target), s->arg[3]);
		e->flags = s->arg[4];
		break;
	}
	submit_event(e);
done:
	call_state_end(s);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mount")
int enter_mount(struct trace_event_raw_sys_enter *ctx)
{
	return mount_enter(ctx, MOUNT_CALL_MOUNT, 5);
}

SEC("tracepoint/syscalls/sys_exit_mount")
int exit_mount(struct trace_event_raw_sys_exit *ctx)
{
	return mount_exit(ctx, ctx->ret);
}

/* umount2(2): the kernel's syscall is named umount. */
SEC("tracepoint/syscalls/sys_enter_umount")
int enter_umount(struct trace_event_raw_sys_enter *ctx)
{
	return mount_enter(ctx, MOUNT_CALL_UMOUNT, 2);
}

SEC("tracepoint/syscalls/sys_exit_umount")
int exit_umount(struct trace_event_raw_sys_exit *ctx)
{
	return mount_exit(ctx, ctx->ret);
}

/* The new mount API (Linux 5.2). */
SEC("tracepoint/syscalls/sys_enter_fsmount")
int enter_fsmount(struct trace_event_raw_sys_enter *ctx)
{
	return mount_enter(ctx, MOUNT_CALL_FSMOUNT, 3);
}

SEC("tracepoint/syscalls/sys_exit_fsmount")
int exit_fsmount(struct trace_event_raw_sys_exit *ctx)
{
	return mount_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_move_mount")
int enter_move_mount(struct trace_event_raw_sys_enter *ctx)
{
	return mount_enter(ctx, MOUNT_CALL_MOVE_MOUNT, 5);
}

SEC("tracepoint/syscalls/sys_exit_move_mount")
int exit_move_mount(struct trace_event_raw_sys_exit *ctx)
{
	return mount_exit(ctx, ctx->ret);
}
