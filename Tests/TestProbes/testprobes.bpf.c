// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// Probes for the library's own tests: one program per attach kind, and
// maps of each type the typed map API covers.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "testprobes.h"

const volatile struct test_config test_cfg = {};
/* Written by the uretprobe: the last return value it saw. */
__s64 last_return = -1;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct test_sample);
} samples SEC(".maps");

/* Churned by a test while it iterates. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} percpu_hash SEC(".maps");

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == test_cfg.target_pid;
}

static __always_inline void bump(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&counters, &which);

	if (n)
		*n += 1;
}

SEC("uprobe")
int BPF_KPROBE(getpriority_entry, int which, int who)
{
	if (is_target())
		bump(COUNTER_UPROBE);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(getpriority_return, int ret)
{
	if (is_target()) {
		bump(COUNTER_URETPROBE);
		last_return = ret;
	}
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(syscall_entry, struct pt_regs *regs, long id)
{
	if (is_target() && id == test_cfg.target_syscall)
		bump(COUNTER_RAW_TP);
	return 0;
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(unlink_entry)
{
	if (is_target())
		bump(COUNTER_KPROBE);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
