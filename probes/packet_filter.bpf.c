// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// The kernel side of the pktfilter command (PacketFilter in Swift; its XDP
// program keeps the name pktfilter, which discovery looks for). It parses
// each frame as far as the rules need, then decides.
// Deny wins: a packet matching any drop rule is dropped; else one matching
// an allow rule passes; else the default policy applies. ARP and IPv6
// neighbour discovery always pass, so deny-by-default cannot cut the link.
// Truncated or invalid IP/L4 headers are dropped (never let through
// unchecked). Non-first IP fragments carry no ports: only rules without
// port or ICMP-type conditions can match them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "packet_filter.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_DSTOPTS_ 60

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PKTF_MAX_RULES);
	__type(key, __u32);
	__type(value, struct pktf_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pktf_settings);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PKTF_MAX_RULES);
	__type(key, __u32);
	__type(value, struct pktf_counter);
} rule_stats SEC(".maps");

#define LPM_MAP(name, keytype) \
	struct { \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE); \
		__uint(max_entries, 2 * PKTF_MAX_RULES); \
		__uint(map_flags, BPF_F_NO_PREALLOC); \
		__type(key, keytype); \
		__type(value, __u64); \
	} name SEC(".maps")

#define EXACT_MAP(name, keytype) \
	struct { \
		__uint(type, BPF_MAP_TYPE_HASH); \
		__uint(max_entries, PKTF_MAX_RULES); \
		__type(key, keytype); \
		__type(value, __u64); \
	} name SEC(".maps")

LPM_MAP(src_prefix4, struct pktf_lpm4_key);
LPM_MAP(dst_prefix4, struct pktf_lpm4_key);
LPM_MAP(src_prefix6, struct pktf_lpm6_key);
LPM_MAP(dst_prefix6, struct pktf_lpm6_key);
EXACT_MAP(src_exact4, __u32);
EXACT_MAP(dst_exact4, __u32);
EXACT_MAP(src_exact6, struct pktf_addr6);
EXACT_MAP(dst_exact6, struct pktf_addr6);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PKTF_TOTALS);
	__type(key, __u32);
	__type(value, struct pktf_counter);
} totals SEC(".maps");

struct packet {
	__u32 src[4], dst[4];
	__u16 sport, dport;
	__u8 family;        /* 4 or 6 */
	__u8 proto;         /* enum pktf_proto, or the raw IP protocol */
	__u8 has_ports;
	__u8 has_icmp;
	__u8 icmp_type;
};

static __always_inline void count(void *map, __u32 index, __u64 bytes)
{
	struct pktf_counter *c = bpf_map_lookup_elem(map, &index);

	if (c) {
		c->packets++;
		c->bytes += bytes;
		c->last_ns = bpf_ktime_get_ns();
	}
}

static __always_inline __u64 lookup_mask(void *map, const void *key)
{
	__u64 *m = bpf_map_lookup_elem(map, key);

	return m ? *m : 0;
}

/* The rules whose address conditions the packet meets, as a bitmask. */
static __always_inline __u64 address_candidates(const struct packet *p, const struct pktf_settings *s)
{
	__u64 src, dst;

	if (p->family == 4) {
		struct pktf_lpm4_key sk = { 32, p->src[0] }, dk = { 32, p->dst[0] };

		src = s->any_src4 | lookup_mask(&src_exact4, &p->src[0]) | lookup_mask(&src_prefix4, &sk);
		dst = s->any_dst4 | lookup_mask(&dst_exact4, &p->dst[0]) | lookup_mask(&dst_prefix4, &dk);
	} else {
		struct pktf_lpm6_key sk = { .prefixlen = 128 }, dk = { .prefixlen = 128 };

		__builtin_memcpy(sk.addr, p->src, 16);
		__builtin_memcpy(dk.addr, p->dst, 16);
		src = s->any_src6 | lookup_mask(&src_exact6, p->src) | lookup_mask(&src_prefix6, &sk);
		dst = s->any_dst6 | lookup_mask(&dst_exact6, p->dst) | lookup_mask(&dst_prefix6, &dk);
	}
	return src & dst;
}

static __always_inline bool rule_matches(const struct pktf_rule *r, const struct packet *p)
{
	if (!r->active)
		return false;
	if (r->family && r->family != p->family)
		return false;
	if (r->proto && r->proto != p->proto)
		return false;
	/* Addresses were matched through the hash and LPM maps. */
	if (r->sport_lo || r->sport_hi != 0xffff || r->dport_lo || r->dport_hi != 0xffff) {
		if (!p->has_ports)
			return false;
		if (p->sport < r->sport_lo || p->sport > r->sport_hi || p->dport < r->dport_lo || p->dport > r->dport_hi)
			return false;
	}
	if (r->match_icmp_type && (!p->has_icmp || p->icmp_type != r->icmp_type))
		return false;
	return true;
}

/* Reads the L4 header at off; false when it is truncated. */
static __always_inline bool parse_l4(void *data, void *end, __u64 off, __u8 ipproto, struct packet *p)
{
	if (ipproto == IPPROTO_TCP) {
		struct tcphdr *t = data + off;

		if ((void *)(t + 1) > end || t->doff < 5)
			return false;
		p->sport = bpf_ntohs(t->source);
		p->dport = bpf_ntohs(t->dest);
		p->has_ports = 1;
	} else if (ipproto == IPPROTO_UDP) {
		struct udphdr *u = data + off;

		if ((void *)(u + 1) > end)
			return false;
		p->sport = bpf_ntohs(u->source);
		p->dport = bpf_ntohs(u->dest);
		p->has_ports = 1;
	} else if (ipproto == IPPROTO_ICMP || ipproto == IPPROTO_ICMPV6_) {
		__u8 *icmp = data + off;

		if ((void *)(icmp + 4) > end)
			return false;
		p->icmp_type = icmp[0];
		p->has_icmp = 1;
	}
	return true;
}

struct scan {
	struct packet *p;
	__u64 candidates;
	int verdict;
	__u32 decider;
};

static long scan_rule(__u32 i, void *ctx)
{
	struct scan *sc = ctx;
	struct pktf_rule *r;

	if (i >= 64 || !(sc->candidates & (1ULL << i)))
		return 0;
	r = bpf_map_lookup_elem(&rules, &i);
	if (!r || !rule_matches(r, sc->p))
		return 0;
	if (r->action == PKTF_ACTION_DROP) {
		sc->verdict = XDP_DROP;
		sc->decider = i;
		return 1; /* deny wins: stop */
	}
	if (sc->verdict < 0) {
		sc->verdict = XDP_PASS;
		sc->decider = i;
	}
	return 0;
}

SEC("xdp")
int pktfilter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data, off = sizeof(struct ethhdr);
	struct ethhdr *eth = data;
	struct packet p = {};
	__u32 zero = 0, decider = PKTF_MAX_RULES;
	struct pktf_settings *s;
	__u16 ethertype;
	__u8 ipproto;
	int verdict = -1;

	if ((void *)(eth + 1) > end)
		goto malformed;
	ethertype = bpf_ntohs(eth->h_proto);
	for (int i = 0; i < 2; i++) {
		struct vlan_hdr *v = data + off;

		if (ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD)
			break;
		if ((void *)(v + 1) > end)
			goto malformed;
		ethertype = bpf_ntohs(v->h_vlan_encapsulated_proto);
		off += sizeof(*v);
	}

	if (ethertype == ETH_P_ARP) {
		count(&totals, PKTF_TOTAL_EXEMPT, bytes);
		return XDP_PASS;
	}
	if (ethertype == ETH_P_IP) {
		struct iphdr *ip = data + off;
		__u32 hlen;

		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
			goto malformed;
		hlen = ip->ihl * 4;
		if (data + off + hlen > end)
			goto malformed;
		p.family = 4;
		p.src[0] = ip->saddr;
		p.dst[0] = ip->daddr;
		ipproto = ip->protocol;
		off += hlen;
		/* A non-first fragment starts mid-payload: no L4 header. */
		if (bpf_ntohs(ip->frag_off) & 0x1fff)
			goto decide_proto;
	} else if (ethertype == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			goto malformed;
		p.family = 6;
		__builtin_memcpy(p.src, &ip6->saddr, 16);
		__builtin_memcpy(p.dst, &ip6->daddr, 16);
		ipproto = ip6->nexthdr;
		off += sizeof(*ip6);
		for (int i = 0; i < 6; i++) {
			__u8 *ext = data + off;

			if (ipproto == IPPROTO_HOPOPTS_ || ipproto == IPPROTO_ROUTING_ || ipproto == IPPROTO_DSTOPTS_) {
				if ((void *)(ext + 2) > end)
					goto malformed;
				ipproto = ext[0];
				off += (ext[1] + 1) * 8;
			} else if (ipproto == IPPROTO_FRAGMENT_) {
				if ((void *)(ext + 8) > end)
					goto malformed;
				ipproto = ext[0];
				off += 8;
				if (bpf_ntohs(*(__u16 *)(ext + 2)) & 0xfff8)
					goto decide_proto;
			} else if (ipproto == IPPROTO_AH) {
				if ((void *)(ext + 2) > end)
					goto malformed;
				ipproto = ext[0];
				off += (ext[1] + 2) * 4;
			} else {
				break;
			}
		}
		if (off > 0xffff)
			goto malformed;
	} else {
		/* Other ethertypes (LLDP...): the default policy decides. */
		goto decide;
	}

	if (!parse_l4(data, end, off & 0xffff, ipproto, &p))
		goto malformed;
	/* Neighbour discovery (133-137) keeps IPv6 reachable in deny mode. */
	if (ipproto == IPPROTO_ICMPV6_ && p.icmp_type >= 133 && p.icmp_type <= 137) {
		count(&totals, PKTF_TOTAL_EXEMPT, bytes);
		return XDP_PASS;
	}
decide_proto:
	p.proto = (ipproto == IPPROTO_ICMPV6_) ? PKTF_PROTO_ICMP : ipproto;

	s = bpf_map_lookup_elem(&settings, &zero);
	if (!s)
		goto decide;
	{
		struct scan sc = { .p = &p, .candidates = address_candidates(&p, s), .verdict = -1, .decider = PKTF_MAX_RULES };

		/* bpf_loop: the verifier checks one rule, not 64 unrolled paths. */
		bpf_loop(PKTF_MAX_RULES, scan_rule, &sc, 0);
		verdict = sc.verdict;
		decider = sc.decider;
	}
	if (decider < PKTF_MAX_RULES)
		count(&rule_stats, decider, bytes);
decide:
	if (verdict < 0) {
		s = bpf_map_lookup_elem(&settings, &zero);
		verdict = (s && s->default_drop) ? XDP_DROP : XDP_PASS;
	}
	count(&totals, verdict == XDP_DROP ? PKTF_TOTAL_DROPPED : PKTF_TOTAL_PASSED, bytes);
	return verdict;

malformed:
	count(&totals, PKTF_TOTAL_MALFORMED, bytes);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
