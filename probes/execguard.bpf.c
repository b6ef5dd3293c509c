// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// execguard: each exec in scope is decided by its executable (device and
// inode, whatever the path it was reached by): a deny rule, or, with any
// allow rule, no allow rule, fails execve with EPERM. Every decision is
// sent and counted. BPF-LSM: CONFIG_BPF_LSM and "bpf" in the LSM list.
#include "lsmguard.bpf.h"
#include "execguard.h"

SWIFTBPF_EVENT(exec_decision);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EXECGUARD_MAX_FILES);
	__type(key, struct lsmguard_file);
	__type(value, __u8);    /* enum execguard_action */
} files SEC(".maps");


/* Directories: an executable below one (up to EXECGUARD_MAX_DEPTH levels,
 * by the directories' device and inode, whatever path reaches them) takes
 * its action when no rule names the file itself. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EXECGUARD_MAX_FILES);
	__type(key, struct lsmguard_file);
	__type(value, __u8);    /* enum execguard_action */
} dirs SEC(".maps");

static __always_inline __u8 dir_action(struct dentry *d)
{
	for (int i = 0; i < EXECGUARD_MAX_DEPTH && d; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		struct inode *inode;

		if (parent == d)
			break;
		d = parent;
		inode = BPF_CORE_READ(d, d_inode);
		if (inode) {
			struct lsmguard_file f = {};

			file_of_inode(inode, &f);
			__u8 *a = bpf_map_lookup_elem(&dirs, &f);

			if (a)
				return *a;
		}
	}
	return 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(exec_check, struct linux_binprm *bprm, int ret)
{
	struct lsmguard_file f = {};
	__u8 *action, matched = 0;
	int deny;

	if (ret)
		return ret;     /* another LSM program has refused already */
	if (!in_scope())
		return 0;
	file_of_inode(BPF_CORE_READ(bprm, file, f_inode), &f);
	action = bpf_map_lookup_elem(&files, &f);
	if (action)
		matched = *action;
	else
		matched = dir_action(BPF_CORE_READ(bprm, file, f_path.dentry));
	deny = matched == EXECGUARD_DENY || (guard_cfg.allow_list && matched != EXECGUARD_ALLOW);

	__u32 v = verdict_for(deny);
	count_decision(v, 0);
	struct exec_decision *e = reserve_event(sizeof(*e));

	if (e) {
		fill_task(&e->task);
		e->verdict = v;
		e->action = matched;
		__builtin_memset(e->pad, 0, sizeof(e->pad));
		e->file = f;
		bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
		submit_event(e);
	}
	return v == LSMGUARD_DENIED ? -EPERM : 0;
}

/* Names the files of the rules as the kernel sees them (learn()). */
SEC("lsm/file_open")
int BPF_PROG(exec_learn, struct file *file, int ret)
{
	if (!ret)
		learn(file);
	return ret;
}
