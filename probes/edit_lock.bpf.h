// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* An edit lock that lives in a loaded object (EditLock in Swift): a
 * one-slot socket map. An editor inserts a socket of its own with
 * BPF_NOEXIST to take it; the kernel removes the entry when that socket
 * closes, however its process ends. Only a process that may open this map
 * (CAP_SYS_ADMIN, as editing needs) can take it. The programs never read
 * it; user space binds it to a program (BPF_PROG_BIND_MAP) so that editors
 * find it with the other maps. */
#ifndef SWIFTBPF_EDIT_LOCK_BPF_H
#define SWIFTBPF_EDIT_LOCK_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} edit_lock SEC(".maps");

#endif
