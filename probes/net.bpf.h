// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Kernel side of net.h: a socket's flow, and the --netns/--host/--port
 * filter. */
#ifndef SWIFTBPF_NET_BPF_H
#define SWIFTBPF_NET_BPF_H

#include <bpf/bpf_endian.h>
#include "net.h"

#define AF_INET 2
#define AF_INET6 10

const volatile struct net_config net_cfg = {};

static __always_inline __u32 net_inode(struct net *net)
{
	return net ? BPF_CORE_READ(net, ns.inum) : 0;
}

/* A socket's addresses, ports, family and network namespace. */
static __always_inline void sock_flow(struct sock *sk, struct flow *f)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	f->protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	f->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	f->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	f->netns = net_inode(BPF_CORE_READ(sk, __sk_common.skc_net.net));
	f->ifindex = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	/* The destination's type sets how much is read: cast to the field's. */
	if (f->family == AF_INET) {
		BPF_CORE_READ_INTO((__be32 *)f->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__be32 *)f->daddr, sk, __sk_common.skc_daddr);
	} else if (f->family == AF_INET6) {
		BPF_CORE_READ_INTO((struct in6_addr *)f->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)f->daddr, sk, __sk_common.skc_v6_daddr);
	}
}

static __always_inline bool address_is_host(const __u8 *a, __u16 family)
{
	int n = family == AF_INET ? 4 : 16;

	if (family != net_cfg.host_family)
		return false;
	for (int i = 0; i < 16; i++) {
		if (i >= n)
			break;
		if (a[i] != net_cfg.host[i])
			return false;
	}
	return true;
}

static __always_inline bool flow_selected(const struct flow *f)
{
	if (net_cfg.netns && f->netns != net_cfg.netns)
		return false;
	if (net_cfg.port && f->sport != net_cfg.port && f->dport != net_cfg.port)
		return false;
	if (net_cfg.host_family && !address_is_host(f->saddr, f->family) && !address_is_host(f->daddr, f->family))
		return false;
	return true;
}

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define NETWORK_HEADER_UNSET 0xffff

/* The ports and TCP flags of a transport header at `b + at`. */
static __always_inline void transport_fields(const __u8 *b, struct flow *f, __u8 *tcp_flags)
{
	f->sport = (__u16)b[0] << 8 | b[1];
	f->dport = (__u16)b[2] << 8 | b[3];
	if (f->protocol == IPPROTO_TCP)
		*tcp_flags = b[13];
}

/* The flow of the packet whose IPv4 or IPv6 header is at `network`
 * (`eth_protocol` says which): addresses, protocol, TCP or UDP ports (no
 * IPv6 extension headers), and TCP's flags byte. Fields not found stay.
 * Read at once, headers and the start of TCP's or UDP's, where the IP
 * header has no options (hot: the packet tools call this on every hop);
 * else part by part. */
static __always_inline void network_flow(unsigned char *network, __u16 eth_protocol, struct flow *f, __u8 *tcp_flags)
{
	__u8 b[56] = {};
	__u8 t[14] = {};
	bool whole = bpf_probe_read_kernel(b, sizeof(b), network) == 0;
	__u32 ip_length;

	if (eth_protocol == ETH_P_IP) {
		if (!whole && bpf_probe_read_kernel(b, 20, network))
			return;
		if (b[0] >> 4 != 4)
			return;
		ip_length = (b[0] & 0xf) * 4;
		f->family = AF_INET;
		f->protocol = b[9];
		__builtin_memcpy(f->saddr, b + 12, 4);
		__builtin_memcpy(f->daddr, b + 16, 4);
	} else if (eth_protocol == ETH_P_IPV6) {
		if (!whole && bpf_probe_read_kernel(b, 40, network))
			return;
		if (b[0] >> 4 != 6)
			return;
		ip_length = 40;
		f->family = AF_INET6;
		f->protocol = b[6];
		__builtin_memcpy(f->saddr, b + 8, 16);
		__builtin_memcpy(f->daddr, b + 24, 16);
	} else {
		return;
	}
	if (f->protocol != IPPROTO_TCP && f->protocol != IPPROTO_UDP)
		return;
	if (whole && ip_length == 20)
		transport_fields(b + 20, f, tcp_flags);
	else if (whole && ip_length == 40)
		transport_fields(b + 40, f, tcp_flags);
	else if (!bpf_probe_read_kernel(t, f->protocol == IPPROTO_TCP ? 14 : 4, network + ip_length))
		transport_fields(t, f, tcp_flags);
}

/* Whether a shared task filter (-p, -t, -u, -c, --cgroup, --container...)
 * was given: the network tools then show only sockets whose owner passed. */
static __always_inline bool task_filter_given(void)
{
	return filter.pid || filter.tid || filter.uid != (__u32)-1 || filter.use_comm ||
	       filter.use_cgroup || filter.use_workloads;
}

#endif
