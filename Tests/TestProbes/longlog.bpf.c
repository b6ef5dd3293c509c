// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// Rejected by the verifier only after a long straight run of instructions,
// so its log is longer than the library's first log buffer: a kernel
// before 6.4 then keeps the head of the log (ENOSPC), not the reason.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} long_values SEC(".maps");

SEC("raw_tp/sys_enter")
int long_then_unchecked(void *ctx)
{
	__u64 acc = 0, *value;
	__u32 key = 0;

#pragma clang loop unroll(full)
	for (int i = 0; i < 12000; i++)
		acc += bpf_get_prandom_u32();
	value = bpf_map_lookup_elem(&long_values, &key);
	return *value + acc;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
