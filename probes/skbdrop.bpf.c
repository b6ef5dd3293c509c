// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// skbdrop: packets freed as dropped, from the skb:kfree_skb raw tracepoint
// (no kprobes): where (the kernel address), why (enum skb_drop_reason,
// named in user space from this kernel's BTF), on which device and
// network namespace, and the flow when the headers are there.
#include "common.bpf.h"
#include "net.bpf.h"

SWIFTBPF_EVENT(skbdrop_event);

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define NETWORK_HEADER_UNSET 0xffff

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

/* The IPv4 or IPv6 header at the skb's network header, and the TCP or UDP
 * ports after it (no IPv6 extension headers). */
static __always_inline void skb_flow(struct sk_buff *skb, __u16 eth_protocol, struct flow *f)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 network = BPF_CORE_READ(skb, network_header);
	__u16 ports[2] = {};
	unsigned char *transport;

	if (network == NETWORK_HEADER_UNSET)
		return;
	if (eth_protocol == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + network) || ip.version != 4)
			return;
		f->family = AF_INET;
		f->protocol = ip.protocol;
		__builtin_memcpy(f->saddr, &ip.saddr, 4);
		__builtin_memcpy(f->daddr, &ip.daddr, 4);
		transport = head + network + ip.ihl * 4;
	} else if (eth_protocol == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + network) || ip6.version != 6)
			return;
		f->family = AF_INET6;
		f->protocol = ip6.nexthdr;
		__builtin_memcpy(f->saddr, &ip6.saddr, 16);
		__builtin_memcpy(f->daddr, &ip6.daddr, 16);
		transport = head + network + sizeof(ip6);
	} else {
		return;
	}
	if (f->protocol == IPPROTO_TCP || f->protocol == IPPROTO_UDP) {
		bpf_probe_read_kernel(ports, sizeof(ports), transport);
		f->sport = bpf_ntohs(ports[0]);
		f->dport = bpf_ntohs(ports[1]);
	}
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
			__sync_fetch_and_add(count, 1);
		else
			bpf_map_update_elem(&drop_counts, &key, &one, BPF_NOEXIST);
		return 0;
	}
	/* Built on the stack (filters decide late), so copied once into the ring. */
	emit_event(e, sizeof(*e));
	return 0;
}
