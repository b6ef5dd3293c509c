// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* The scope and the task block execguard and fileguard share. */
#ifndef SWIFTBPF_LSMGUARD_BPF_H
#define SWIFTBPF_LSMGUARD_BPF_H

#include "common.bpf.h"
#include "lsmguard.h"

#define EPERM 1

const volatile struct lsmguard_config guard_cfg = {};

/* Slot 0: the workload's cgroup v2 directory, when scoped. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scope SEC(".maps");

static __always_inline int in_scope(void)
{
	return !guard_cfg.scoped || bpf_current_task_under_cgroup(&scope, 0) == 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lsmguard_count_key);
	__type(value, __u64);
} decisions SEC(".maps");

static __always_inline void count_decision(__u8 verdict, __u8 op)
{
	struct lsmguard_count_key key = { .cgroup_id = bpf_get_current_cgroup_id(), .verdict = verdict, .op = op };
	__u64 one = 1, *n = bpf_map_lookup_elem(&decisions, &key);

	if (n)
		(*n)++;
	else
		bpf_map_update_elem(&decisions, &key, &one, BPF_NOEXIST);
}

static __always_inline __u8 verdict_for(int deny)
{
	if (!deny)
		return LSMGUARD_ALLOWED;
	return guard_cfg.enforce ? LSMGUARD_DENIED : LSMGUARD_WOULD_DENY;
}

static __always_inline void file_of_inode(struct inode *inode, struct lsmguard_file *f)
{
	f->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	f->ino = BPF_CORE_READ(inode, i_ino);
}

/* Rules name files as the kernel sees them, not as stat(2) reports them:
 * on a stacked filesystem (overlayfs over 9p, say) one open is the
 * overlay's file and then each layer's real file, with devices stat(2)
 * shows none of. While `learning` holds 1, every file the guard's own
 * process opens is appended to `learned` (LSMGUARD_LEARNED at most per
 * path), where user space reads them after its open(2). */


struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LSMGUARD_LEARNED);
	__type(key, __u32);
	__type(value, struct lsmguard_file);
} learned SEC(".maps");

/* Slot 0: 1 while learning; slot 1: how many files were learned. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} learning SEC(".maps");

static __always_inline void learn(struct file *file)
{
	__u32 zero = 0, one = 1, *on = bpf_map_lookup_elem(&learning, &zero), *n = bpf_map_lookup_elem(&learning, &one);

	if (!on || !n || !*on || (bpf_get_current_pid_tgid() >> 32) != guard_cfg.self_tgid)
		return;
	__u32 i = *n;

	if (i >= LSMGUARD_LEARNED)
		return;
	struct lsmguard_file f = {};

	file_of_inode(BPF_CORE_READ(file, f_inode), &f);
	bpf_map_update_elem(&learned, &i, &f, BPF_ANY);
	*n = i + 1;
}

#endif
