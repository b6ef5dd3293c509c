// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* A probe that follows swift-bpf's contract and does nothing else: the
 * contract test compiles it as is, and with a map of the contract renamed
 * (-Devents=...), and type-checks a tool's use of its skeleton. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "swiftbpf.bpf.h"

SEC("tracepoint/syscalls/sys_enter_getppid")
int contract_probe(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
