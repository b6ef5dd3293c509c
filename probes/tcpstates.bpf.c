// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// tcpstates: every TCP state change, from the sock:inet_sock_set_state raw
// tracepoint (no kprobes), with the time spent in the old state.
#include "common.bpf.h"
#include "tcp.bpf.h"

SWIFTBPF_EVENT(tcpstate_event);

struct last_change {
	__u64 ts_ns;
	struct flow flow;   /* as last seen: at CLOSE the local port is already given back */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct last_change);
} last_change SEC(".maps");

SEC("raw_tp/inet_sock_set_state")
int tcp_set_state(struct bpf_raw_tracepoint_args *ctx)
{
	/* inet_sock_set_state(struct sock *sk, const int oldstate, const int newstate) */
	struct sock *sk = (struct sock *)ctx->args[0];
	int oldstate = (int)ctx->args[1], newstate = (int)ctx->args[2];
	__u64 key = (__u64)sk;
	struct last_change *last, now = {};
	struct task_info owner;
	struct tcpstate_event *e;

	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	sock_flow(sk, &e->flow);
	if (!flow_selected(&e->flow) || !take_owner(key, newstate, &owner)) {
		discard_event(e);
		forget_owner(key, newstate);
		return 0;
	}
	e->task = owner;
	last = bpf_map_lookup_elem(&last_change, &key);
	e->in_state_ns = last ? e->task.ts_ns - last->ts_ns : 0;
	e->skaddr = key;
	e->oldstate = oldstate;
	e->newstate = newstate;
	if (newstate == TCP_STATE_CLOSE) {
		if (last && !e->flow.sport)
			e->flow = last->flow;
		bpf_map_delete_elem(&last_change, &key);
	} else {
		now.ts_ns = e->task.ts_ns;
		now.flow = e->flow;
		bpf_map_update_elem(&last_change, &key, &now, BPF_ANY);
	}
	forget_owner(key, newstate);
	submit_event(e);
	return 0;
}
