// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* egressguard: what a cgroup's processes may connect and send to, decided
 * at connect(), sendmsg() and the cgroup's egress, with the allow-list in
 * maps (EgressGuard in Swift). */
#ifndef SWIFTBPF_EGRESSGUARD_H
#define SWIFTBPF_EGRESSGUARD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "common.h"

/* Rule slots, and rules that may cover one destination prefix: a
 * destination is checked against at most this many rules, so the
 * decision is a short first-match scan. */
#define EGRESS_MAX_RULES 256
#define EGRESS_MAX_CANDIDATES 32
/* Destination prefixes per family in the tries. */
#define EGRESS_MAX_PREFIXES 4096

enum egress_action {
	EGRESS_ACTION_NONE = 0,  /* a free slot */
	EGRESS_ACTION_ALLOW = 1,
	EGRESS_ACTION_DENY = 2,  /* wins over any allow */
};

enum egress_verdict {
	EGRESS_ALLOWED = 0,
	EGRESS_DENIED = 1,
	EGRESS_WOULD_DENY = 2,   /* audit mode: denied by the policy, let through */
	EGRESS_VERDICTS = 3,
};

enum egress_hook {
	EGRESS_HOOK_CONNECT4 = 0,
	EGRESS_HOOK_CONNECT6 = 1,
	EGRESS_HOOK_SENDMSG4 = 2,
	EGRESS_HOOK_SENDMSG6 = 3,
	EGRESS_HOOK_EGRESS = 4,  /* cgroup_skb/egress: raw and ICMP sockets, and
	                          * source-routed packets of any socket */
	EGRESS_HOOK_SOCKET = 5,  /* cgroup/sock_create: IPPROTO_RAW sockets */
	EGRESS_HOOK_SOCKOPT = 6, /* cgroup/setsockopt: header-writing and
	                          * source-routing options */
	EGRESS_HOOKS = 7,
};

/* A rule: a protocol (0 any; 1 ICMP, which is ICMPv6 (58) for an IPv6
 * prefix; 6 TCP; 17 UDP), a destination port range in host order (0-0:
 * any port), and the destination prefix it was added with (the tries hold
 * the prefix; it is kept here so that another process can list and edit
 * the rules). */
struct egress_rule {
	__u8 action;        /* enum egress_action */
	__u8 proto;
	__u8 family;        /* 4 or 6; 0: any address of either */
	__u8 prefix_len;
	__u16 port_lo, port_hi;
	__u8 addr[16];      /* network order; IPv4 in the first 4 bytes */
};

struct egress_v4_key {
	__u32 prefix_len;
	__u8 addr[4];
};

struct egress_v6_key {
	__u32 prefix_len;
	__u8 addr[16];
};

/* What a trie entry holds: every rule whose prefix contains the entry's
 * prefix (so the longest match is complete), denies first. */
struct egress_candidates {
	__u32 count;
	__u16 rule[EGRESS_MAX_CANDIDATES];
};

struct egress_config {
	__u8 enforce;       /* 0: audit (would-deny, let through) */
	__u8 pad[7];
};

/* Decisions counted in the kernel, per cgroup, verdict and hook. */
struct egress_count_key {
	__u64 cgroup_id;
	__u8 verdict;       /* enum egress_verdict */
	__u8 hook;          /* enum egress_hook */
	__u8 pad[6];
};

struct egress_event {
	struct task_info task;
	__u8 verdict;       /* enum egress_verdict */
	__u8 hook;          /* enum egress_hook */
	__u8 family;        /* 4 or 6 */
	__u8 proto;         /* IP protocol number */
	__u16 port;         /* destination port, host order (0 without one) */
	__u16 pad;
	__s32 rule;         /* the deciding rule's slot; -1: no rule (not allowed) */
	__u8 addr[16];      /* destination, network order */
};

#endif
