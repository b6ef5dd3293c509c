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

/* The flow of the packet whose IPv4 or IPv6 header is at `network`
 * (`eth_protocol` says which): addresses, protocol, TCP or UDP ports (no
 * IPv6 extension headers), and TCP's flags byte. Fields not found stay. */
static __always_inline void network_flow(unsigned char *network, __u16 eth_protocol, struct flow *f, __u8 *tcp_flags)
{
	__u16 ports[2] = {};
	unsigned char *transport;

	if (eth_protocol == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), network) || ip.version != 4)
			return;
		f->family = AF_INET;
		f->protocol = ip.protocol;
		__builtin_memcpy(f->saddr, &ip.saddr, 4);
		__builtin_memcpy(f->daddr, &ip.daddr, 4);
		transport = network + ip.ihl * 4;
	} else if (eth_protocol == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), network) || ip6.version != 6)
			return;
		f->family = AF_INET6;
		f->protocol = ip6.nexthdr;
		__builtin_memcpy(f->saddr, &ip6.saddr, 16);
		__builtin_memcpy(f->daddr, &ip6.daddr, 16);
		transport = network + sizeof(ip6);
	} else {
		return;
	}
	if (f->protocol == IPPROTO_TCP || f->protocol == IPPROTO_UDP) {
		bpf_probe_read_kernel(ports, sizeof(ports), transport);
		f->sport = bpf_ntohs(ports[0]);
		f->dport = bpf_ntohs(ports[1]);
	}
	if (f->protocol == IPPROTO_TCP)
		bpf_probe_read_kernel(tcp_flags, 1, transport + 13);
}

/* Whether a shared task filter (-p, -t, -u, -c, --cgroup, --container...)
 * was given: the network tools then show only sockets whose owner passed. */
static __always_inline bool task_filter_given(void)
{
	return filter.pid || filter.tid || filter.uid != (__u32)-1 || filter.use_comm ||
	       filter.use_cgroup || filter.use_workloads;
}

#endif
