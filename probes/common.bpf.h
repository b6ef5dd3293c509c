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

/* Reads a user path into a PATH_BUF-byte buffer. Sets *len to its length
 * without the NUL and *truncated when it filled the buffer; returns how
 * many bytes of the buffer to send (path and NUL), provably bounded. */
#define PATH_BUF 4096
static __always_inline __u32 read_user_path(char *dst, const char *src, __u16 *len, __u8 *truncated)
{
	long n = bpf_probe_read_user_str(dst, PATH_BUF, src);

	if (n <= 0) {
		dst[0] = 0;
		n = 1;
	}
	*truncated = n == PATH_BUF;
	*len = n - 1;
	return ((n - 1) & (PATH_BUF - 1)) + 1;
}

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

static __always_inline __u32 current_ppid(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, real_parent, tgid);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#endif
