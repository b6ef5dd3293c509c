// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// filelife: a file's birth at security_inode_create (reached by both
// open(O_CREAT) and mknod), its death at vfs_unlink, keyed by dentry.
// fentry and kprobe programs of each; the tool loads one set.
#include "common.bpf.h"
#include "filelife.h"

SWIFTBPF_EVENT(filelife_event);

struct birth {
	__u64 ts_ns;
	__u32 pid;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);   /* the dentry's address */
	__type(value, struct birth);
} births SEC(".maps");

static __always_inline int file_born(struct dentry *dentry)
{
	__u64 key = (__u64)dentry;
	struct birth b = {};

	/* The filters pick whose files are followed: their creators. */
	if (!task_selected())
		return 0;
	b.ts_ns = bpf_ktime_get_ns();
	b.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(b.comm, sizeof(b.comm));
	bpf_map_update_elem(&births, &key, &b, BPF_ANY);
	return 0;
}

static __always_inline int file_died(void *ctx, struct dentry *dentry)
{
	__u64 key = (__u64)dentry;
	struct birth *b = bpf_map_lookup_elem(&births, &key);
	const unsigned char *name = NULL;
	struct filelife_event *e;

	if (!b)
		return 0;
	e = reserve_event(sizeof(*e));
	if (e) {
		fill_task(&e->task);
		e->age_ns = e->task.ts_ns - b->ts_ns;
		e->creator_pid = b->pid;
		__builtin_memcpy(e->creator_comm, b->comm, sizeof(e->creator_comm));
		bpf_core_read(&name, sizeof(name), &dentry->d_name.name);
		bpf_probe_read_kernel_str(e->name, sizeof(e->name), name);
		submit_event(e);
	}
	bpf_map_delete_elem(&births, &key);
	return 0;
}

SEC("fentry/security_inode_create")
int BPF_PROG(create_fentry, struct inode *dir, struct dentry *dentry)
{
	return file_born(dentry);
}

SEC("kprobe/security_inode_create")
int BPF_KPROBE(create_kprobe, struct inode *dir, struct dentry *dentry)
{
	return file_born(dentry);
}

/* vfs_unlink(idmap or user namespace, dir, dentry, delegated): the dentry
 * is the third argument since Linux 5.12, the second before (dir, dentry,
 * delegated). User space says which from the kernel's BTF, loads one of
 * the two fentry programs and tells the kprobe which register to read. */
const volatile __u8 unlink_dentry_second = 0;

SEC("fentry/vfs_unlink")
int BPF_PROG(unlink_fentry, void *idmap, struct inode *dir, struct dentry *dentry)
{
	return file_died(ctx, dentry);
}

SEC("fentry/vfs_unlink")
int BPF_PROG(unlink_fentry_before_5_12, struct inode *dir, struct dentry *dentry)
{
	return file_died(ctx, dentry);
}

SEC("kprobe/vfs_unlink")
int BPF_KPROBE(unlink_kprobe, void *arg0, void *arg1, void *arg2)
{
	return file_died(ctx, unlink_dentry_second ? arg1 : arg2);
}
