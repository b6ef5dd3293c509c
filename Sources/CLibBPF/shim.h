// SPDX-License-Identifier: BSD-2-Clause
#ifndef SWIFTBPF_CLIBBPF_SHIM_H
#define SWIFTBPF_CLIBBPF_SHIM_H

#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>

/* perf_event_open(2) has no libc wrapper, and Swift cannot call the
 * variadic syscall(2). */
static inline int swiftbpf_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd, unsigned long flags)
{
	return (int)syscall(__NR_perf_event_open, attr, pid, cpu, group_fd, flags);
}

/* memfd_create(2), close-on-exec: glibc declares it only with _GNU_SOURCE. */
static inline int swiftbpf_memfd_create(const char *name)
{
	return (int)syscall(__NR_memfd_create, name, 1U /* MFD_CLOEXEC */);
}

/* Enumerator `i` of BTF enum `t` (32 or 64 bits wide): btf.h's accessors
 * are inline functions over structs whose names Swift would confuse with
 * them. Returns the name's string offset. */
static inline __u32 swiftbpf_btf_enumerator(const struct btf_type *t, __u16 i, long long *value)
{
	if (btf_is_enum64(t)) {
		const struct btf_enum64 *e = btf_enum64(t) + i;
		*value = (long long)btf_enum64_value(e);
		return e->name_off;
	}
	const struct btf_enum *e = btf_enum(t) + i;
	*value = btf_kflag(t) ? (long long)e->val : (long long)(__u32)e->val;
	return e->name_off;
}

#endif
