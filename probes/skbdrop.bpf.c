// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// skbdrop: packets freed as dropped, from the skb:kfree_skb raw tracepoint
// (no kprobes): where (the kernel address), why (enum skb_drop_reason,
// named in user space from this kernel's BTF), on which device and
// network namespace, and the flow when the headers are there.
#include "common.bpf.h"
#include "net.bpf.h"

SWIFTBPF_EVENT(skbdrop_event);


const volatile struct skbdrop_config drop_cfg = {
	.reason = -1,
	.consumed = -1,
};

/* Summary mode: drops per location, reason and namespace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct skbdrop_key);
	__type(value, __u64);
} drop_counts SEC(".maps");

/* The flow of the headers at the skb's network header. */
static __always_inline void skb_flow(struct sk_buff *skb, __u16 eth_protocol, struct flow *f)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 network = BPF_CORE_READ(skb, network_header);
	__u8 tcp_flags;

	if (network != NETWORK_HEADER_UNSET)
		network_flow(head + network, eth_protocol, f, &tcp_flags);
}

SEC("raw_tp/kfree_skb")
int skb_dropped(struct bpf_raw_tracepoint_args *ctx)
{
	/* kfree_skb(struct sk_buff *skb, void *location, enum skb_drop_reason reason, ...) */
	struct sk_buff *skb = (struct sk_buff *)ctx->args[0];
	__u32 reason = (__u32)ctx->args[2];
	struct skbdrop_event event = {}, *e = &event;
	struct net_device *dev;
	struct sock *sk;

	if ((__s64)reason == drop_cfg.consumed)
		return 0;
	if (drop_cfg.reason >= 0 && (__s64)reason != drop_cfg.reason)
		return 0;
	e->task.ts_ns = bpf_ktime_get_ns();
	e->location = ctx->args[1];
	e->reason = reason;
	e->eth_protocol = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	skb_flow(skb, e->eth_protocol, &e->flow);
	dev = BPF_CORE_READ(skb, dev);
	sk = BPF_CORE_READ(skb, sk);
	if (dev) {
		e->flow.netns = net_inode(BPF_CORE_READ(dev, nd_net.net));
		e->flow.ifindex = BPF_CORE_READ(dev, ifindex);
		BPF_CORE_READ_STR_INTO(&e->ifname, dev, name);
		e->in_ifindex = BPF_CORE_READ(skb, skb_iif);
	} else if (sk) {
		e->flow.netns = net_inode(BPF_CORE_READ(sk, __sk_common.skc_net.net));
	}
	if (!flow_selected(&e->flow))
		return 0;
	if (drop_cfg.summary) {
		struct skbdrop_key key = { .location = e->location, .reason = reason, .netns = e->flow.netns };
		__u64 one = 1, *count = bpf_map_lookup_elem(&drop_counts, &key);

		if (count)
			add_count(count, 1);
		else
			bpf_map_update_elem(&drop_counts, &key, &one, BPF_NOEXIST);
		return 0;
	}
	/* Built on the stack (filters decide late), so copied once into the ring. */
	emit_event(e, sizeof(*e));
	return 0;
}
