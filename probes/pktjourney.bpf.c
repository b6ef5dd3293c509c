// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// pktjourney: a packet's hops, joined by its skb. A packet is followed from
// the first hop at which it matches the filter (--host, --port, --netns,
// --proto) until it is freed, dropped, or user space sees it go quiet;
// hops of packets not followed cost a lookup. No kprobes: raw tracepoints
// for the devices, the route and the frees, and BPF netfilter programs
// (Linux 6.4) at each hook, the first and the last there, so a hop shows
// the packet before and after conntrack, NAT and the tables. IPVS's hop is
// the one kprobe, loaded only where the kernel has kprobes and ip_vs.
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

/* The network namespaces of --pod and --container (journey_cfg.netns_set):
 * a journey starts only in one of them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} journey_netns SEC(".maps");

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
	__u16 network;

	if (at_data)
		return BPF_CORE_READ(skb, data);
	network = BPF_CORE_READ(skb, network_header);
	if (network == NETWORK_HEADER_UNSET)
		return NULL;
	return BPF_CORE_READ(skb, head) + network;
}

/* The skb's headers, from ip_header(). */
static __always_inline void skb_flow(struct sk_buff *skb, bool at_data, struct flow *f, __u8 *tcp_flags)
{
	unsigned char *ip = ip_header(skb, at_data);

	if (ip)
		network_flow(ip, bpf_ntohs(BPF_CORE_READ(skb, protocol)), f, tcp_flags);
}

static __always_inline void skb_headers(struct sk_buff *skb, bool at_data, struct journey_hop *h)
{
	skb_flow(skb, at_data, &h->flow, &h->tcp_flags);
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
		/* IPVS sends the packet it took at INPUT out through OUTPUT. */
		return (h->side == JOURNEY_AFTER && last == JOURNEY_OUTPUT) || last == JOURNEY_IPVS;
	case JOURNEY_RX:
		return last == JOURNEY_TX || last == JOURNEY_RX || last == JOURNEY_PREROUTING;
	case JOURNEY_PREROUTING:
		return last == JOURNEY_RX || last == JOURNEY_PREROUTING;
	case JOURNEY_INPUT:
	case JOURNEY_FORWARD:
	case JOURNEY_IPVS:
		/* IPVS takes a packet at INPUT, or at OUTPUT from a local client,
		 * and gives one for a real server on this node back to INPUT. */
		return last == JOURNEY_PREROUTING || last == JOURNEY_ROUTE || last == JOURNEY_RX || last == point ||
		       (point == JOURNEY_IPVS && (last == JOURNEY_INPUT || last == JOURNEY_OUTPUT)) ||
		       (point == JOURNEY_INPUT && last == JOURNEY_IPVS);
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

/* What NAT leaves of a packet beyond packet_ident(), in `fp`: the IP
 * length and protocol, and eight bytes of its transport header that NAT
 * does not rewrite (TCP's sequence and acknowledgement numbers; UDP's
 * first payload bytes; the rest's second and third words). False when
 * there is no IP header to read. IPv4's identification is often 0 (a
 * datagram sent unconnected with DF, a SYN-ACK) and IPv6's flow label is
 * the flow's, so the identity alone would join two such packets. */
static __always_inline bool packet_fingerprint(struct sk_buff *skb, bool at_data, __u64 fp[2])
{
	__u16 eth_protocol = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	unsigned char *ip = ip_header(skb, at_data);
	__u8 first[10];
	__u32 length, header, at;
	__u8 protocol;

	if (!ip || bpf_probe_read_kernel(first, sizeof(first), ip))
		return false;
	if (eth_protocol == ETH_P_IP && first[0] >> 4 == 4) {
		length = (__u32)first[2] << 8 | first[3];
		protocol = first[9];
		header = (first[0] & 0xf) * 4;
	} else if (eth_protocol == ETH_P_IPV6 && first[0] >> 4 == 6) {
		length = ((__u32)first[4] << 8 | first[5]) + 40;
		protocol = first[6];
		header = 40;
	} else {
		return false;
	}
	fp[0] = 1ull << 63 | (__u64)length << 8 | protocol;
	fp[1] = 0;
	/* Only bytes of the packet: past its end is whatever its buffer held. */
	at = header + (protocol == IPPROTO_UDP ? 8 : 4);
	if (at < length) {
		__u32 n = length - at;

		bpf_probe_read_kernel(&fp[1], n < 8 ? n : 8, ip + at);
	}
	return true;
}

/* Whether a journey may go on in another data buffer: a packet's data
 * moves when it is made writable while a clone shares it (NAT or IPVS
 * rewriting a packet that a tap, tcpdump or any packet socket, also took).
 * It is the same packet when packet_ident() and packet_fingerprint() are
 * as before. Only at a hop whose order continues() checks: the ending and
 * annotating hops (followed()) keep to the buffer. */
static __always_inline bool same_data(struct journey_entry *journey, struct sk_buff *skb, bool at_data, __u32 ident)
{
	__u64 head = (__u64)BPF_CORE_READ(skb, head);
	__u64 fp[2];

	if (head == journey->head)
		return true;
	if (!ident || ident != journey->ident || !journey->fingerprint[0] ||
	    !packet_fingerprint(skb, at_data, fp) || fp[0] != journey->fingerprint[0] || fp[1] != journey->fingerprint[1])
		return false;
	journey->head = head;
	return true;
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
	if (!same_data(journey, (struct sk_buff *)skb, h->point == JOURNEY_RX, ident) ||
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

/* Whether a packet with these headers (and, when a filter names one, this
 * network namespace) is followed from this hop on. */
static __always_inline bool passes_filter(const struct flow *f)
{
	if (f->family == 0 || !flow_selected(f))
		return false;
	if (journey_cfg.proto && f->protocol != journey_cfg.proto)
		return false;
	if (journey_cfg.netns_set && !bpf_map_lookup_elem(&journey_netns, &f->netns))
		return false;
	return true;
}

/* Whether passes_filter() reads the namespace. */
static __always_inline bool filter_needs_netns(void)
{
	return net_cfg.netns || journey_cfg.netns_set;
}

/* Starts following `skb` (its headers passed the filter). */
static __always_inline __u64 start(__u64 skb, struct journey_hop *h)
{
	__u64 journey;
	struct journey_entry entry = {
		.number = h->task.ts_ns,
		.head = (__u64)BPF_CORE_READ((struct sk_buff *)skb, head),
		.last_point = h->point,
		.last_ifindex = h->flow.ifindex,
		.sk = (__u64)BPF_CORE_READ((struct sk_buff *)skb, sk),
		.ident = packet_ident((struct sk_buff *)skb, h->point == JOURNEY_RX),
	};

	if (!packet_fingerprint((struct sk_buff *)skb, h->point == JOURNEY_RX, entry.fingerprint))
		entry.fingerprint[0] = 0;
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

	if (!journey && may_start && passes_filter(&h->flow))
		journey = start(skb, h);
	if (last) {
		bool routes_next = (h->point == JOURNEY_PREROUTING && h->side == JOURNEY_AFTER) || h->point == JOURNEY_RX;

		last->skb = journey && routes_next ? skb : 0;
		last->journey = journey;
		__builtin_memcpy(last->daddr, h->flow.daddr, 16);
		last->family = h->flow.family;
	}
	return journey;
}

/* The quick way out for a packet not followed that does not start here:
 * the CPU carries no followed packet now (see decide()). */
static __always_inline void not_followed(void)
{
	__u32 zero = 0;
	struct last_packet *last = bpf_map_lookup_elem(&last_packet, &zero);

	if (last)
		last->skb = 0;
}

/* Whether `skb`, not followed, could start a journey at a hop: its headers
 * (and namespace, from `net` when the filter names one) pass the filter.
 * Most packets end here, having cost a lookup and their headers. */
static __always_inline bool could_start(struct sk_buff *skb, bool at_data, struct net *net)
{
	struct flow f = {};
	__u8 tcp_flags = 0;

	skb_flow(skb, at_data, &f, &tcp_flags);
	if (filter_needs_netns())
		f.netns = net_inode(net);
	return passes_filter(&f);
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
	__u64 key = (__u64)skb;
	struct journey_hop *h;
	__u64 journey;

	if (!bpf_map_lookup_elem(&journeys, &key) &&
	    (!dev || !could_start(skb, point == JOURNEY_RX, filter_needs_netns() ? BPF_CORE_READ(dev, nd_net.net) : NULL))) {
		not_followed();
		return;
	}
	h = blank_hop();
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
	__u64 key = (__u64)skb;
	struct net_device *in, *out;
	struct journey_hop *h;
	__u64 journey;
	__u8 hook;

	/* A packet starts only before a hook's tables. */
	if (!bpf_map_lookup_elem(&journeys, &key) &&
	    (side == JOURNEY_AFTER || !could_start(skb, false, filter_needs_netns() ? BPF_CORE_READ(state, net) : NULL))) {
		not_followed();
		return NF_ACCEPT;
	}
	h = blank_hop();
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

/* A route hop for the CPU's last packet (`last`), to `daddr` (`length`
 * bytes of it) in `table`: the device and gateway are the caller's. */
static __always_inline struct journey_hop *route_hop(const struct last_packet *last, __u32 table, __u16 family, const void *daddr, __u32 length)
{
	struct journey_hop *h = blank_hop();

	if (!h)
		return NULL;
	h->task.ts_ns = bpf_ktime_get_ns();
	h->point = JOURNEY_ROUTE;
	h->ct_info = JOURNEY_CT_NONE;
	h->table = table;
	h->flow.family = family;
	if (length == 16)
		__builtin_memcpy(h->flow.daddr, daddr, 16);
	else
		__builtin_memcpy(h->flow.daddr, daddr, 4);
	h->skb = last->skb;
	h->journey = last->journey;
	return h;
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
	if (last->family != AF_INET || __builtin_memcmp(&daddr, last->daddr, 4) || !followed(last->skb))
		return 0;
	h = route_hop(last, table, AF_INET, &daddr, 4);
	if (!h)
		return 0;
	if (nhc) {
		dev = BPF_CORE_READ(nhc, nhc_dev);
		device(dev, h);
		h->out_ifindex = h->flow.ifindex;
		if (BPF_CORE_READ(nhc, nhc_gw_family) == AF_INET)
			h->gateway = BPF_CORE_READ(nhc, nhc_gw.ipv4);
	}
	emit_event(h, sizeof(*h));
	return 0;
}

#define RTN_UNICAST 1
#define RTN_LOCAL 2

/* fib6_table_lookup(const struct net *net, const struct fib6_result *res,
 * struct fib6_table *table, const struct flowi6 *flp): IPv6's, for each
 * table looked up (a miss gives the unreachable null entry). */
SEC("raw_tp/fib6_table_lookup")
int BPF_PROG(journey_route6, const struct net *net, const struct fib6_result *res, struct fib6_table *table, const struct flowi6 *flp)
{
	__u32 zero = 0;
	struct last_packet *last = bpf_map_lookup_elem(&last_packet, &zero);
	struct fib6_nh *nh;
	struct journey_hop *h;
	__u8 daddr[16], type;

	if (!last || !last->skb || last->family != AF_INET6)
		return 0;
	type = BPF_CORE_READ(res, fib6_type);
	if (type != RTN_UNICAST && type != RTN_LOCAL)
		return 0;
	if (bpf_probe_read_kernel(daddr, sizeof(daddr), &flp->daddr) ||
	    __builtin_memcmp(daddr, last->daddr, 16) || !followed(last->skb))
		return 0;
	h = route_hop(last, BPF_CORE_READ(table, tb6_id), AF_INET6, daddr, 16);
	if (!h)
		return 0;
	nh = BPF_CORE_READ(res, nh);
	if (nh) {
		device(BPF_CORE_READ(nh, nh_common.nhc_dev), h);
		h->out_ifindex = h->flow.ifindex;
		if (BPF_CORE_READ(nh, nh_common.nhc_gw_family) == AF_INET6)
			BPF_CORE_READ_INTO(&h->gateway6, nh, nh_common.nhc_gw.ipv6);
	}
	emit_event(h, sizeof(*h));
	return 0;
}

/* IPVS (kube-proxy's other mode) gives a virtual service's packet to a
 * real server in its LOCAL_IN hook (or LOCAL_OUT, for a local client);
 * with masquerading, the forwarding kube-proxy sets up, it rewrites the
 * destination in ip_vs_nat_xmit(skb, cp, pp, ipvsh) and sends the packet
 * out through OUTPUT, or back to INPUT for a real server on this node.
 * The connection is ip_vs's own type, found by CO-RE in the module's
 * BTF. */
struct ip_vs_conn___journey {
	__be16 cport;
	__be16 dport;
	__be16 vport;
	__u16 af;
	union nf_inet_addr caddr;
	union nf_inet_addr vaddr;
	union nf_inet_addr daddr;
} __attribute__((preserve_access_index));

static __always_inline void ipvs_hop(void *ctx, struct sk_buff *skb, struct ip_vs_conn___journey *cp)
{
	struct journey_hop *h = blank_hop();
	struct net_device *dev;
	__u64 journey;

	if (!h)
		return;
	/* A local client's packet, taken at OUTPUT, has no device yet: its
	 * route's. */
	dev = BPF_CORE_READ(skb, dev);
	if (!dev) {
		struct dst_entry *dst = (struct dst_entry *)(BPF_CORE_READ(skb, _skb_refdst) & ~1UL);

		if (dst)
			dev = BPF_CORE_READ(dst, dev);
	}
	h->task.ts_ns = bpf_ktime_get_ns();
	h->point = JOURNEY_IPVS;
	h->ct_info = JOURNEY_CT_NONE;
	skb_headers(skb, false, h);
	device_place(dev, h);
	journey = decide((__u64)skb, h, true);
	if (!journey)
		return;
	device_name(dev, h);
	BPF_CORE_READ_INTO(&h->orig_dst, cp, vaddr);
	BPF_CORE_READ_INTO(&h->reply_src, cp, daddr);
	h->orig_dport = bpf_ntohs(BPF_CORE_READ(cp, vport));
	h->reply_sport = bpf_ntohs(BPF_CORE_READ(cp, dport));
	send(ctx, (__u64)skb, journey, h);
}

SEC("kprobe/ip_vs_nat_xmit")
int BPF_KPROBE(journey_ipvs, struct sk_buff *skb, struct ip_vs_conn___journey *cp)
{
	ipvs_hop(ctx, skb, cp);
	return 0;
}

SEC("kprobe/ip_vs_nat_xmit_v6")
int BPF_KPROBE(journey_ipvs6, struct sk_buff *skb, struct ip_vs_conn___journey *cp)
{
	ipvs_hop(ctx, skb, cp);
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

/* Before Linux 5.17, kfree_skb(skb, location) has no reason: a drop is
 * told by its place only, and the frees that went through kfree_skb then
 * without being drops (some drivers free every packet they sent that
 * way) look like drops. Also where the reasons cannot be named (no
 * kernel BTF of its own). */
SEC("raw_tp/kfree_skb")
int BPF_PROG(journey_drop_unexplained, struct sk_buff *skb, void *location)
{
	end(ctx, skb, JOURNEY_DROP, (__u64)location, 0);
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
