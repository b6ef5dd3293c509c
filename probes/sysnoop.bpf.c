// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// sysnoop: generic syscall tracer. The same two programs serve every
// requested syscall; the attach cookie says which one fired (Linux 5.15),
// or before it the syscall's number, looked up in spec_index.
#include "common.bpf.h"
#include "sysnoop.h"

SWIFTBPF_EVENT(sysnoop_event);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYSNOOP_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct sysnoop_spec);
} specs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct sysnoop_event);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sysnoop_event);
} scratch SEC(".maps");

/* Before attach cookies: syscall number -> index in specs, and the flag
 * that says to use it (user space sets both; the verifier drops the
 * branch this kernel cannot run). */
const volatile __u8 index_by_number = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSNOOP_MAX_SYSCALLS);
	__type(key, __s32);
	__type(value, __u32);
} spec_index SEC(".maps");

/* Which requested syscall fired: both records have the number as an int
 * at offset 8 (sys_exit's is a long; little-endian, its low half). */
static __always_inline __u32 fired_index(void *ctx)
{
	if (index_by_number) {
		__s32 nr = *(const int *)((const char *)ctx + 8);
		__u32 *index = bpf_map_lookup_elem(&spec_index, &nr);

		return index ? *index : SYSNOOP_MAX_SYSCALLS;
	}
	return (__u32)bpf_get_attach_cookie(ctx);
}

/* A switch, not an index: the verifier then needs no bounds proof. */
static __always_inline __u64 arg_at(const struct sysnoop_event *e, __u32 n)
{
	switch (n) {
	case 1: return e->args[0];
	case 2: return e->args[1];
	case 3: return e->args[2];
	case 4: return e->args[3];
	case 5: return e->args[4];
	case 6: return e->args[5];
	default: return 0;
	}
}

SEC("tracepoint")
int syscall_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0, index = fired_index(ctx);
	struct sysnoop_spec *spec = bpf_map_lookup_elem(&specs, &index);
	struct sysnoop_event *e;

	if (!spec || !task_selected())
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	fill_task(&e->task);
	e->index = index;
	/* The number is an int in the record (offset 8): read as the long the
	 * C struct declares, it would end past the record of a syscall with
	 * no arguments (12 bytes), and the kernel refuses to attach. */
	e->nr = *(const int *)((const char *)ctx + 8);
	/* Copied, not read as ctx fields: the kernel refuses a program whose
	 * direct ctx reads go past the record of a syscall with fewer args. */
	__builtin_memset(e->args, 0, sizeof(e->args));
	if (spec->nargs > 0 && spec->nargs <= 6)
		bpf_probe_read_kernel(e->args, spec->nargs * sizeof(__u64), ctx->args);
	for (int s = 0; s < SYSNOOP_STRINGS; s++) {
		const char *str = (const char *)arg_at(e, spec->string_arg[s]);
		long len = 0;

		if (str)
			len = bpf_probe_read_user_str(e->strings[s], SYSNOOP_STR_MAX, str);
		e->str_len[s] = len > 0 ? len : 0;
	}
	bpf_map_update_elem(&inflight, &tid, e, BPF_ANY);
	return 0;
}

SEC("tracepoint")
int syscall_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 index = fired_index(ctx);
	struct sysnoop_event *e = bpf_map_lookup_elem(&inflight, &tid);

	if (!e)
		return 0;
	if (e->index != index || !result_selected(ctx->ret))
		goto cleanup;
	e->ret = ctx->ret;
	e->latency_ns = bpf_ktime_get_ns() - e->task.ts_ns;
	bpf_get_current_comm(e->task.comm, sizeof(e->task.comm));
	emit_event(e, sizeof(*e));
cleanup:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}
