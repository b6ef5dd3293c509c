// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* tcpstates and tcplife: who owns a socket. Most state changes run in
 * softirq context, where the current task is whoever was interrupted. A
 * few run in the owner's own system call: connect() (SYN_SENT), listen()
 * (LISTEN), and close() (FIN_WAIT1 for an active close, LAST_ACK for a
 * passive one). The owner is recorded at those. */
#ifndef SWIFTBPF_TCP_BPF_H
#define SWIFTBPF_TCP_BPF_H

#include "net.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct task_info);
} sock_owners SEC(".maps");

static __always_inline bool state_set_by_owner(int newstate)
{
	return newstate == TCP_STATE_SYN_SENT || newstate == TCP_STATE_LISTEN ||
	       newstate == TCP_STATE_FIN_WAIT1 || newstate == TCP_STATE_LAST_ACK;
}

/* Records the current task as the socket's owner when the change runs in
 * its context (and it passes the task filters), then fills `t` with the
 * owner, or with zeros when unknown. Returns false when a task filter is
 * given and the owner did not pass it (or is unknown). `t` must be on the
 * stack: before Linux 6.x ring-buffer memory cannot be a map value. */
static __always_inline bool take_owner(__u64 sk, int newstate, struct task_info *t)
{
	struct task_info *owner;

	if (state_set_by_owner(newstate) && task_selected()) {
		fill_task(t);
		bpf_map_update_elem(&sock_owners, &sk, t, BPF_ANY);
		return true;
	}
	owner = bpf_map_lookup_elem(&sock_owners, &sk);
	if (owner) {
		*t = *owner;
		t->ts_ns = bpf_ktime_get_ns();
		return true;
	}
	__builtin_memset(t, 0, sizeof(*t));
	t->ts_ns = bpf_ktime_get_ns();
	return !task_filter_given();
}

/* At CLOSE the socket is done: forget its owner. */
static __always_inline void forget_owner(__u64 sk, int newstate)
{
	if (newstate == TCP_STATE_CLOSE)
		bpf_map_delete_elem(&sock_owners, &sk);
}

#endif
