// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// vfsstat: counts vfs_read, vfs_write, vfs_fsync_range, vfs_open,
// vfs_create and vfs_mkdir. Syncs are counted at vfs_fsync_range: the
// compiler inlines vfs_fsync into fsync(2) (Debian's 6.1), so a probe on
// it sees nothing, while every fsync, fdatasync and O_SYNC write reaches
// vfs_fsync_range. Each function has an fentry program (BPF trampoline, cheaper)
// and a kprobe program; the tool loads one set, chosen at run time.
#include "common.bpf.h"
#include "vfsstat.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VFSSTAT_OPS);
	__type(key, __u32);
	__type(value, __u64);
} vfs_counts SEC(".maps");

static __always_inline int count_op(__u32 op)
{
	__u64 *n;

	if (!task_selected())
		return 0;
	n = bpf_map_lookup_elem(&vfs_counts, &op);
	if (n)
		*n += 1; /* per-CPU slot */
	return 0;
}

#define VFSSTAT_PROBES(func, op) \
	SEC("fentry/" #func) int BPF_PROG(func##_fentry) { return count_op(op); } \
	SEC("kprobe/" #func) int BPF_KPROBE(func##_kprobe) { return count_op(op); }

VFSSTAT_PROBES(vfs_read, VFSSTAT_READ)
VFSSTAT_PROBES(vfs_write, VFSSTAT_WRITE)
VFSSTAT_PROBES(vfs_fsync_range, VFSSTAT_FSYNC)
VFSSTAT_PROBES(vfs_open, VFSSTAT_OPEN)
VFSSTAT_PROBES(vfs_create, VFSSTAT_CREATE)
VFSSTAT_PROBES(vfs_mkdir, VFSSTAT_MKDIR)
