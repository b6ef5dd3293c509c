// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The pktfilter command's XDP packet filter (PacketFilter in Swift), whose
 * rules live in BPF maps. */
#ifndef SWIFTBPF_PACKET_FILTER_H
#define SWIFTBPF_PACKET_FILTER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PKTF_MAX_RULES 64
/* The parser's bounds. A frame whose VLAN tags or IPv6 extension headers go
 * on past them cannot be parsed to its end, so it is malformed (dropped and
 * counted), never decided as "no rule matched". Real traffic carries at
 * most two tags and a handful of extension headers. */
#define PKTF_MAX_VLAN_TAGS 4
#define PKTF_MAX_EXT_HEADERS 32
/* Sources followed per rate limit with a budget per source (an LRU map:
 * beyond this, the least recently seen source starts a new budget). */
#define PKTF_LIMIT_SOURCES 65536

enum pktf_action {
	PKTF_ACTION_PASS = 0,
	PKTF_ACTION_DROP = 1,
	PKTF_ACTION_LIMIT = 2,  /* drop what exceeds the rule's rate */
};

/* Rule protocols: IP protocol numbers, with ICMP meaning ICMP (over IPv4)
 * and ICMPv6 (over IPv6). */
enum pktf_proto {
	PKTF_PROTO_ANY = 0,
	PKTF_PROTO_ICMP = 1,
	PKTF_PROTO_TCP = 6,
	PKTF_PROTO_UDP = 17,
};

/* Where decisions are counted (index into `totals`); every packet is
 * counted once. */
enum pktf_total {
	PKTF_TOTAL_PASSED = 0,      /* by rule or default policy */
	PKTF_TOTAL_DROPPED = 1,     /* by a drop rule or the default policy */
	PKTF_TOTAL_MALFORMED = 2,   /* a header the parser cannot finish: dropped; that
	                             * includes more than PKTF_MAX_VLAN_TAGS tags and more
	                             * than PKTF_MAX_EXT_HEADERS IPv6 extension headers */
	PKTF_TOTAL_EXEMPT = 3,      /* ARP and IPv6 neighbour discovery: passed */
	PKTF_TOTAL_LIMITED = 4,     /* over a rate limit: dropped */
	PKTF_TOTALS = 5,
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
	__u8 syn_only;      /* TCP with SYN set and ACK clear */
	__u8 per_source;    /* limit: a budget per source address */
	__u16 sport_lo, sport_hi;
	__u16 dport_lo, dport_hi;
	__u32 src[4], src_mask[4];
	__u32 dst[4], dst_mask[4];
	/* Limits, as a generic cell rate: one packet per interval, bursts of
	 * up to `burst` packets (tolerance = (burst - 1) * interval). */
	__u64 limit_interval_ns;
	__u64 limit_tolerance_ns;
	__u32 limit_pps;
	__u32 limit_burst;
	__u32 generation;   /* new per add: per-source budgets of an old rule do not carry over */
	__u32 pad2;
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

/* A per-source budget: the rule's slot and generation, and the source (an
 * IPv4 address, or an IPv6 /64: words 2 and 3 are 0). */
struct pktf_limit_key {
	__u16 rule;
	__u8 family;
	__u8 pad;
	__u32 generation;
	__u32 addr[4];
};

struct pktf_settings {
	__u8 default_drop;  /* 1: deny by default */
	__u8 persistent;    /* 1: attached with --persist (through netlink), not held by a running process */
	__u8 pad[6];
	__u64 any_src4, any_src6, any_dst4, any_dst6;
};

struct pktf_counter {
	__u64 packets;
	__u64 bytes;
	__u64 last_ns;      /* CLOCK_MONOTONIC of the last hit */
};

#endif
