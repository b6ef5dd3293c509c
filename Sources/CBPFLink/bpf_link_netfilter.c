// SPDX-License-Identifier: BSD-2-Clause
#include "bpf_link_netfilter.h"

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SWIFTBPF_BPF_LINK_CREATE 28
#define SWIFTBPF_BPF_NETFILTER 45

/* The link_create member of union bpf_attr, as Linux 6.4 lays it out for
 * netfilter links. */
struct netfilter_link_create {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint32_t pf;
	uint32_t hooknum;
	int32_t priority;
	uint32_t netfilter_flags;
	uint64_t reserved[10]; /* the rest of union bpf_attr, zeroed */
};

int swiftbpf_netfilter_link_create(int prog_fd, uint32_t pf, uint32_t hooknum, int32_t priority, uint32_t flags)
{
	struct netfilter_link_create attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (uint32_t)prog_fd;
	attr.attach_type = SWIFTBPF_BPF_NETFILTER;
	attr.pf = pf;
	attr.hooknum = hooknum;
	attr.priority = priority;
	attr.netfilter_flags = flags;
	return (int)syscall(SYS_bpf, SWIFTBPF_BPF_LINK_CREATE, &attr, sizeof(attr));
}

int swiftbpf_enter_network_namespace(int fd)
{
	return (int)syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */);
}
