// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// tcpretrans: retransmitted segments (tcp:tcp_retransmit_skb) and, with
// --resets, resets sent and received: raw tracepoints, no kprobes.
#include "common.bpf.h"
#include "net.bpf.h"

SWIFTBPF_EVENT(tcpretrans_event);

const volatile struct tcpretrans_config retrans_cfg = {};

static __always_inline void report(void *ctx, struct sock *sk, __u32 kind)
{
	struct tcpretrans_event *e;

	if (!sk)
		return;
	e = reserve_event(sizeof(*e));
	if (!e)
		return;
	__builtin_memset(&e->task, 0, sizeof(e->task));
	e->task.ts_ns = bpf_ktime_get_ns();
	sock_flow(sk, &e->flow);
	e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e->kind = kind;
	if (flow_selected(&e->flow))
		submit_event(e);
	else
		discard_event(e);
}

SEC("raw_tp/tcp_retransmit_skb")
int tcp_retransmit(struct bpf_raw_tracepoint_args *ctx)
{
	/* tcp_retransmit_skb(struct sock *sk, const struct sk_buff *skb) */
	report(ctx, (struct sock *)ctx->args[0], TCPRETRANS_RETRANSMIT);
	return 0;
}

SEC("raw_tp/tcp_send_reset")
int tcp_sent_reset(struct bpf_raw_tracepoint_args *ctx)
{
	/* tcp_send_reset(struct sock *sk, const struct sk_buff *skb, ...):
	 * sk is NULL for a reset answering a packet no socket took. */
	if (retrans_cfg.resets)
		report(ctx, (struct sock *)ctx->args[0], TCPRETRANS_SENT_RESET);
	return 0;
}

SEC("raw_tp/tcp_receive_reset")
int tcp_received_reset(struct bpf_raw_tracepoint_args *ctx)
{
	/* tcp_receive_reset(struct sock *sk) */
	if (retrans_cfg.resets)
		report(ctx, (struct sock *)ctx->args[0], TCPRETRANS_RECEIVED_RESET);
	return 0;
}
