// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* What the network tools (tcpstates, tcplife, tcpretrans, skbdrop) share:
 * a flow's addresses and where it was seen, and their filters. */
#ifndef SWIFTBPF_NET_H
#define SWIFTBPF_NET_H

#include "common.h"

struct flow {
	__u8 saddr[16];     /* IPv4 in the first 4 bytes, network order */
	__u8 daddr[16];
	__u16 sport;        /* host byte order */
	__u16 dport;
	__u16 family;       /* AF_INET or AF_INET6; 0 when unknown */
	__u8 protocol;      /* IPPROTO_* */
	__u8 pad;
	__u32 netns;        /* the network namespace's inode number */
	__u32 ifindex;      /* 0 when unknown */
};

/* --netns, --host, --port: applied in the kernel. */
struct net_config {
	__u32 netns;        /* 0: any */
	__u16 port;         /* either end; 0: any */
	__u16 host_family;  /* 0: any host */
	__u8 host[16];      /* either end */
};

/* TCP states as /proc/net/tcp numbers them (part of the kernel's ABI). */
enum tcp_state_number {
	TCP_STATE_ESTABLISHED = 1,
	TCP_STATE_SYN_SENT = 2,
	TCP_STATE_SYN_RECV = 3,
	TCP_STATE_FIN_WAIT1 = 4,
	TCP_STATE_FIN_WAIT2 = 5,
	TCP_STATE_CLOSE = 7,
	TCP_STATE_CLOSE_WAIT = 8,
	TCP_STATE_LAST_ACK = 9,
	TCP_STATE_LISTEN = 10,
	TCP_STATE_CLOSING = 11,
};

/* tcpstates: one state change. */
struct tcpstate_event {
	struct task_info task;  /* the socket's owner where known (pid 0 otherwise); ts_ns is the change's */
	struct flow flow;
	__u64 skaddr;
	__u64 in_state_ns;      /* time in the old state; 0 when it began before tracing */
	__s32 oldstate;
	__s32 newstate;
};

/* tcplife: one connection, at its end. */
struct tcplife_event {
	struct task_info task;  /* the owner (pid 0 when never seen in its context) */
	struct flow flow;
	__u64 skaddr;
	__u64 duration_ns;
	__u64 tx_bytes;         /* data sent (each byte once, however often retransmitted) */
	__u64 rx_bytes;         /* data received */
	__u8 passive;           /* accepted, not connected */
	__u8 pad[7];
};

enum tcpretrans_kind {
	TCPRETRANS_RETRANSMIT = 0,
	TCPRETRANS_SENT_RESET = 1,
	TCPRETRANS_RECEIVED_RESET = 2,
};

struct tcpretrans_config {
	__u8 resets;            /* resets sent and received too */
	__u8 pad[7];
};

/* tcpretrans: a retransmitted segment, or a reset. */
struct tcpretrans_event {
	struct task_info task;  /* ts_ns only: these run in softirq or timer context */
	struct flow flow;
	__s32 state;
	__u32 kind;             /* enum tcpretrans_kind */
};

struct skbdrop_config {
	__s64 reason;           /* only this skb_drop_reason; -1: any */
	__s64 consumed;         /* SKB_CONSUMED on this kernel (freed, not dropped); -1: none */
	__u8 summary;           /* count per reason and location instead of events */
	__u8 pad[7];
};

/* skbdrop: a packet freed as dropped. */
struct skbdrop_event {
	struct task_info task;  /* ts_ns only */
	struct flow flow;       /* family 0 when the headers could not be parsed */
	__u64 location;         /* the kernel address that dropped it */
	__u32 reason;           /* enum skb_drop_reason, as this kernel numbers it */
	__u16 eth_protocol;     /* ETH_P_*, host order */
	__u16 pad;
	char ifname[16];        /* the device it was on when dropped, in its namespace */
	__u32 in_ifindex;       /* the device it arrived on (0: sent from this host) */
	__u32 pad2;
};

struct skbdrop_key {
	__u64 location;
	__u32 reason;
	__u32 netns;
};

#ifndef __bpf__
_Static_assert(sizeof(struct flow) == 48, "struct flow layout");
_Static_assert(sizeof(struct net_config) == 24, "struct net_config layout");
#endif

#endif
