// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// Probes for the kernel lane (a kernel with kprobes, booted under qemu):
// every kernel-function attach kind on one function, counted per kind.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "testprobes.h"

const volatile __u32 lane_target_pid = 0;
/* The last return value each exit probe saw. */
__s64 kretprobe_last = 1;
__s64 fexit_last = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LANE_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lane_counters SEC(".maps");

static __always_inline bool lane_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == lane_target_pid;
}

static __always_inline void lane_bump(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&lane_counters, &which);

	if (n)
		__atomic_fetch_add(n, 1, __ATOMIC_RELAXED); /* lock-add: Linux 5.10 has no fetching form */
}

/* Attached by hand, at the function or at an offset into it. */
SEC("kprobe")
int BPF_KPROBE(mkdir_kprobe)
{
	if (lane_target())
		lane_bump(LANE_KPROBE);
	return 0;
}

/* Attached by hand at an offset. */
SEC("kprobe")
int BPF_KPROBE(mkdir_kprobe_offset)
{
	if (lane_target())
		lane_bump(LANE_KPROBE_OFFSET);
	return 0;
}

SEC("kretprobe/vfs_mkdir")
int BPF_KRETPROBE(mkdir_kretprobe, long ret)
{
	if (lane_target()) {
		lane_bump(LANE_KRETPROBE);
		kretprobe_last = ret;
	}
	return 0;
}

/* vfs_mkdir has four arguments on 5.12+ (an idmap or user namespace
 * first); its result comes after them. Only the count and result matter. */
SEC("fentry/vfs_mkdir")
int BPF_PROG(mkdir_fentry)
{
	if (lane_target())
		lane_bump(LANE_FENTRY);
	return 0;
}

SEC("fexit/vfs_mkdir")
int BPF_PROG(mkdir_fexit, void *idmap, void *dir, void *dentry, unsigned short mode, long ret)
{
	if (lane_target()) {
		lane_bump(LANE_FEXIT);
		fexit_last = ret;
	}
	return 0;
}

/* Before Linux 5.12 vfs_mkdir had no namespace argument: (dir, dentry, mode). */
SEC("fexit/vfs_mkdir")
int BPF_PROG(mkdir_fexit_before_5_12, void *dir, void *dentry, unsigned short mode, long ret)
{
	if (lane_target()) {
		lane_bump(LANE_FEXIT);
		fexit_last = ret;
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
