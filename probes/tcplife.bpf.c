// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// tcplife: each TCP connection's life, from its first state change below
// FIN_WAIT1 (SYN_SENT when connecting, SYN_RECV when accepted) to CLOSE,
// with the bytes the tcp_sock counted. One raw tracepoint,
// sock:inet_sock_set_state.
#include "common.bpf.h"
#include "tcp.bpf.h"

SWIFTBPF_EVENT(tcplife_event);

struct birth {
	__u64 ts_ns;
	__u8 passive;
	__u8 fin_received;  /* the peer's FIN came in (it counts 1 in bytes_received) */
	/* The flow as last seen before CLOSE: by then the socket has given
	 * its local port back. */
	struct flow flow;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct birth);
} births SEC(".maps");

SEC("raw_tp/inet_sock_set_state")
int tcp_life(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = (struct sock *)ctx->args[0];
	int newstate = (int)ctx->args[2];
	__u64 key = (__u64)sk;
	struct task_info owner;
	struct birth *b;
	struct tcplife_event *e;

	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_STATE_LISTEN)
		return 0; /* a listener is not a connection */
	if (newstate < TCP_STATE_FIN_WAIT1) {
		struct birth born = { .ts_ns = bpf_ktime_get_ns(), .passive = newstate == TCP_STATE_SYN_RECV };

		bpf_map_update_elem(&births, &key, &born, BPF_NOEXIST);
	}
	b = bpf_map_lookup_elem(&births, &key);
	if (b && newstate != TCP_STATE_CLOSE)
		sock_flow(sk, &b->flow);
	/* A FIN from the peer moves ESTABLISHED to CLOSE_WAIT, FIN_WAIT1 to
	 * CLOSING, and FIN_WAIT2 to TIME_WAIT, which closes the full socket
	 * (FIN_WAIT2 also closes when its timer runs out, rarely). */
	if (b && (newstate == TCP_STATE_CLOSE_WAIT || newstate == TCP_STATE_CLOSING ||
		  ((int)ctx->args[1] == TCP_STATE_FIN_WAIT2 && newstate == TCP_STATE_CLOSE)))
		b->fin_received = 1;
	if (!take_owner(key, newstate, &owner) || newstate != TCP_STATE_CLOSE) {
		forget_owner(key, newstate);
		if (newstate == TCP_STATE_CLOSE)
			bpf_map_delete_elem(&births, &key);
		return 0;
	}
	forget_owner(key, newstate);
	if (!b)
		return 0; /* born before tracing began */
	e = reserve_event(sizeof(*e));
	if (e) {
		struct tcp_sock *tp = (struct tcp_sock *)sk;

		e->task = owner;
		e->flow = b->flow;
		e->skaddr = key;
		e->duration_ns = owner.ts_ns - b->ts_ns;
		/* Data only: bytes_sent counts each transmission (less the
		 * retransmitted ones, each byte once); bytes_received also counts
		 * the peer's FIN. */
		e->tx_bytes = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
		e->rx_bytes = BPF_CORE_READ(tp, bytes_received) - b->fin_received;
		e->passive = b->passive;
		__builtin_memset(e->pad, 0, sizeof(e->pad));
		if (flow_selected(&e->flow))
			submit_event(e);
		else
			discard_event(e);
	}
	bpf_map_delete_elem(&births, &key);
	return 0;
}
