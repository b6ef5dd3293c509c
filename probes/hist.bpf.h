// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Kernel side of hist.h: the `hists` map and adding a value to a key's
 * histogram. */
#ifndef SWIFTBPF_HIST_BPF_H
#define SWIFTBPF_HIST_BPF_H

#include "hist.h"

const volatile struct hist_config hist_cfg = {
	.divisor = 1000,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

/* Adds a duration in nanoseconds to `key`'s histogram, in hist_cfg's
 * unit. `comm` (may be NULL) names a new key's task. */
static __always_inline void hist_add(struct hist_key *key, __u64 ns, const char *comm)
{
	struct hist *h = bpf_map_lookup_elem(&hists, key);
	__u64 value = ns / hist_cfg.divisor;
	__u32 slot;

	if (!h) {
		struct hist zero = {};

		if (comm)
			bpf_probe_read_kernel_str(zero.comm, sizeof(zero.comm), comm);
		bpf_map_update_elem(&hists, key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, key);
		if (!h)
			return;
	}
	slot = log2_slot(value);
	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	/* Several CPUs may add to one key at once. */
	add_count(&h->slots[slot], 1);
	add_count(&h->count, 1);
	add_count(&h->total_ns, ns);
}

/* The key of a task's histogram, per hist_cfg.per. */
static __always_inline struct hist_key task_hist_key(struct task_struct *t)
{
	struct hist_key key = {};

	switch (hist_cfg.per) {
	case HIST_PER_PROCESS:
		key.id = BPF_CORE_READ(t, tgid);
		break;
	case HIST_PER_THREAD:
		key.id = BPF_CORE_READ(t, pid);
		break;
	case HIST_PER_CGROUP:
		key.id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
		break;
	}
	return key;
}

/* Adds a task's duration to its histogram (named by its command when the
 * histograms are per process or thread). */
static __always_inline void hist_add_task(struct task_struct *t, __u64 ns)
{
	struct hist_key key = task_hist_key(t);

	hist_add(&key, ns, hist_cfg.per == HIST_PER_PROCESS || hist_cfg.per == HIST_PER_THREAD ? t->comm : NULL);
}

#endif
