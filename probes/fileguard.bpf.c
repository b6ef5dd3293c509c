// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// fileguard: protected directories and files, by device and inode. A file
// is under one when it, or a directory above it (up to
// FILEGUARD_MAX_DEPTH), is protected, whatever the path or bind mount it
// is reached by. Writes (an open for writing, a creation, an unlink, a
// rename) fail with EPERM there; with FILEGUARD_ALL, reads too. Every
// decision on a protected file is sent and counted.
#include "lsmguard.bpf.h"
#include "fileguard.h"

SWIFTBPF_EVENT(file_decision);

#define FMODE_WRITE 0x2

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FILEGUARD_MAX_PATHS);
	__type(key, struct lsmguard_file);
	__type(value, __u8);    /* enum fileguard_protection */
} protected SEC(".maps");


/* The protection over a dentry: its own, or the nearest directory's above. */
static __always_inline __u8 protection_of(struct dentry *d, struct lsmguard_file *at)
{
	for (int i = 0; i < FILEGUARD_MAX_DEPTH && d; i++) {
		struct inode *inode = BPF_CORE_READ(d, d_inode);

		if (inode) {
			file_of_inode(inode, at);
			__u8 *p = bpf_map_lookup_elem(&protected, at);

			if (p)
				return *p;
		}
		struct dentry *parent = BPF_CORE_READ(d, d_parent);

		if (parent == d)
			break;
		d = parent;
	}
	return 0;
}

static __always_inline int decide(void *ctx, struct dentry *d, struct dentry *named, __u8 op)
{
	struct lsmguard_file at = {};
	__u8 protection;

	if (!in_scope())
		return 0;
	protection = protection_of(d, &at);
	if (!protection)
		return 0;
	int deny = op != FILEGUARD_OPEN_READ || protection == FILEGUARD_ALL;
	__u32 v = verdict_for(deny);
	count_decision(v, op);
	struct file_decision *e = reserve_event(sizeof(*e));

	if (e) {
		fill_task(&e->task);
		e->verdict = v;
		e->op = op;
		e->protection = protection;
		__builtin_memset(e->pad, 0, sizeof(e->pad));
		e->protected_path = at;
		bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(named, d_name.name));
		submit_event(e);
	}
	return v == LSMGUARD_DENIED ? -EPERM : 0;
}

SEC("lsm/file_open")
int BPF_PROG(file_open_check, struct file *file, int ret)
{
	if (ret)
		return ret;
	learn(file);
	__u32 mode = BPF_CORE_READ(file, f_mode);
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);

	return decide(ctx, d, d, mode & FMODE_WRITE ? FILEGUARD_OPEN_WRITE : FILEGUARD_OPEN_READ);
}

/* A new file (open with O_CREAT, creat): decided by the directory it would be in. */
SEC("lsm/inode_create")
int BPF_PROG(inode_create_check, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return decide(ctx, BPF_CORE_READ(dentry, d_parent), dentry, FILEGUARD_CREATE);
}

SEC("lsm/path_unlink")
int BPF_PROG(path_unlink_check, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return decide(ctx, dentry, dentry, FILEGUARD_UNLINK);
}

SEC("lsm/path_rename")
int BPF_PROG(path_rename_check, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	int r;

	if (ret)
		return ret;
	r = decide(ctx, old_dentry, old_dentry, FILEGUARD_RENAME);
	if (r)
		return r;
	return decide(ctx, BPF_CORE_READ(new_dir, dentry), new_dentry, FILEGUARD_RENAME);
}
