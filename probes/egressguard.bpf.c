// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// egressguard: an allow-list of destinations for one cgroup's processes.
// connect() and sendmsg() are decided at the cgroup's sock_addr hooks (a
// denied call fails with EPERM in the caller); the cgroup's egress decides
// what no such hook sees, raw and ICMP sockets (a denied packet is
// dropped, and its send fails with EPERM). Every decision is counted in
// `decisions` and sent as an event.
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "egressguard.h"

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define SOCK_STREAM 1
#define SOCK_DGRAM 2

const volatile struct egress_config guard_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EGRESS_MAX_RULES);
	__type(key, __u32);
	__type(value, struct egress_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, EGRESS_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct egress_v4_key);
	__type(value, struct egress_candidates);
} dest4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, EGRESS_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct egress_v6_key);
	__type(value, struct egress_candidates);
} dest6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct egress_count_key);
	__type(value, __u64);
} decisions SEC(".maps");

/* Bound to egress_connect4 so that editors find it. */
#include "edit_lock.bpf.h"

SWIFTBPF_EVENT(egress_event);

/* The first rule among the candidates that matches decides (denies come
 * first); none: not allowed. */
static __always_inline int first_match(const struct egress_candidates *c, __u8 family, __u8 proto, __u16 port, __s32 *which)
{
	*which = -1;
	if (!c)
		return EGRESS_ACTION_NONE;
	for (int i = 0; i < EGRESS_MAX_CANDIDATES; i++) {
		if (i >= c->count)
			break;
		__u32 k = c->rule[i];
		struct egress_rule *r = bpf_map_lookup_elem(&rules, &k);

		if (!r || r->action == EGRESS_ACTION_NONE)
			continue;
		/* A rule's ICMP is ICMPv6 for an IPv6 destination. */
		__u8 want = r->proto == IPPROTO_ICMP && family == 6 ? 58 /* IPPROTO_ICMPV6 */ : r->proto;

		if (want && want != proto)
			continue;
		if ((r->port_lo || r->port_hi) && (port < r->port_lo || port > r->port_hi))
			continue;
		*which = k;
		return r->action;
	}
	return EGRESS_ACTION_NONE;
}

static __always_inline int lookup_action(__u8 family, const __u8 *addr, __u8 proto, __u16 port, __s32 *which)
{
	if (family == 4) {
		struct egress_v4_key k = { .prefix_len = 32 };

		__builtin_memcpy(k.addr, addr, 4);
		return first_match(bpf_map_lookup_elem(&dest4, &k), 4, proto, port, which);
	}
	struct egress_v6_key k = { .prefix_len = 128 };

	__builtin_memcpy(k.addr, addr, 16);
	return first_match(bpf_map_lookup_elem(&dest6, &k), 6, proto, port, which);
}

/* Decisions the full `decisions` map could not take (a workload that makes
 * cgroups by the thousand): counted here, never lost silently. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} uncounted SEC(".maps");

static __always_inline void count(__u64 cgroup_id, __u8 verdict, __u8 hook)
{
	struct egress_count_key key = { .cgroup_id = cgroup_id, .verdict = verdict, .hook = hook };
	__u64 one = 1, *n = bpf_map_lookup_elem(&decisions, &key);
	__u32 zero = 0;

	if (n) {
		(*n)++;
	} else if (bpf_map_update_elem(&decisions, &key, &one, BPF_NOEXIST) && bpf_map_update_elem(&decisions, &key, &one, BPF_ANY)) {
		__u64 *u = bpf_map_lookup_elem(&uncounted, &zero);

		if (u)
			(*u)++;
	}
}

/* Reports and counts a decision already made; returns the hook's answer
 * (1 let through, 0 refuse). `with_task`: the hook runs in the calling
 * process, so its PID, UID and command are the caller's. */
static __always_inline int report(void *ctx, __u8 hook, __u8 family, const __u8 *addr, __u8 proto, __u16 port,
				  __u64 cgroup_id, int with_task, int action, __s32 which)
{
	__u8 verdict = EGRESS_ALLOWED;

	if (action != EGRESS_ACTION_ALLOW)
		verdict = guard_cfg.enforce ? EGRESS_DENIED : EGRESS_WOULD_DENY;
	count(cgroup_id, verdict, hook);

	struct egress_event *e = reserve_event(sizeof(*e));

	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->task.ts_ns = bpf_ktime_get_ns();
		e->task.cgroup_id = cgroup_id;
		if (with_task) {
			__u64 pid_tgid = bpf_get_current_pid_tgid();

			e->task.pid = pid_tgid >> 32;
			e->task.tid = (__u32)pid_tgid;
			e->task.uid = (__u32)bpf_get_current_uid_gid();
			bpf_get_current_comm(e->task.comm, sizeof(e->task.comm));
		}
		e->verdict = verdict;
		e->hook = hook;
		e->family = family;
		e->proto = proto;
		e->port = port;
		e->rule = which;
		__builtin_memcpy(e->addr, addr, 16);
		submit_event(e);
	}
	return verdict == EGRESS_DENIED ? 0 : 1;
}

/* Decides by the rules, counts, reports. */
static __always_inline int guard(void *ctx, __u8 hook, __u8 family, const __u8 *addr, __u8 proto, __u16 port,
				 __u64 cgroup_id, int with_task)
{
	__s32 which;
	int action = lookup_action(family, addr, proto, port, &which);

	return report(ctx, hook, family, addr, proto, port, cgroup_id, with_task, action, which);
}

/* ::ffff:a.b.c.d, a dual-stack socket's way to an IPv4 address: decided
 * by the IPv4 rules. */
static __always_inline int v4_mapped(const __u32 *ip6)
{
	return ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0xffff);
}

static __always_inline int sock_addr4(struct bpf_sock_addr *ctx, __u8 hook)
{
	__u8 addr[16] = {};
	__u32 ip = ctx->user_ip4;

	__builtin_memcpy(addr, &ip, 4);
	return guard(ctx, hook, 4, addr, ctx->protocol, bpf_ntohs((__u16)ctx->user_port), bpf_get_current_cgroup_id(), 1);
}

static __always_inline int sock_addr6(struct bpf_sock_addr *ctx, __u8 hook)
{
	__u32 ip6[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };
	__u8 addr[16] = {};
	__u8 family = 6;

	if (v4_mapped(ip6)) {
		__builtin_memcpy(addr, &ip6[3], 4);
		family = 4;
	} else {
		__builtin_memcpy(addr, ip6, 16);
	}
	return guard(ctx, hook, family, addr, ctx->protocol, bpf_ntohs((__u16)ctx->user_port), bpf_get_current_cgroup_id(), 1);
}

SEC("cgroup/connect4")
int egress_connect4(struct bpf_sock_addr *ctx)
{
	return sock_addr4(ctx, EGRESS_HOOK_CONNECT4);
}

SEC("cgroup/connect6")
int egress_connect6(struct bpf_sock_addr *ctx)
{
	return sock_addr6(ctx, EGRESS_HOOK_CONNECT6);
}

SEC("cgroup/sendmsg4")
int egress_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_addr4(ctx, EGRESS_HOOK_SENDMSG4);
}

SEC("cgroup/sendmsg6")
int egress_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_addr6(ctx, EGRESS_HOOK_SENDMSG6);
}

/* Whether an IPv6 packet carries a routing header within its first
 * extension headers (the header's destination is then only the next
 * hop). */
static __always_inline int routed6(struct __sk_buff *skb, __u8 next)
{
	__u32 off = 40;

	for (int i = 0; i < 4; i++) {
		__u8 ext[2];

		if (next == 43)
			return 1;
		if (next != 0 && next != 60 && next != 51)
			return 0;
		if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)))
			return 1;   /* unreadable: treated as routed */
		off += next == 51 ? (ext[1] + 2) * 4 : (ext[1] + 1) * 8;
		next = ext[0];
	}
	return 1;   /* deeper than looked at: treated as routed */
}

/* Packets of sockets no sock_addr hook decides: raw sockets (any
 * protocol, any header they write) and ICMP ("ping") sockets. TCP and UDP
 * sockets were decided at connect() or sendmsg(), except for source
 * routing: a packet with IPv4 options (LSRR and SSRR, set by IP_OPTIONS or
 * an IP_RETOPTS message) or an IPv6 routing header goes first where the
 * header says, not where connect() or sendmsg() were told, so those are
 * denied outright. Packets of no full socket (TCP's own resets and
 * time-wait answers) are the kernel's. */
SEC("cgroup_skb/egress")
int egress_packet(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u8 addr[16] = {};
	__u8 family, proto;
	__u16 port = 0;
	__u32 l4;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	if ((sk->type == SOCK_STREAM && sk->protocol == IPPROTO_TCP) || (sk->type == SOCK_DGRAM && sk->protocol == IPPROTO_UDP)) {
		if (skb->protocol == bpf_htons(ETH_P_IP)) {
			struct iphdr ip;

			if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.ihl == 5)
				return 1;
			__builtin_memcpy(addr, &ip.daddr, 4);
			return report(skb, EGRESS_HOOK_EGRESS, 4, addr, ip.protocol, 0, bpf_skb_cgroup_id(skb), 0, EGRESS_ACTION_NONE, -1);
		}
		if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
			struct ipv6hdr ip6;

			if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) || !routed6(skb, ip6.nexthdr))
				return 1;
			__builtin_memcpy(addr, &ip6.daddr, 16);
			return report(skb, EGRESS_HOOK_EGRESS, 6, addr, 43, 0, bpf_skb_cgroup_id(skb), 0, EGRESS_ACTION_NONE, -1);
		}
		return 1;
	}

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return guard_cfg.enforce ? 0 : 1;
		family = 4;
		proto = ip.protocol;
		__builtin_memcpy(addr, &ip.daddr, 4);
		l4 = ip.ihl * 4;
		/* Later fragments carry no ports. */
		if (ip.frag_off & bpf_htons(0x1fff))
			l4 = 0;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return guard_cfg.enforce ? 0 : 1;
		family = 6;
		/* The first header's protocol: a packet whose first header is an
		 * extension header is matched as that (only "any" allows it). */
		proto = ip6.nexthdr;
		__builtin_memcpy(addr, &ip6.daddr, 16);
		l4 = sizeof(ip6);
	} else {
		return 1;
	}
	if (l4 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP)) {
		__be16 dport;

		if (bpf_skb_load_bytes(skb, l4 + 2, &dport, sizeof(dport)) == 0)
			port = bpf_ntohs(dport);
	}
	return guard(skb, EGRESS_HOOK_EGRESS, family, addr, proto, port, bpf_skb_cgroup_id(skb), 0);
}

/* IPPROTO_RAW sockets write every header themselves (IP_HDRINCL), and
 * where a send goes is then the address given to it, whatever the header
 * says: refused, unless a rule allows `any` everywhere. */
SEC("cgroup/sock_create")
int egress_socket(struct bpf_sock *sk)
{
	__u8 addr[16] = {};
	__s32 which;

	if (sk->type != 3 /* SOCK_RAW */ || sk->protocol != 255 /* IPPROTO_RAW */)
		return 1;
	int action = lookup_action(sk->family == AF_INET6 ? 6 : 4, addr, 0, 0, &which);

	return report(sk, EGRESS_HOOK_SOCKET, sk->family == AF_INET6 ? 6 : 4, addr, 255, 0, bpf_get_current_cgroup_id(), 1,
		      action == EGRESS_ACTION_ALLOW && which >= 0 ? action : EGRESS_ACTION_NONE, which);
}

/* Whether setsockopt programs may ask who the caller is (the task helpers
 * came to them after Linux 5.10): user space probes the kernel. */
const volatile __u8 sockopt_knows_task = 1;

/* Options that write the IP header (IP_HDRINCL, IPV6_HDRINCL) or route at
 * the source (IP_OPTIONS, IPV6_RTHDR): refused, EPERM in setsockopt(). */
SEC("cgroup/setsockopt")
int egress_sockopt(struct bpf_sockopt *ctx)
{
	__u8 addr[16] = {};
	/* Each field read once, straight from the context (the verifier
	 * refuses a load through a pointer derived from it). */
	int level = ctx->level;
	barrier_var(level);
	int optname = ctx->optname;
	barrier_var(optname);
	int optlen = ctx->optlen;
	barrier_var(optlen);
	int bad = (level == 0 /* SOL_IP */ && (optname == 3 || optname == 4)) ||
		  (level == 41 /* SOL_IPV6 */ && (optname == 57 || optname == 36 || optname == 5));

	if (!bad) {
		/* Past a page the program sees part of the value: 0 says "use
		 * the caller's", which older kernels need said. */
		if (optlen > 4096)
			ctx->optlen = 0;
		return 1;
	}
	return report(ctx, EGRESS_HOOK_SOCKOPT, level == 41 ? 6 : 4, addr, 0, (__u16)optname, bpf_get_current_cgroup_id(), sockopt_knows_task,
		      EGRESS_ACTION_NONE, -1);
}
