// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The disk tools, biolatency and biosnoop: block requests followed from
 * insertion and issue to completion by raw tracepoints (no kprobes). */
#ifndef SWIFTBPF_BLOCK_H
#define SWIFTBPF_BLOCK_H

#include "hist.h"

struct block_config {
	__u32 dev;          /* only this disk (major << 20 | minor); 0: every disk */
	__u8 queued;        /* biolatency -Q: time from insertion, not issue */
	__u8 by_disk;       /* biolatency -D */
	__u8 by_flags;      /* biolatency -F */
	__u8 pad;
};

/* biosnoop: one completed request. */
struct block_event {
	struct task_info task;  /* who queued it (at insertion or issue) */
	__u64 sector;
	__u64 queued_ns;    /* insertion to issue; 0 when it was issued directly */
	__u64 latency_ns;   /* issue to completion */
	__u32 dev;          /* major << 20 | minor */
	__u32 bytes;
	__u32 cmd_flags;    /* operation (low 8 bits) and REQ_* flags */
	__s32 error;        /* blk_status_t; 0 for success */
};

#ifndef __bpf__
_Static_assert(sizeof(struct block_event) == sizeof(struct task_info) + 40, "struct block_event layout");
#endif

#endif
