// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// biosnoop: every block request at completion, with the task that queued
// it. The task is taken when the request is inserted into the queue, or
// when it is issued without being inserted: the submitter is current
// then, while completion runs in interrupt context.
#include "common.bpf.h"
#include "block.bpf.h"

SWIFTBPF_EVENT(block_event);

struct pending {
	struct task_info task;
	__u64 inserted_ns;
	__u64 issued_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct pending);
} pending SEC(".maps");

/* Starts following a request the filters select, with the task that is
 * queuing it (current here), from its insertion or, if it skipped that,
 * its issue. */
static __always_inline void follow(struct request *rq, bool inserted)
{
	__u64 key = (__u64)rq;
	struct pending p = {};

	if (!request_selected(rq) || !task_selected())
		return;
	fill_task(&p.task);
	if (inserted)
		p.inserted_ns = p.task.ts_ns;
	else
		p.issued_ns = p.task.ts_ns;
	bpf_map_update_elem(&pending, &key, &p, BPF_ANY);
}

SEC("raw_tp/block_rq_insert")
int snoop_insert(struct bpf_raw_tracepoint_args *ctx)
{
	follow((struct request *)ctx->args[0], true);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int snoop_issue(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	__u64 key = (__u64)rq;
	struct pending *known = bpf_map_lookup_elem(&pending, &key);

	if (known)
		known->issued_ns = bpf_ktime_get_ns();
	else
		follow(rq, false);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int snoop_complete(struct bpf_raw_tracepoint_args *ctx)
{
	/* block_rq_complete(struct request *rq, blk_status_t error, unsigned int nr_bytes) */
	struct request *rq = (struct request *)ctx->args[0];
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	struct pending *p = bpf_map_lookup_elem(&pending, &key);
	struct block_event *e;

	if (!p)
		return 0;
	e = reserve_event(sizeof(*e));
	if (e) {
		e->task = p->task;
		e->task.ts_ns = now; /* the line is printed at completion */
		e->sector = BPF_CORE_READ(rq, __sector);
		e->queued_ns = p->inserted_ns && p->issued_ns ? p->issued_ns - p->inserted_ns : 0;
		e->latency_ns = now - (p->issued_ns ? p->issued_ns : p->inserted_ns);
		e->dev = request_dev(rq);
		e->bytes = (__u32)ctx->args[2];
		e->cmd_flags = BPF_CORE_READ(rq, cmd_flags);
		e->error = (__s32)ctx->args[1];
		submit_event(e);
	}
	bpf_map_delete_elem(&pending, &key);
	return 0;
}
