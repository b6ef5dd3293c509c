// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// biolatency: block I/O latency as log2 histograms, from issue (or with
// -Q insertion) to completion. Requests are keyed by their address, which
// the raw tracepoints give.
#include "common.bpf.h"
#include "hist.bpf.h"
#include "block.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} started SEC(".maps");

/* The task filters test the task that queues a request: current at
 * insertion, or at issue when the request was not inserted (an issue may
 * also run later in a kworker). A selected request gets an entry at
 * insertion; its clock starts there with -Q, else at issue. */
SEC("raw_tp/block_rq_insert")
int bio_insert(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	__u64 key = (__u64)rq, ts;

	if (!request_selected(rq) || !task_selected())
		return 0;
	ts = block_cfg.queued ? bpf_ktime_get_ns() : 0;
	bpf_map_update_elem(&started, &key, &ts, BPF_ANY);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int bio_issue(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	__u64 key = (__u64)rq, *ts = bpf_map_lookup_elem(&started, &key), now;

	if (ts) {
		if (!block_cfg.queued)
			*ts = bpf_ktime_get_ns();
		return 0;
	}
	if (!request_selected(rq) || !task_selected())
		return 0;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&started, &key, &now, BPF_NOEXIST);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int bio_complete(struct bpf_raw_tracepoint_args *ctx)
{
	/* block_rq_complete(struct request *rq, blk_status_t error, unsigned int nr_bytes) */
	struct request *rq = (struct request *)ctx->args[0];
	__u64 key = (__u64)rq, *ts;
	struct hist_key hk = {};

	ts = bpf_map_lookup_elem(&started, &key);
	if (!ts)
		return 0;
	if (!*ts) {
		/* Inserted, never issued (a flush merged away, say). */
		bpf_map_delete_elem(&started, &key);
		return 0;
	}
	if (block_cfg.by_disk)
		hk.id = request_dev(rq);
	if (block_cfg.by_flags)
		hk.flags = BPF_CORE_READ(rq, cmd_flags);
	hist_add(&hk, bpf_ktime_get_ns() - *ts, NULL);
	bpf_map_delete_elem(&started, &key);
	return 0;
}
