// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// The kernel side of the pktfilter command (PacketFilter in Swift). Its XDP
// program comes in three builds, pktfilter, pktfilter_512 and pktfilter_510
// (for kernels before 5.18, and before 5.12), by whose names discovery
// finds a running filter.
//
// Each frame is parsed to its transport header, then decided. Deny wins: a
// packet matching a drop rule is dropped; else one over a matching rate
// limit is dropped; else one matching an allow rule passes; else the
// default policy applies.
//
// What the parser cannot finish is malformed: dropped and counted, never
// decided as "no rule matched". That is a truncated or invalid header (IP
// version, IHL, lengths past the datagram, a TCP data offset below 5 or
// past the datagram), more VLAN tags or IPv6 extension headers than the
// walk's bounds (packet_filter.h), a Hop-by-Hop header anywhere but first,
// an extension header the walk does not know how to step over (Mobility,
// HIP, Shim6, the experimental 253 and 254), and a TCP fragment at offset
// 8 bytes (RFC 1858's overlapping-fragment attack).
//
// Exempt (always passed, so deny-by-default cannot cut the link): ARP, and
// IPv6 neighbour discovery as RFC 4861 defines it: ICMPv6 types 133-137,
// code 0, hop limit 255, not fragmented (RFC 6980).
//
// Non-first fragments carry no transport header: only rules without port,
// ICMP-type or SYN conditions can match them. ESP is opaque: decided as
// protocol 50.
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
#define IPPROTO_NONE_ 59
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_MH_ 135
#define IPPROTO_HIP_ 139
#define IPPROTO_SHIM6_ 140
#define MAX_L4_OFFSET 0x3fff
/* ICMP over IPv6 is no rule's "icmp": a protocol no rule can name. */
#define PROTO_UNNAMEABLE 255

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

/* Rate limits: the theoretical arrival time of each rule's next packet
 * (a generic cell rate algorithm), per rule, or per rule and source. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PKTF_MAX_RULES);
	__type(key, __u32);
	__type(value, __u64);
} limit_rule SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PKTF_LIMIT_SOURCES);
	__type(key, struct pktf_limit_key);
	__type(value, __u64);
} limit_source SEC(".maps");

#include "edit_lock.bpf.h"

struct packet {
	__u32 src[4], dst[4];
	__u16 sport, dport;
	__u8 family;        /* 4 or 6 */
	__u8 proto;         /* enum pktf_proto, or the raw IP protocol */
	__u8 has_ports;
	__u8 has_icmp;
	__u8 icmp_type;
	__u8 syn;           /* TCP, SYN set, ACK clear */
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
	if (r->syn_only && !p->syn)
		return false;
	return true;
}

/* One more than the index of the highest bit set (0 for none). */
static __always_inline __u32 bit_length(__u64 m)
{
	__u32 n = 0;

	if (m >> 32) { n += 32; m >>= 32; }
	if (m >> 16) { n += 16; m >>= 16; }
	if (m >> 8) { n += 8; m >>= 8; }
	if (m >> 4) { n += 4; m >>= 4; }
	if (m >> 2) { n += 2; m >>= 2; }
	if (m >> 1) { n += 1; m >>= 1; }
	return n + (__u32)m;
}

struct scan {
	struct packet *p;
	__u64 candidates;
	__u64 limits;       /* matching limit rules, charged if nothing drops */
	int verdict;
	__u32 decider;
};

static __always_inline long scan_step(__u32 i, struct scan *sc)
{
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
	if (r->action == PKTF_ACTION_LIMIT) {
		sc->limits |= 1ULL << i;
		return 0;
	}
	if (sc->verdict < 0) {
		sc->verdict = XDP_PASS;
		sc->decider = i;
	}
	return 0;
}

static long scan_rule(__u32 i, void *ctx)
{
	return scan_step(i, ctx);
}

struct charge {
	struct packet *p;
	__u64 limits;
	__u64 now;
	__u32 limited_by;
};

/* Takes one packet from rule i's budget; stops the walk when it is spent.
 * `atomic`: compare and swap (Linux 5.12); without, a plain store. */
static __always_inline long charge_step(__u32 i, struct charge *c, const bool atomic)
{
	struct pktf_rule *r;
	__u64 *tat;

	if (i >= 64 || !(c->limits & (1ULL << i)))
		return 0;
	r = bpf_map_lookup_elem(&rules, &i);
	if (!r)
		return 0;
	if (r->per_source) {
		struct pktf_limit_key k = { .rule = i, .family = c->p->family, .generation = r->generation };
		__u64 first = c->now + r->limit_interval_ns;

		/* An IPv6 source is its /64: one host holds a whole /64 and can
		 * send from any address in it. (IPv4 fills word 0 alone.) */
		k.addr[0] = c->p->src[0];
		k.addr[1] = c->p->src[1];
		tat = bpf_map_lookup_elem(&limit_source, &k);
		if (!tat) {
			/* A new source: its first packet is within budget. */
			if (bpf_map_update_elem(&limit_source, &k, &first, BPF_NOEXIST) == 0)
				return 0;
			tat = bpf_map_lookup_elem(&limit_source, &k);
			if (!tat)
				return 0;
		}
	} else {
		tat = bpf_map_lookup_elem(&limit_rule, &i);
		if (!tat)
			return 0;
	}
	/* The packet conforms unless the next one is due later than the
	 * burst tolerance allows; CPUs race for the slot with compare and
	 * swap, and one that keeps losing counts as over. Before Linux 5.12
	 * a plain store: packets that CPUs charge at the same moment can
	 * each pass, and a CPU interrupted between its read and its store
	 * writes back a slot older than the others' charges meanwhile, which
	 * gives their budget back (docs/tools/pktfilter.md). */
	if (!atomic) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 start = old > c->now ? old : c->now;

		if (start - c->now <= r->limit_tolerance_ns) {
			*tat = start + r->limit_interval_ns;
			return 0;
		}
		c->limited_by = i;
		return 1;
	}
	for (int tries = 0; tries < 4; tries++) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 start = old > c->now ? old : c->now;

		if (start - c->now > r->limit_tolerance_ns)
			break;
		if (__sync_val_compare_and_swap(tat, old, start + r->limit_interval_ns) == old)
			return 0;
	}
	c->limited_by = i;
	return 1;
}

static long charge_limit(__u32 i, void *ctx)
{
	return charge_step(i, ctx, true);
}

/* Whether the next header is an IPv6 extension header (IANA's list),
 * which the walk must step over or give up on. ESP (opaque) and No Next
 * Header end the chain. */
static __always_inline bool is_extension(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_ROUTING_ || nh == IPPROTO_FRAGMENT_ || nh == IPPROTO_AH ||
	       nh == IPPROTO_DSTOPTS_ || nh == IPPROTO_MH_ || nh == IPPROTO_HIP_ || nh == IPPROTO_SHIM6_ || nh == 253 ||
	       nh == 254;
}

enum walk_outcome {
	WALK_GOING = 0,
	WALK_DONE,              /* at the upper-layer protocol: w->nh, at w->off */
	WALK_MALFORMED,
	WALK_LATER_FRAGMENT,    /* a fragment other than the first */
};

/* The walk's state lives in a per-CPU map value, not on the stack: the
 * verifier then sees unknown values at each step instead of offsets that
 * grow with every header, and checks the step once. */
struct walk_state {
	__u32 off, limit;       /* the next header's offset; the datagram's end */
	__u8 nh;                /* the next header's type */
	__u8 fragmented;
	__u8 outcome;           /* enum walk_outcome */
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_state);
} walk_scratch SEC(".maps");

struct walk {
	struct xdp_md *xdp;
	struct walk_state *w;
};

/* The 8 bytes at off (at most 0xffff, which the walk checks): with
 * bpf_xdp_load_bytes (Linux 5.18; fragments of a multi-buffer frame
 * included), or, before it, from the frame's data, where all of a frame is
 * before 5.18 (generic XDP's up to 64 KiB too). Nonzero: not in the frame. */
static __always_inline int read_header(struct xdp_md *xdp, __u32 off, __u8 h[8], const bool direct)
{
	if (!direct)
		return bpf_xdp_load_bytes(xdp, off, h, 8);
	void *data = (void *)(long)xdp->data, *end = (void *)(long)xdp->data_end;
	__u8 *at;

	/* The walk has checked off + 8 against the datagram's end, itself
	 * at most 0xffff; said again for the verifier, which keeps a packet
	 * pointer's offset within 0xffff. */
	if (off > 0xffff - 8)
		return -1;
	at = data + off;
	if ((void *)(at + 8) > end)
		return -1;
	__builtin_memcpy(h, at, 8);
	return 0;
}

/* Steps over IPv6 extension header i (RFC 8200), or ends the walk. */
static __always_inline long walk_step(__u32 i, struct walk_state *w, struct xdp_md *xdp, const bool direct)
{
	__u8 h[8], nh = w->nh;
	__u32 off = w->off;

	if (!is_extension(nh)) {
		w->outcome = WALK_DONE;
		return 1;
	}
	/* One more than the walk reads: the chain is longer than the bound. */
	if (i >= PKTF_MAX_EXT_HEADERS) {
		w->outcome = WALK_MALFORMED;
		return 1;
	}
	/* Hop-by-Hop only right after the IPv6 header; headers whose length
	 * the walk does not know how to read end it unfinished. Every
	 * extension header is at least 8 bytes and must lie in the datagram. */
	if ((nh == IPPROTO_HOPOPTS_ && i > 0) || nh == IPPROTO_MH_ || nh == IPPROTO_HIP_ || nh == IPPROTO_SHIM6_ || nh >= 253 ||
	    off > 0xffff || off + 8 > w->limit || read_header(xdp, off, h, direct)) {
		w->outcome = WALK_MALFORMED;
		return 1;
	}
	w->nh = h[0];
	if (nh == IPPROTO_FRAGMENT_) {
		__u32 units = (((__u32)h[2] << 8) | h[3]) >> 3;

		w->fragmented = 1;
		w->off = off + 8;
		if (units) {
			/* RFC 1858: a TCP fragment at 8 bytes rewrites the header. */
			w->outcome = h[0] == IPPROTO_TCP && units == 1 ? WALK_MALFORMED : WALK_LATER_FRAGMENT;
			return 1;
		}
		return 0;
	}
	off += nh == IPPROTO_AH ? (h[1] + 2) * 4 : (h[1] + 1) * 8;
	w->off = off;
	if (off > w->limit) {
		w->outcome = WALK_MALFORMED;
		return 1;
	}
	return 0;
}

static long walk_extension(__u32 i, void *ctx)
{
	struct walk *walk = ctx;

	return walk_step(i, walk->w, walk->xdp, false);
}

/* The bounded-loop build's steps are global functions, which the
 * verifier checks once each, as it checks bpf_loop's callbacks (a loop of
 * static calls it would walk step by step, and give up on). Before Linux
 * 5.12 a global function takes only numbers and the context, so what the
 * steps share lives here, per CPU. */
struct loop_state {
	struct packet p;
	__u64 candidates;
	__u64 limits;
	__u64 now;
	int verdict;
	__u32 decider;
	__u32 limited_by;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loop_state);
} loop_scratch SEC(".maps");

/* Extension header i, read from the frame itself (walk_step). A walk that
 * cannot find its state stops unfinished: malformed. */
__attribute__((noinline)) int pktf_walk_step(struct xdp_md *ctx, __u32 i)
{
	__u32 zero = 0;
	struct walk_state *w = bpf_map_lookup_elem(&walk_scratch, &zero);

	if (!w)
		return 1;
	return walk_step(i, w, ctx, true);
}

/* Rule i (scan_step). */
__attribute__((noinline)) int pktf_scan_step(__u32 i)
{
	__u32 zero = 0;
	struct loop_state *st = bpf_map_lookup_elem(&loop_scratch, &zero);
	struct scan sc;
	long stop;

	if (!st)
		return 1;
	sc.p = &st->p;
	sc.candidates = st->candidates;
	sc.limits = st->limits;
	sc.verdict = st->verdict;
	sc.decider = st->decider;
	stop = scan_step(i, &sc);
	st->limits = sc.limits;
	st->verdict = sc.verdict;
	st->decider = sc.decider;
	return stop;
}

/* Rate limit i (charge_step), with compare and swap (Linux 5.12) or, in a
 * function of its own, without: 5.10's verifier refuses a program with
 * the instruction anywhere in it, run or not. */
static __always_inline int charge_loop_step(__u32 i, const bool atomic)
{
	__u32 zero = 0;
	struct loop_state *st = bpf_map_lookup_elem(&loop_scratch, &zero);
	struct charge c;
	long stop;

	if (!st)
		return 0;
	c.p = &st->p;
	c.limits = st->limits;
	c.now = st->now;
	c.limited_by = st->limited_by;
	stop = charge_step(i, &c, atomic);
	st->limited_by = c.limited_by;
	return stop;
}

__attribute__((noinline)) int pktf_charge_step(__u32 i)
{
	return charge_loop_step(i, true);
}

__attribute__((noinline)) int pktf_charge_step_plain(__u32 i)
{
	return charge_loop_step(i, false);
}

/* The filter, in three builds: `loops` false, the bpf_loop helper runs
 * each walk (Linux 5.17, and bpf_xdp_load_bytes, 5.18), so the verifier
 * checks one step; true, bounded loops over global functions, for older
 * kernels, `atomic` saying whether rate limits take their budget with
 * compare and swap (5.12). PacketFilter loads one. They decide alike: the
 * differential tests run each against the model. */
static __always_inline int filter_packet(struct xdp_md *ctx, const bool loops, const bool atomic)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	__u32 off = sizeof(struct ethhdr), limit, zero = 0, decider = PKTF_MAX_RULES, total;
	struct ethhdr *eth = data;
	struct packet p = {};
	struct pktf_settings *s;
	__u16 ethertype;
	__u8 ipproto, hop_limit = 0, fragmented = 0;
	int verdict = -1;

	if ((void *)(eth + 1) > end || bytes > 0xffff)
		goto malformed;
	ethertype = bpf_ntohs(eth->h_proto);
	for (int i = 0; i < PKTF_MAX_VLAN_TAGS; i++) {
		struct vlan_hdr *v = data + off;

		if (ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD)
			break;
		if ((void *)(v + 1) > end)
			goto malformed;
		ethertype = bpf_ntohs(v->h_vlan_encapsulated_proto);
		off += sizeof(*v);
	}
	/* More tags than the walk: the kernel would strip them all (VLAN 0)
	 * and deliver what is inside, which the rules never saw. */
	if (ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD)
		goto malformed;

	if (ethertype == ETH_P_ARP) {
		count(&totals, PKTF_TOTAL_EXEMPT, bytes);
		return XDP_PASS;
	}
	if (ethertype == ETH_P_IP) {
		struct iphdr *ip = data + off;
		__u32 hlen, len, frag;

		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
			goto malformed;
		hlen = ip->ihl * 4;
		len = bpf_ntohs(ip->tot_len);
		/* The datagram: its header inside it, itself inside the frame. */
		if (len < hlen || len > bytes - off)
			goto malformed;
		limit = off + len;
		p.family = 4;
		p.src[0] = ip->saddr;
		p.dst[0] = ip->daddr;
		ipproto = ip->protocol;
		frag = bpf_ntohs(ip->frag_off) & 0x1fff;
		off += hlen;
		if (frag) {
			if (ipproto == IPPROTO_TCP && frag == 1)
				goto malformed;
			goto nonfirst_fragment;
		}
		if (ipproto == IPPROTO_AH) {
			__u8 *ah = data + (off & MAX_L4_OFFSET);

			if (off + 2 > limit || (void *)(ah + 2) > end)
				goto malformed;
			ipproto = ah[0];
			off += (ah[1] + 2) * 4;
			if (off > limit)
				goto malformed;
		}
	} else if (ethertype == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = data + off;
		__u32 plen;

		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			goto malformed;
		plen = bpf_ntohs(ip6->payload_len);
		ipproto = ip6->nexthdr;
		hop_limit = ip6->hop_limit;
		off += sizeof(*ip6);
		if (plen) {
			if (plen > bytes - off)
				goto malformed;
			limit = off + plen;
		} else {
			/* 0: a jumbogram (its length in a Hop-by-Hop option),
			 * else nothing follows the header. */
			limit = ipproto == IPPROTO_HOPOPTS_ ? bytes : off;
		}
		p.family = 6;
		__builtin_memcpy(p.src, &ip6->saddr, 16);
		__builtin_memcpy(p.dst, &ip6->daddr, 16);
		{
			struct walk_state *w = bpf_map_lookup_elem(&walk_scratch, &zero);
			struct walk walk = { .xdp = ctx, .w = w };

			if (!w)
				goto malformed;
			w->off = off;
			w->limit = limit;
			w->nh = ipproto;
			w->fragmented = 0;
			w->outcome = WALK_GOING;
			/* bpf_loop: the verifier checks one step, not a chain. */
			if (loops) {
				for (__u32 i = 0; i < PKTF_MAX_EXT_HEADERS + 1; i++)
					if (pktf_walk_step(ctx, i))
						break;
			} else {
				bpf_loop(PKTF_MAX_EXT_HEADERS + 1, walk_extension, &walk, 0);
			}
			if (w->outcome == WALK_MALFORMED)
				goto malformed;
			fragmented = w->fragmented;
			ipproto = w->nh;
			off = w->off;
			if (w->outcome == WALK_LATER_FRAGMENT)
				goto nonfirst_fragment;
			if (w->outcome != WALK_DONE)
				goto malformed;
		}
	} else {
		/* Other ethertypes (LLDP...): the default policy decides. */
		goto decide;
	}

	/* The transport header, inside the datagram. (XDP sees at most a page
	 * of a frame, so an offset past 16 KiB cannot be a real one.) */
	if (off > MAX_L4_OFFSET)
		goto malformed;
	{
		__u8 *l4 = data + (off & MAX_L4_OFFSET);

		if (ipproto == IPPROTO_TCP) {
			__u32 doff;

			if (off + 20 > limit || (void *)(l4 + 20) > end)
				goto malformed;
			doff = l4[12] >> 4;
			if (doff < 5 || off + doff * 4 > limit)
				goto malformed;
			p.sport = ((__u16)l4[0] << 8) | l4[1];
			p.dport = ((__u16)l4[2] << 8) | l4[3];
			p.has_ports = 1;
			p.syn = (l4[13] & 0x12) == 0x02;
		} else if (ipproto == IPPROTO_UDP) {
			if (off + 8 > limit || (void *)(l4 + 8) > end)
				goto malformed;
			p.sport = ((__u16)l4[0] << 8) | l4[1];
			p.dport = ((__u16)l4[2] << 8) | l4[3];
			p.has_ports = 1;
		} else if (ipproto == IPPROTO_ICMP && p.family == 4) {
			if (off + 8 > limit || (void *)(l4 + 8) > end)
				goto malformed;
			p.icmp_type = l4[0];
			p.has_icmp = 1;
		} else if (ipproto == IPPROTO_ICMPV6_ && p.family == 6) {
			if (off + 4 > limit || (void *)(l4 + 4) > end)
				goto malformed;
			p.icmp_type = l4[0];
			p.has_icmp = 1;
			/* Neighbour discovery, as RFC 4861 and RFC 6980 accept it. */
			if (p.icmp_type >= 133 && p.icmp_type <= 137 && l4[1] == 0 && hop_limit == 255 && !fragmented) {
				count(&totals, PKTF_TOTAL_EXEMPT, bytes);
				return XDP_PASS;
			}
		}
	}
nonfirst_fragment:
	if (p.family == 6 && ipproto == IPPROTO_ICMPV6_)
		p.proto = PKTF_PROTO_ICMP;
	else if (p.family == 6 && ipproto == IPPROTO_ICMP)
		p.proto = PROTO_UNNAMEABLE;
	else
		p.proto = ipproto;

	s = bpf_map_lookup_elem(&settings, &zero);
	if (!s)
		goto decide;
	{
		struct scan sc = { .p = &p, .candidates = address_candidates(&p, s), .verdict = -1, .decider = PKTF_MAX_RULES };

		/* bpf_loop: the verifier checks one rule, not 64 unrolled paths;
		 * only as far as the highest candidate (each step is a call). */
		if (loops) {
			struct loop_state *st = bpf_map_lookup_elem(&loop_scratch, &zero);
			__u32 n = bit_length(sc.candidates);

			if (!st)
				goto malformed; /* cannot happen: a per-CPU array's one slot */
			st->p = p;
			st->candidates = sc.candidates;
			st->limits = 0;
			st->verdict = -1;
			st->decider = PKTF_MAX_RULES;
			for (__u32 i = 0; i < PKTF_MAX_RULES && i < n; i++)
				if (pktf_scan_step(i))
					break;
			sc.limits = st->limits;
			sc.verdict = st->verdict;
			sc.decider = st->decider;
		} else {
			bpf_loop(bit_length(sc.candidates), scan_rule, &sc, 0);
		}
		verdict = sc.verdict;
		decider = sc.decider;
		if (verdict != XDP_DROP && sc.limits) {
			struct charge c = { .p = &p, .limits = sc.limits, .now = bpf_ktime_get_ns(), .limited_by = PKTF_MAX_RULES };

			if (loops) {
				struct loop_state *st = bpf_map_lookup_elem(&loop_scratch, &zero);
				__u32 n = bit_length(sc.limits);

				if (!st)
					goto malformed;
				st->limits = sc.limits;
				st->now = c.now;
				st->limited_by = PKTF_MAX_RULES;
				for (__u32 i = 0; i < PKTF_MAX_RULES && i < n; i++)
					if (atomic ? pktf_charge_step(i) : pktf_charge_step_plain(i))
						break;
				c.limited_by = st->limited_by;
			} else {
				bpf_loop(bit_length(sc.limits), charge_limit, &c, 0);
			}
			if (c.limited_by < PKTF_MAX_RULES) {
				count(&rule_stats, c.limited_by, bytes);
				count(&totals, PKTF_TOTAL_LIMITED, bytes);
				return XDP_DROP;
			}
		}
	}
	if (decider < PKTF_MAX_RULES)
		count(&rule_stats, decider, bytes);
decide:
	if (verdict < 0) {
		s = bpf_map_lookup_elem(&settings, &zero);
		verdict = (s && s->default_drop) ? XDP_DROP : XDP_PASS;
	}
	total = verdict == XDP_DROP ? PKTF_TOTAL_DROPPED : PKTF_TOTAL_PASSED;
	count(&totals, total, bytes);
	return verdict;

malformed:
	count(&totals, PKTF_TOTAL_MALFORMED, bytes);
	return XDP_DROP;
}

SEC("xdp")
int pktfilter(struct xdp_md *ctx)
{
	return filter_packet(ctx, false, true);
}

/* Linux 5.12 to 5.17: no bpf_loop or bpf_xdp_load_bytes. */
SEC("xdp")
int pktfilter_512(struct xdp_md *ctx)
{
	return filter_packet(ctx, true, true);
}

/* Linux 5.10 and 5.11: no compare and swap either. */
SEC("xdp")
int pktfilter_510(struct xdp_md *ctx)
{
	return filter_packet(ctx, true, false);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
