// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Kernel-side support every bundled probe shares: swift-bpf's public probe
 * contract (swiftbpf.bpf.h: ring buffer, lost counter, filters) and the
 * bundled tools' own helpers. */
#ifndef SWIFTBPF_COMMON_BPF_H
#define SWIFTBPF_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "common.h"
#include "swiftbpf.bpf.h"

/* Log2 histogram slot of a value (0 for 0 and 1). */
static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	for (int i = 0; i < 64 && v > 1; i++) {
		v >>= 1;
		slot++;
	}
	return slot;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#endif
