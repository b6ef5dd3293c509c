// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* pktjourney: the hops of packets through a node, without kprobes: device
 * tracepoints (receive, transmit, free, delivery to a socket), the route
 * lookup, and BPF netfilter programs at each hook, before and after
 * conntrack and NAT; and, where the kernel has kprobes and ip_vs is
 * loaded, the hop where IPVS sends a packet to a real server. User space
 * joins a packet's hops by its skb. */
#ifndef SWIFTBPF_PKTJOURNEY_H
#define SWIFTBPF_PKTJOURNEY_H

#include "net.h"

enum journey_point {
	JOURNEY_RX = 0,           /* a device received it (net:netif_receive_skb) */
	JOURNEY_PREROUTING = 1,   /* netfilter hooks: NF_INET_* + 1 */
	JOURNEY_INPUT = 2,
	JOURNEY_FORWARD = 3,
	JOURNEY_OUTPUT = 4,
	JOURNEY_POSTROUTING = 5,
	JOURNEY_ROUTE = 6,        /* fib:fib_table_lookup or fib6:fib6_table_lookup, on the CPU that carried it */
	JOURNEY_TX = 7,           /* a device sent it (net:net_dev_xmit) */
	JOURNEY_DROP = 8,         /* skb:kfree_skb */
	JOURNEY_DELIVER = 9,      /* copied to a socket's reader (skb:skb_copy_datagram_iovec) */
	JOURNEY_FREE = 10,        /* freed after use (skb:consume_skb): the journey's end */
	JOURNEY_IPVS = 11,        /* IPVS sent it to a real server (ip_vs_nat_xmit, a kprobe) */
};

/* A netfilter hop's place: the first program at the hook, or the last. */
enum journey_side {
	JOURNEY_BEFORE = 0,       /* before conntrack, NAT and the tables */
	JOURNEY_AFTER = 1,        /* after them: the packet as the hook let it go */
};

/* ip_conntrack_info, as skb->_nfct's low bits carry it. */
enum journey_ct {
	JOURNEY_CT_NONE = 0xff,
};

struct journey_config {
	__u8 proto;               /* IPPROTO_*; 0: any */
	__u8 netns_set;           /* 1: start only in the namespaces of journey_netns (--pod, --container) */
	__u8 pad[2];
	__u32 max_journeys;       /* packets followed at once (the map's size) */
};

/* A packet followed (the journeys map, by skb): its journey's number, and
 * its data's address. */
struct journey_entry {
	__u64 number;
	__u64 head;
	__u8 last_point;          /* enum journey_point */
	__u8 pad[3];
	__u32 last_ifindex;       /* the device of its last hop */
	__u64 sk;                 /* the socket it carried as it started */
	__u32 ident;              /* packet_ident() at its last hop; 0: unknown */
	__u32 pad2;
	__u64 fingerprint[2];     /* packet_fingerprint() as it started */
};

/* The packet a CPU carried last (per CPU), for the route lookup after it. */
struct last_packet {
	__u64 skb;
	__u64 journey;
	__u8 daddr[16];           /* its destination (IPv4 in the first 4 bytes) */
	__u16 family;             /* AF_INET or AF_INET6 */
	__u16 pad[3];
};

/* One hop of one packet. */
struct journey_hop {
	struct task_info task;    /* ts_ns; the reader's pid and comm for deliver */
	__u64 skb;                /* the packet's skb: its hops share it */
	__u64 journey;            /* the journey's number (its first hop's time) */
	struct flow flow;         /* the headers at this hop (netns, ifindex: where) */
	__u8 point;               /* enum journey_point */
	__u8 side;                /* enum journey_side, for netfilter hops */
	__u8 ct_info;             /* enum ip_conntrack_info, or JOURNEY_CT_NONE */
	__u8 nat;                 /* IPS_SRC_NAT (1) | IPS_DST_NAT (2) on its connection */
	__u32 out_ifindex;        /* netfilter: the output device; route: the chosen one */
	__u32 reason;             /* drop: enum skb_drop_reason */
	__u32 table;              /* route: the table looked up */
	__u64 location;           /* drop: where in the kernel */
	__u8 orig_src[16];        /* conntrack's original tuple */
	__u8 orig_dst[16];        /* (IPVS: the virtual service) */
	__u8 reply_src[16];       /* and its reply tuple (the translation shows here; IPVS: the real server) */
	__u8 reply_dst[16];
	__u16 orig_sport;
	__u16 orig_dport;
	__u16 reply_sport;
	__u16 reply_dport;
	__u32 gateway;            /* route: the IPv4 next hop, 0 for none */
	__u8 gateway6[16];        /* route: the IPv6 next hop, zeros for none */
	__u8 tcp_flags;           /* TCP's flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16) */
	__u8 pad1[3];
	char ifname[16];          /* the device, in its namespace */
};

#ifndef __bpf__
_Static_assert(sizeof(struct journey_hop) % 8 == 0, "struct journey_hop layout");
#endif

#endif
