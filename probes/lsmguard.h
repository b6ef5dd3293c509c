// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* What execguard and fileguard share: a workload's scope, verdicts, and
 * files named by device and inode, resolved when the rule is added. */
#ifndef SWIFTBPF_LSMGUARD_H
#define SWIFTBPF_LSMGUARD_H

#include "common.h"

enum lsmguard_verdict {
	LSMGUARD_ALLOWED = 0,
	LSMGUARD_DENIED = 1,
	LSMGUARD_WOULD_DENY = 2,  /* audit mode */
};

#define LSMGUARD_LEARNED 8

/* A file or directory as the kernel names it: its superblock's device
 * (the kernel's dev_t: major << 20 | minor) and its inode number. */
struct lsmguard_file {
	__u64 dev;
	__u64 ino;
};

/* Decisions counted in the kernel, per cgroup, verdict and operation
 * (fileguard's enum fileguard_op; 0 for execguard). */
struct lsmguard_count_key {
	__u64 cgroup_id;
	__u8 verdict;
	__u8 op;
	__u8 pad[6];
};

struct lsmguard_config {
	__u8 enforce;       /* 0: audit */
	__u8 scoped;        /* 1: only tasks under the cgroup in `scope` */
	__u8 allow_list;    /* execguard: files no rule allows are denied */
	__u8 pad;
	__u32 self_tgid;    /* the guard's own process: the files it opens
	                     * while learning are named as the kernel sees them */
};

#endif
