// SPDX-License-Identifier: BSD-2-Clause
/* BPF_LINK_CREATE for a netfilter program (BPF_NETFILTER, Linux 6.4),
 * which Debian's libbpf 1.1 predates: its headers have neither the attach
 * type nor the link's attributes, so the bpf(2) call is made here. */
#ifndef SWIFTBPF_BPF_LINK_NETFILTER_H
#define SWIFTBPF_BPF_LINK_NETFILTER_H

#include <stdint.h>

/* A link of program `prog_fd` (a BPF_PROG_TYPE_NETFILTER program loaded
 * with expected attach type BPF_NETFILTER) at hook `hooknum` of protocol
 * family `pf` (NFPROTO_IPV4 2, NFPROTO_IPV6 10) at `priority`, in the
 * calling thread's network namespace. Returns the link's fd, or -1 with
 * errno set. */
int swiftbpf_netfilter_link_create(int prog_fd, uint32_t pf, uint32_t hooknum, int32_t priority, uint32_t flags);

/* setns(2) into the network namespace `fd` names, for the calling thread
 * (glibc declares setns only with _GNU_SOURCE, which Swift's Glibc module
 * does not set). Returns 0, or -1 with errno set. */
int swiftbpf_enter_network_namespace(int fd);

#endif
