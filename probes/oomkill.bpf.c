// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// oomkill: oom:mark_victim. Older kernels give only the victim's PID;
// newer ones also its command, user and memory (in KiB), read here only
// where the running kernel's tracepoint has them (CO-RE field checks).
#include "common.bpf.h"
#include "oomkill.h"

SWIFTBPF_EVENT(oom_event);

SEC("tracepoint/oom/mark_victim")
int mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	struct oom_event *e;

	/* The shared filters select the task that ran out of memory. */
	if (!task_selected())
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_task(&e->task);
	e->victim_pid = BPF_CORE_READ(ctx, pid);
	e->victim_uid = (__u32)-1;
	if (bpf_core_field_exists(ctx->total_vm)) {
		__u32 loc = BPF_CORE_READ(ctx, __data_loc_comm);

		e->has_memory = 1;
		e->total_vm_kb = BPF_CORE_READ(ctx, total_vm);
		e->anon_rss_kb = BPF_CORE_READ(ctx, anon_rss);
		e->file_rss_kb = BPF_CORE_READ(ctx, file_rss);
		e->shmem_rss_kb = BPF_CORE_READ(ctx, shmem_rss);
		e->pgtables_kb = BPF_CORE_READ(ctx, pgtables);
		e->victim_uid = BPF_CORE_READ(ctx, uid);
		e->oom_score_adj = BPF_CORE_READ(ctx, oom_score_adj);
		/* __data_loc: offset in the low 16 bits, from the record's start. */
		bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm), (void *)ctx + (loc & 0xffff));
	}
	submit_event(e);
	return 0;
}
