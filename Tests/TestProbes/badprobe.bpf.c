// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// Deliberately rejected by the verifier: a map value is used without the
// NULL check the verifier insists on. Tests the verifier-log error path.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int unchecked_lookup(void *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&values, &key);

	return *value == 42;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
