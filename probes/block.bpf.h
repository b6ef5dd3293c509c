// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Kernel side of block.h: a request's disk and flags across kernel
 * versions, and the disk filter. */
#ifndef SWIFTBPF_BLOCK_BPF_H
#define SWIFTBPF_BLOCK_BPF_H

#include "block.h"

const volatile struct block_config block_cfg = {};

/* Before 5.17 a request named its disk directly. */
struct request___pre_5_17 {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline __u32 request_dev(struct request *rq)
{
	struct gendisk *disk;

	if (bpf_core_field_exists(((struct request___pre_5_17 *)rq)->rq_disk))
		disk = BPF_CORE_READ((struct request___pre_5_17 *)rq, rq_disk);
	else
		disk = BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0;
	return (__u32)BPF_CORE_READ(disk, major) << 20 | (__u32)BPF_CORE_READ(disk, first_minor);
}

static __always_inline bool request_selected(struct request *rq)
{
	return !block_cfg.dev || request_dev(rq) == block_cfg.dev;
}

#endif
