// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The pktfilter command's XDP packet filter (PacketFilter in Swift), whose
 * rules live in BPF maps. */
#ifndef SWIFTBPF_PACKET_FILTER_H
#define SWIFTBPF_PACKET_FILTER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PKTF_MAX_RULES 64

enum pktf_action {
	PKTF_ACTION_PASS = 0,
	PKTF_ACTION_DROP = 1,
};

/* Rule protocols: IP protocol numbers, with ICMP meaning ICMP and ICMPv6. */
enum pktf_proto {
	PKTF_PROTO_ANY = 0,
	PKTF_PROTO_ICMP = 1,
	PKTF_PROTO_TCP = 6,
	PKTF_PROTO_UDP = 17,
};

/* Where decisions are counted (index into `totals`). */
enum pktf_total {
	PKTF_TOTAL_PASSED = 0,      /* by rule or default policy */
	PKTF_TOTAL_DROPPED = 1,     /* by rule or default policy */
	PKTF_TOTAL_MALFORMED = 2,   /* truncated or invalid IP/L4 headers: dropped */
	PKTF_TOTAL_EXEMPT = 3,      /* ARP and IPv6 neighbour discovery: always passed */
	PKTF_TOTALS = 4,
};

/* One rule. Addresses and masks are in network byte order, IPv4 in word 0;
 * an all-zero mask matches any address. Port ranges are inclusive, in host
 * order; 0-65535 matches any port. */
struct pktf_rule {
	__u8 active;
	__u8 action;        /* enum pktf_action */
	__u8 proto;         /* enum pktf_proto */
	__u8 family;        /* 0 any, 4, 6 */
	__u8 match_icmp_type;
	__u8 icmp_type;
	__u16 pad;
	__u16 sport_lo, sport_hi;
	__u16 dport_lo, dport_hi;
	__u32 src[4], src_mask[4];
	__u32 dst[4], dst_mask[4];
};

/* Address matching: per side (source, destination) and family, exact
 * addresses in a hash and prefixes in an LPM trie. Each entry's value is a
 * bitmask of the rules that match an address found there: a trie entry
 * lists every rule whose prefix contains it, so the longest match is
 * complete. Rules without an address on a side are in settings' any_*. */
struct pktf_lpm4_key {
	__u32 prefixlen;
	__u32 addr;
};

struct pktf_lpm6_key {
	__u32 prefixlen;
	__u32 addr[4];
};

struct pktf_addr6 {
	__u32 addr[4];
};

struct pktf_settings {
	__u8 default_drop;  /* 1: deny by default */
	__u8 persistent;    /* 1: attached with --persist (pinned), not by a running process */
	__u8 pad[6];
	__u64 any_src4, any_src6, any_dst4, any_dst6;
};

struct pktf_counter {
	__u64 packets;
	__u64 bytes;
	__u64 last_ns;      /* CLOCK_MONOTONIC of the last hit */
};

#endif
