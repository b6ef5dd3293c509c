// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// pktjourney: a packet's hops, joined by its skb. A packet is followed from
// the first hop at which it matches the filter (--host, --port, --netns,
// --proto) until it is freed, dropped, or user space sees it go quiet;
// hops of packets not followed cost a lookup. No kprobes: raw tracepoints
// for the devices, the route and the frees, and BPF netfilter programs
// (Linux 6.4) at each hook, the first and the last there, so a hop shows
// the packet before and after conntrack, NAT and the tables.
#include "common.bpf.h"
#include "net.bpf.h"
#include "pktjourney.h"

SWIFTBPF_EVENT(journey_hop);

#define NFCT_INFOMASK 7UL
#define IPS_SRC_NAT (1 << 4)
#define IPS_DST_NAT (1 << 5)
#define NF_ACCEPT 1

const volatile struct journey_config journey_cfg = {};
/* SKB_CONSUMED on this kernel, where kfree_skb reports frees too; -1: none. */
const volatile __s64 consumed_reason = -1;

/* An skb is often freed with no tracepoint (a TCP segment, a UDP datagram
 * read) and its memory given to the next packet: one with other data
 * (journey_entry.head) is another packet. */
/* The packets followed, by skb. User space removes a packet that went
 * quiet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct journey_entry);
} journeys SEC(".maps");

/* Packets that matched but found the table full: never followed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} journeys_full SEC(".maps");

/* The packet each CPU carried last, for the route lookup that follows. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct last_packet);
} last_packet SEC(".maps");

/* A hop is built here: it is too large for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct journey_hop);
} scratch SEC(".maps");

/* Where the skb's IP header is: its network header, or (when `at_data`,
 * as a device receives it) its data; NULL when it has none yet. */
static __always_inline unsigned char *ip_header(struct sk_buff *skb, bool at_data)
{
	__u16 network = BPF_CORE_READ(skb, network_header);

	if (at_data)
		return BPF_CORE_READ(skb, data);
	if (network == NETWORK_HEADER_UNSET)
		return NULL;
	return BPF_CORE_READ(skb, head) + network;
}

/* The skb's headers, from ip_header(). */
static __always_inline void skb_headers(struct sk_buff *skb, bool at_data, struct journey_hop *h)
{
	unsigned char *ip = ip_header(skb, at_data);

	if (ip)
		network_flow(ip, bpf_ntohs(BPF_CORE_READ(skb, protocol)), &h->flow, &h->tcp_flags);
}

/* What stays the same of a packet on its way, through forwarding and NAT:
 * IPv4's protocol and identification, IPv6's next header and flow label,
 * with the family; 0 when there is no IP header to read. Read only for
 * packets followed. */
static __always_inline __u32 packet_ident(struct sk_buff *skb, bool at_data)
{
	__u16 eth_protocol = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	unsigned char *ip = ip_header(skb, at_data);
	__u8 first[10];

	if (!ip)
		return 0;
	if (bpf_probe_read_kernel(first, sizeof(first), ip))
		return 0;
	if (eth_protocol == ETH_P_IP && first[0] >> 4 == 4)
		return 1u << 31 | (__u32)first[9] << 16 | (__u32)first[4] << 8 | first[5];
	if (eth_protocol == ETH_P_IPV6 && first[0] >> 4 == 6)
		return 1u << 30 | (__u32)first[6] << 20 | ((__u32)first[1] & 0xf) << 16 | (__u32)first[2] << 8 | first[3];
	return 0;
}

/* Where the hop is: the device's index and namespace (enough to decide
 * whether to follow the packet), then, for a packet followed, its name. */
static __always_inline void device_place(struct net_device *dev, struct journey_hop *h)
{
	if (!dev)
		return;
	h->flow.ifindex = BPF_CORE_READ(dev, ifindex);
	h->flow.netns = net_inode(BPF_CORE_READ(dev, nd_net.net));
}

static __always_inline void device_name(struct net_device *dev, struct journey_hop *h)
{
	if (dev)
		BPF_CORE_READ_STR_INTO(&h->ifname, dev, name);
}

static __always_inline void device(struct net_device *dev, struct journey_hop *h)
{
	device_place(dev, h);
	device_name(dev, h);
}

/* Whether hop `h` can continue the packet of `journey`: an skb freed with
 * no tracepoint (a datagram read) may come back as another packet with the
 * same skb and data buffer (the slabs give back the last freed).
 * - A packet made here carries its socket out, and one that came from
 *   elsewhere carries none (or, through a bridge or a veth, its sender's):
 *   a packet sent with another socket is another packet.
 * - Its IP header's identity (packet_ident) changes only where a tunnel
 *   wraps it (after it was sent on the tunnel's device) or unwraps it (a
 *   device receiving it after it was received): a packet sent after one
 *   was received, with another identity, is another packet. (One received
 *   into a freed skb looks like an unwrapped one, and is not told apart.)
 * - The hooks come in netfilter's order (a packet made here passes OUTPUT
 *   first); a device receives a packet that a device sent (a veth's peer),
 *   or that it received (a bridge's port, then the bridge), or after
 *   PREROUTING (a bridge passing it up); a packet that reached INPUT is not
 *   sent on. */
static __always_inline bool continues(const struct journey_entry *journey, const struct journey_hop *h, struct sk_buff *skb, __u32 ident)
{
	__u8 point = h->point, last = journey->last_point;
	__u32 last_ifindex = journey->last_ifindex;

	if (point == JOURNEY_TX || point == JOURNEY_OUTPUT) {
		__u64 sk = (__u64)BPF_CORE_READ(skb, sk);

		if (sk && sk != journey->sk)
			return false;
	}
	if (ident && journey->ident && ident != journey->ident &&
	    last != JOURNEY_TX && !(point == JOURNEY_RX && (last == JOURNEY_RX || last == JOURNEY_INPUT)))
		return false;

	switch (point) {
	case JOURNEY_OUTPUT:
		return h->side == JOURNEY_AFTER && last == JOURNEY_OUTPUT;
	case JOURNEY_RX:
		return last == JOURNEY_TX || last == JOURNEY_RX || last == JOURNEY_PREROUTING;
	case JOURNEY_PREROUTING:
		return last == JOURNEY_RX || last == JOURNEY_PREROUTING;
	case JOURNEY_INPUT:
	case JOURNEY_FORWARD:
		return last == JOURNEY_PREROUTING || last == JOURNEY_ROUTE || last == JOURNEY_RX || last == point;
	case JOURNEY_POSTROUTING:
		return last == JOURNEY_OUTPUT || last == JOURNEY_FORWARD || last == JOURNEY_ROUTE || last == JOURNEY_POSTROUTING;
	case JOURNEY_TX:
		/* Not back out of the device it came in by. */
		if (last == JOURNEY_RX)
			return h->flow.ifindex != last_ifindex;
		return last != JOURNEY_INPUT && last != JOURNEY_DELIVER && last != JOURNEY_PREROUTING;
	default:
		return true;
	}
}

/* The journey `skb` is on at hop `h`; 0 when it is not followed,
 * or when its memory now holds another packet (which is then forgotten). */
static __always_inline __u64 followed_at(__u64 skb, const struct journey_hop *h)
{
	struct journey_entry *journey = bpf_map_lookup_elem(&journeys, &skb);
	__u32 ident;

	if (!journey)
		return 0;
	ident = packet_ident((struct sk_buff *)skb, h->point == JOURNEY_RX);
	if (journey->head != (__u64)BPF_CORE_READ((struct sk_buff *)skb, head) ||
	    !continues(journey, h, (struct sk_buff *)skb, ident)) {
		bpf_map_delete_elem(&journeys, &skb);
		return 0;
	}
	journey->last_point = h->point;
	journey->last_ifindex = h->flow.ifindex;
	if (ident)
		journey->ident = ident;
	return journey->number;
}

/* The journey of a packet at a hop that ends or annotates it. */
static __always_inline __u64 followed(__u64 skb)
{
	struct journey_entry *journey = bpf_map_lookup_elem(&journeys, &skb);

	if (!journey || journey->head != (__u64)BPF_CORE_READ((struct sk_buff *)skb, head))
		return 0;
	return journey->number;
}

static __always_inline struct journey_hop *blank_hop(void)
{
	__u32 zero = 0;
	struct journey_hop *h = bpf_map_lookup_elem(&scratch, &zero);

	if (h)
		__builtin_memset(h, 0, sizeof(*h));
	return h;
}

/* Starts following `skb` when its headers match the filter. */
static __always_inline __u64 start(__u64 skb, struct journey_hop *h)
{
	__u64 journey;

	if (h->flow.family == 0 || !flow_selected(&h->flow))
		return 0;
	if (journey_cfg.proto && h->flow.protocol != journey_cfg.proto)
		return 0;
	struct journey_entry entry = {
		.number = h->task.ts_ns,
		.head = (__u64)BPF_CORE_READ((struct sk_buff *)skb, head),
		.last_point = h->point,
		.last_ifindex = h->flow.ifindex,
		.sk = (__u64)BPF_CORE_READ((struct sk_buff *)skb, sk),
		.ident = packet_ident((struct sk_buff *)skb, h->point == JOURNEY_RX),
	};

	journey = entry.number;
	if (bpf_map_update_elem(&journeys, &skb, &entry, BPF_ANY)) {
		__u32 zero = 0;
		__u64 *full = bpf_map_lookup_elem(&journeys_full, &zero);

		if (full)
			*full += 1;
		return 0;
	}
	return journey;
}

/* The journey of `skb` at hop `h` (its point and headers filled): the
 * one it is on, a new one when it matches the filter and `may_start`, or
 * 0. The CPU's last packet is noted as a device receives it and after
 * PREROUTING, where the input route is looked up next, and forgotten at
 * any other hop (an output route is looked up before its packet exists,
 * and is not attributed). Deciding needs only the headers: the rest of a
 * hop (names, conntrack) is read for the packets followed. */
static __always_inline __u64 decide(__u64 skb, struct journey_hop *h, bool may_start)
{
	__u32 zero = 0;
	struct last_packet *last = bpf_map_lookup_elem(&last_packet, &zero);
	__u64 journey = followed_at(skb, h);

	if (!journey && may_start)
		journey = start(skb, h);
	if (last) {
		bool routes_next = (h->point == JOURNEY_PREROUTING && h->side == JOURNEY_AFTER) || h->point == JOURNEY_RX;

		last->skb = journey && routes_next ? skb : 0;
		last->journey = journey;
		__builtin_memcpy(&last->daddr, h->flow.daddr, 4);
	}
	return journey;
}

static __always_inline void send(void *ctx, __u64 skb, __u64 journey, struct journey_hop *h)
{
	h->skb = skb;
	h->journey = journey;
	emit_event(h, sizeof(*h));
}

/* A device's hop: where it is and the headers decide whether the packet
 * is followed; only then is the device's name read and the hop sent. */
static __always_inline void device_hop(void *ctx, struct sk_buff *skb, struct net_device *dev, __u8 point, __u32 reason)
{
	struct journey_hop *h = blank_hop();
	__u64 journey;

	if (!h)
		return;
	h->task.ts_ns = bpf_ktime_get_ns();
	h->point = point;
	h->ct_info = JOURNEY_CT_NONE;
	h->reason = reason;
	skb_headers(skb, point == JOURNEY_RX, h);
	device_place(dev, h);
	journey = decide((__u64)skb, h, true);
	if (!journey)
		return;
	device_name(dev, h);
	send(ctx, (__u64)skb, journey, h);
}

SEC("raw_tp/netif_receive_skb")
int BPF_PROG(journey_rx, struct sk_buff *skb)
{
	device_hop(ctx, skb, BPF_CORE_READ(skb, dev), JOURNEY_RX, 0);
	return 0;
}

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(journey_tx, struct sk_buff *skb, int rc, struct net_device *dev)
{
	device_hop(ctx, skb, dev, JOURNEY_TX, rc);
	return 0;
}

/* The connection the packet belongs to, from skb->_nfct. */
static __always_inline void conntrack(struct sk_buff *skb, struct journey_hop *h)
{
	unsigned long nfct = BPF_CORE_READ(skb, _nfct);
	struct nf_conn *ct = (struct nf_conn *)(nfct & ~NFCT_INFOMASK);
	unsigned long status;

	if (!ct) {
		h->ct_info = JOURNEY_CT_NONE;
		return;
	}
	h->ct_info = nfct & NFCT_INFOMASK;
	status = BPF_CORE_READ(ct, status);
	h->nat = (status & IPS_SRC_NAT ? 1 : 0) | (status & IPS_DST_NAT ? 2 : 0);
	BPF_CORE_READ_INTO(&h->orig_src, ct, tuplehash[0].tuple.src.u3);
	BPF_CORE_READ_INTO(&h->orig_dst, ct, tuplehash[0].tuple.dst.u3);
	BPF_CORE_READ_INTO(&h->reply_src, ct, tuplehash[1].tuple.src.u3);
	BPF_CORE_READ_INTO(&h->reply_dst, ct, tuplehash[1].tuple.dst.u3);
	h->orig_sport = bpf_ntohs(BPF_CORE_READ(ct, tuplehash[0].tuple.src.u.all));
	h->orig_dport = bpf_ntohs(BPF_CORE_READ(ct, tuplehash[0].tuple.dst.u.all));
	h->reply_sport = bpf_ntohs(BPF_CORE_READ(ct, tuplehash[1].tuple.src.u.all));
	h->reply_dport = bpf_ntohs(BPF_CORE_READ(ct, tuplehash[1].tuple.dst.u.all));
}

static __always_inline int netfilter_hop(struct bpf_nf_ctx *ctx, __u8 side)
{
	const struct nf_hook_state *state = ctx->state;
	struct sk_buff *skb = ctx->skb;
	struct net_device *in, *out;
	struct journey_hop *h = blank_hop();
	__u64 journey;
	__u8 hook;

	if (!h)
		return NF_ACCEPT;
	hook = BPF_CORE_READ(state, hook);
	if (hook > 4)
		return NF_ACCEPT;
	h->task.ts_ns = bpf_ktime_get_ns();
	h->point = JOURNEY_PREROUTING + hook;
	h->side = side;
	skb_headers(skb, false, h);
	in = BPF_CORE_READ(state, in);
	out = BPF_CORE_READ(state, out);
	h->flow.netns = net_inode(BPF_CORE_READ(state, net));
	journey = decide((__u64)skb, h, side == JOURNEY_BEFORE);
	if (!journey)
		return NF_ACCEPT;
	device(in ? in : out, h);
	if (in && out)
		h->out_ifindex = BPF_CORE_READ(out, ifindex);
	conntrack(skb, h);
	send(ctx, (__u64)skb, journey, h);
	return NF_ACCEPT;
}

/* Attached at each hook's first and last priority (pktjourney.swift). */
SEC("netfilter")
int journey_nf_before(struct bpf_nf_ctx *ctx)
{
	return netfilter_hop(ctx, JOURNEY_BEFORE);
}

SEC("netfilter")
int journey_nf_after(struct bpf_nf_ctx *ctx)
{
	return netfilter_hop(ctx, JOURNEY_AFTER);
}

/* fib_table_lookup(u32 tb_id, const struct flowi4 *flp, const struct
 * fib_nh_common *nhc, int err): a route for the packet this CPU carries,
 * when it is for that packet's destination. */
SEC("raw_tp/fib_table_lookup")
int BPF_PROG(journey_route, __u32 table, const struct flowi4 *flp, const struct fib_nh_common *nhc, int err)
{
	__u32 zero = 0;
	struct last_packet *last = bpf_map_lookup_elem(&last_packet, &zero);
	struct journey_hop *h;
	struct net_device *dev;
	__u32 daddr;

	if (!last || !last->skb || err)
		return 0;
	daddr = BPF_CORE_READ(flp, daddr);
	if (daddr != last->daddr || !followed(last->skb))
		return 0;
	h = blank_hop();
	if (!h)
		return 0;
	h->task.ts_ns = bpf_ktime_get_ns();
	h->point = JOURNEY_ROUTE;
	h->ct_info = JOURNEY_CT_NONE;
	h->table = table;
	h->flow.family = AF_INET;
	__builtin_memcpy(h->flow.daddr, &daddr, 4);
	if (nhc) {
		dev = BPF_CORE_READ(nhc, nhc_dev);
		device(dev, h);
		h->out_ifindex = h->flow.ifindex;
		if (BPF_CORE_READ(nhc, nhc_gw_family) == AF_INET)
			h->gateway = BPF_CORE_READ(nhc, nhc_gw.ipv4);
	}
	h->skb = last->skb;
	h->journey = last->journey;
	emit_event(h, sizeof(*h));
	return 0;
}

/* The last hop: dropped, or freed after use. Either ends the journey. */
static __always_inline void end(void *ctx, struct sk_buff *skb, __u8 point, __u64 location, __u32 reason)
{
	__u64 key = (__u64)skb;
	__u64 journey = followed(key);
	struct journey_hop *h;

	if (!journey)
		return;
	h = blank_hop();
	if (h) {
		h->task.ts_ns = bpf_ktime_get_ns();
		h->point = point;
		h->ct_info = JOURNEY_CT_NONE;
		h->location = location;
		h->reason = reason;
		skb_headers(skb, false, h);
		device(BPF_CORE_READ(skb, dev), h);
		h->skb = key;
		h->journey = journey;
		emit_event(h, sizeof(*h));
	}
	bpf_map_delete_elem(&journeys, &key);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(journey_drop, struct sk_buff *skb, void *location, __u32 reason)
{
	if ((__s64)reason == consumed_reason)
		end(ctx, skb, JOURNEY_FREE, (__u64)location, reason);
	else
		end(ctx, skb, JOURNEY_DROP, (__u64)location, reason);
	return 0;
}

/* consume_skb(struct sk_buff *skb[, void *location]): only the skb is
 * read, since Linux 6.1's has no location (and a raw tracepoint's program
 * may not read past its arguments). */
SEC("raw_tp/consume_skb")
int BPF_PROG(journey_free, struct sk_buff *skb)
{
	end(ctx, skb, JOURNEY_FREE, 0, 0);
	return 0;
}

/* A reader takes the data: who, in task_info. */
SEC("raw_tp/skb_copy_datagram_iovec")
int BPF_PROG(journey_deliver, struct sk_buff *skb, int len)
{
	__u64 journey = followed((__u64)skb);
	struct journey_hop *h;

	if (!journey)
		return 0;
	h = blank_hop();
	if (!h)
		return 0;
	fill_task(&h->task);
	h->point = JOURNEY_DELIVER;
	h->ct_info = JOURNEY_CT_NONE;
	h->reason = len;
	skb_headers(skb, false, h);
	h->skb = (__u64)skb;
	h->journey = journey;
	emit_event(h, sizeof(*h));
	return 0;
}
