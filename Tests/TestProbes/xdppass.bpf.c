// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* An XDP program that is not pktfilter: what another tool might attach. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
