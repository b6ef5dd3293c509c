// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// signalwatch: who signals whom, from the signal:signal_generate tracepoint.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "signalwatch.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

SEC("tracepoint/signal/signal_generate")
int on_signal(struct trace_event_raw_signal_generate *ctx)
{
	struct signal_event e = {};
	__u32 zero = 0;
	__u64 *lost;

	e.sender_pid = bpf_get_current_pid_tgid() >> 32;
	e.target_pid = ctx->pid;
	e.sig = ctx->sig;
	e.result = ctx->result;
	bpf_get_current_comm(e.sender_comm, sizeof(e.sender_comm));
	bpf_probe_read_kernel(e.target_comm, sizeof(e.target_comm), ctx->comm);
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0)) {
		lost = bpf_map_lookup_elem(&lost_events, &zero);
		if (lost)
			*lost += 1;
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
