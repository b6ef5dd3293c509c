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

/* The edit lock (EditLock in Swift): a one-slot socket map the programs
 * never read, bound to egress_connect4 so that editors find it. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} edit_lock SEC(".maps");

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

static __always_inline void count(__u64 cgroup_id, __u8 verdict, __u8 hook)
{
	struct egress_count_key key = { .cgroup_id = cgroup_id, .verdict = verdict, .hook = hook };
	__u64 one = 1, *n = bpf_map_lookup_elem(&decisions, &key);

	if (n)
		(*n)++;
	else
		bpf_map_update_elem(&decisions, &key, &one, BPF_NOEXIST);
}

/* Decides, counts, reports; returns the hook's answer (1 let through, 0
 * refuse). `with_task`: the hook runs in the calling process, so its
 * PID, UID and command are the caller's. */
static __always_inline int guard(__u8 hook, __u8 family, const __u8 *addr, __u8 proto, __u16 port,
				 __u64 cgroup_id, int with_task)
{
	__s32 which;
	int action = lookup_action(family, addr, proto, port, &which);
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
	return guard(hook, 4, addr, ctx->protocol, bpf_ntohs((__u16)ctx->user_port), bpf_get_current_cgroup_id(), 1);
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
	return guard(hook, family, addr, ctx->protocol, bpf_ntohs((__u16)ctx->user_port), bpf_get_current_cgroup_id(), 1);
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

/* Packets of sockets no sock_addr hook decides: raw sockets (any
 * protocol, any header they write) and ICMP ("ping") sockets. TCP and UDP
 * sockets were decided at connect() or sendmsg(); packets of no full
 * socket (TCP's own resets and time-wait answers) are the kernel's. */
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
	if ((sk->type == SOCK_STREAM && sk->protocol == IPPROTO_TCP) || (sk->type == SOCK_DGRAM && sk->protocol == IPPROTO_UDP))
		return 1;

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
	return guard(EGRESS_HOOK_EGRESS, family, addr, proto, port, bpf_skb_cgroup_id(skb), 0);
}
