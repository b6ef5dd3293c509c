// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* swift-bpf's probe contract, for probes in any package that applies the
 * BPFProbeCompiler plugin (it puts this header on the include path):
 *
 * - `events`: the ring buffer. RingBuffer and TraceSession.stream read it;
 *   TraceSession.load sizes it from --buffer-size. Where the kernel has no
 *   ring buffer (before Linux 5.8), or SWIFTBPF_FORCE_PERFBUF=1 asks,
 *   TraceSession.load makes it a perf buffer instead: the same calls then
 *   build records in a per-CPU scratch (at most SWIFTBPF_PERF_RECORD_MAX
 *   bytes) and send them with bpf_perf_event_output, and the kernel counts
 *   what did not fit. So the calls that send take the program's context:
 *   they are macros that use the `ctx` in scope (BPF_PROG, BPF_KPROBE and
 *   the tracepoint programs' argument); a helper function takes it as a
 *   parameter named ctx.
 * - `lost_events`: a per-CPU count of records the ring buffer had no room
 *   for (ring buffers only tell the producer). RingBuffer reports it.
 *   Emit with reserve_event()/submit_event() (or discard_event()) or
 *   emit_event() and it is kept for you.
 * - `filter`, `cgroup_filter` and `cgroup_verdicts`: what the shared tool
 *   flags (-p, -t, -u, -c, -x, --cgroup, --container, --pod, --namespace)
 *   select, tested with task_selected() and result_selected().
 *   TraceSession.load fills them by name.
 * - Records wake the consumer only as wakeup_flags() decides (emit_event,
 *   submit_event); RingBuffer's safety poll reads the rest within
 *   SWIFTBPF_SAFETY_POLL_NS. Call wake_consumer_now() before a record
 *   user space must see at once.
 * - DECLARE_CALL_STATE: a thread's state from a syscall's enter to its
 *   exit, in task storage, or a hash keyed by the task where the kernel
 *   has none (TraceSession.load chooses).
 * - `struct task_info` (swiftbpf.h): start an event with it and fill it
 *   with fill_task(); Swift reads it through TaskEvent, and the tools'
 *   shared columns and JSON fields come from it.
 * - SWIFTBPF_EVENT(NAME): the struct the probe's records are. bpf-skeleton
 *   generates its Swift view (a TaskEvent) from the object's BTF.
 *
 * Include it after vmlinux.h and the libbpf headers it needs. */
#ifndef SWIFTBPF_BPF_H
#define SWIFTBPF_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "swiftbpf.h"

/* User space resizes this before load (tools' --buffer-size). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

/* Ring buffers only tell the producer that a reserve failed, so count the
 * failures here; the library sums the CPUs and reports them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

/* Slot 0 holds the cgroup v2 directory given with --cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/* --container, --pod, --namespace: user space decides, per cgroup ID, whether
 * a cgroup's tasks are selected (1) or not (0). A cgroup it has not decided
 * yet (one made after the tool started) passes, and user space decides when
 * its first event arrives, so no container's first events are lost to the
 * time it takes to learn a new cgroup's name. LRU, so a long run on a node
 * that churns containers keeps room; TraceSession.load shrinks it when no
 * container flag is given (LRU maps are preallocated). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_verdicts SEC(".maps");

/* Puts `struct type` in the object's BTF, from which bpf-skeleton
 * generates the Swift view of the probe's records: one pointer, in a
 * section libbpf does not load. */
#define SWIFTBPF_EVENT(type) \
	struct type *swiftbpf_event_##type __attribute__((section(".swiftbpf.events"), used))

const volatile struct trace_filter filter = {
	.uid = (__u32)-1,
};

/* Adds n to a counter that several CPUs may add to at once, without
 * reading it back: the lock-add instruction every BPF kernel knows.
 * __sync_fetch_and_add compiles to the fetching form (Linux 5.12) for
 * the v3 CPU clang 20+ targets by default, which 5.10's verifier rejects. */
#define add_count(p, n) ((void)__atomic_fetch_add((p), (n), __ATOMIC_RELAXED))

/* Set by user space when `events` is a perf buffer; the verifier drops
 * the branches of the other kind. */
const volatile __u8 swiftbpf_perf_events = 0;

/* Where records are built when `events` is a perf buffer: user space
 * makes its value SWIFTBPF_PERF_RECORD_MAX bytes then. With a ring buffer
 * the code that uses it never runs (so is never checked), and 8 bytes per
 * CPU will do. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 8);
} swiftbpf_scratch SEC(".maps");


static __always_inline void count_lost_event(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

	if (lost)
		*lost += 1; /* per-CPU slot: no atomics needed */
}

/* Sends a record through the perf buffer, counting a failure (a full
 * buffer, no reader on this CPU). The kernel counts a full buffer's
 * losses too, but tells the reader only with its next record, which may
 * never come: so the count here is the one reported. */
static __always_inline void swiftbpf_perf_output(void *ctx, void *data, __u64 size)
{
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, data, size))
		count_lost_event();
}

/* When a record wakes the consumer. Left to the kernel, every record that
 * finds the consumer caught up sends it a wakeup (an irq_work, then an
 * epoll wakeup, then a thread switch): one per event while it keeps up,
 * which is most of what a storm of events costs the traced program, and
 * most of what a slow stream costs the consumer. Here a record wakes the
 * consumer only when its CPU has not done so for 1/40 s (in clock ticks,
 * at least one); the others go in silently. RingBuffer polls on its own
 * while records arrive, every SWIFTBPF_SAFETY_POLL_NS, so a record that did
 * not wake it waits at most that long, and a lone record (the first after
 * a quiet interval) wakes it at once. A sleeping consumer is woken at least
 * once per interval while records flow, so the ring needs room for an
 * interval's records: 25 ms of a million 128-byte events a second is
 * 3.2 MiB, against the tools' 8 MiB default. */
extern unsigned int CONFIG_HZ __kconfig __weak;

/* The tick of each CPU's last wakeup, and whether its next record must
 * wake the consumer at once (wake_consumer_now()). */
static __u64 swiftbpf_last_wakeup[SWIFTBPF_WAKEUP_SLOTS];
static __u8 swiftbpf_wake_now[SWIFTBPF_WAKEUP_SLOTS];

static __always_inline __u32 wakeup_slot(void)
{
	return bpf_get_smp_processor_id() & (SWIFTBPF_WAKEUP_SLOTS - 1);
}

/* The next record from this CPU wakes the consumer at once: for records
 * user space must act on while what they name still exists (a new
 * cgroup's name, a new process's memory map), which a short-lived
 * container or process would not leave it the safety poll's time for. */
static __always_inline void wake_consumer_now(void)
{
	swiftbpf_wake_now[wakeup_slot()] = 1;
}

static __always_inline __u64 wakeup_flags(void)
{
	__u32 slot = wakeup_slot();
	/* The tick count: a plain load, where a nanosecond clock reads the
	 * hardware counter (the coarse clock is not allowed in tracing
	 * programs, which may run in NMI). HZ from the kernel's config, 250
	 * where libbpf finds none. */
	__u64 tick = bpf_jiffies64();
	__u64 hz = CONFIG_HZ ? CONFIG_HZ : 250;
	__u64 interval = hz / SWIFTBPF_WAKEUPS_PER_SECOND ? hz / SWIFTBPF_WAKEUPS_PER_SECOND : 1;

	if (tick - swiftbpf_last_wakeup[slot] < interval && !swiftbpf_wake_now[slot])
		return BPF_RB_NO_WAKEUP;
	swiftbpf_last_wakeup[slot] = tick;
	swiftbpf_wake_now[slot] = 0;
	return BPF_RB_FORCE_WAKEUP;
}

/* Copies size bytes of data into the ring buffer, counting a failure. For
 * records whose size is known only at run time; fixed-size records are
 * cheaper built in place with reserve_event() and submit_event(). */
#define emit_event(data, size) swiftbpf_emit_event(ctx, (data), (size))
static __always_inline void swiftbpf_emit_event(void *ctx, void *data, __u64 size)
{
	if (swiftbpf_perf_events) {
		if (size > 0 && size <= SWIFTBPF_PERF_RECORD_MAX)
			swiftbpf_perf_output(ctx, data, size);
		else
			count_lost_event(); /* larger than a perf record may be */
		return;
	}
	if (bpf_ringbuf_output(&events, data, size, wakeup_flags()))
		count_lost_event();
}

/* Reserves a fixed-size record in place (no copy), counting a failure.
 * Send it with submit_event(), or give it back with discard_event(). */
#define reserve_event(size) swiftbpf_reserve_event(size)
static __always_inline void *swiftbpf_reserve_event(__u64 size)
{
	void *e;

	if (swiftbpf_perf_events) {
		__u32 zero = 0;

		/* The record is written in full before it is sent: no stale
		 * bytes from the last one go out. One scratch per CPU: a program
		 * that interrupts another on the same CPU (a softirq's) and
		 * builds a record here too overwrites the first, which ring
		 * buffers' separate reservations do not. */
		e = size <= SWIFTBPF_PERF_RECORD_MAX ? bpf_map_lookup_elem(&swiftbpf_scratch, &zero) : NULL;
		if (!e)
			count_lost_event();
		return e;
	}
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		count_lost_event();
	return e;
}

/* Sends a record from reserve_event(), waking the consumer only as
 * wakeup_flags() decides. */
#define submit_event(e) swiftbpf_submit_event(ctx, (e), sizeof(*(e)))
static __always_inline void swiftbpf_submit_event(void *ctx, void *e, __u64 size)
{
	if (swiftbpf_perf_events) {
		swiftbpf_perf_output(ctx, e, size);
		return;
	}
	bpf_ringbuf_submit(e, wakeup_flags());
}

/* Gives back a record from reserve_event() unsent. */
static __always_inline void discard_event(void *e)
{
	if (!swiftbpf_perf_events)
		bpf_ringbuf_discard(e, 0);
}

/* State a thread keeps from a syscall's enter to its exit (its arguments,
 * mostly). DECLARE_CALL_STATE(T) declares it for values of type T:
 *
 *   T *call_state_begin(void)  at enter: the thread's slot, zeroed and
 *                              marked in use (NULL if there is no room)
 *   T *call_state_find(void)   at exit: the slot, if its enter was seen
 *   void call_state_end(T *)   at exit, when done: the slot is free again
 *
 * Task-local storage (Linux 5.12 for tracepoints) lives with the task, so a
 * call costs two pointer lookups instead of a hash insert, lookup and delete
 * keyed by thread ID, and it follows the task through exec, when a thread
 * takes its leader's PID. A small slot stays with the task for its next
 * call; a large one (an exec's arguments) is given back at the end. On
 * older kernels TraceSession.load sets call_state_in_hash and leaves
 * the task storage map out, and the same calls use a hash keyed by the
 * task (its address, which exec keeps too). */
#define CALL_STATE_KEPT_MAX 256
#define DECLARE_CALL_STATE(T)                                                          \
	struct call_state_slot {                                                       \
		__u64 in_use;                                                          \
		T value;                                                               \
	};                                                                             \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_TASK_STORAGE);                               \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                  \
		__type(key, int);                                                      \
		__type(value, struct call_state_slot);                                 \
	} call_state SEC(".maps");                                                     \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_HASH);                                       \
		__uint(max_entries, 10240);                                            \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                  \
		__type(key, __u64); /* the task_struct's address */                    \
		__type(value, struct call_state_slot);                                 \
	} call_state_hash SEC(".maps");                                              \
	const volatile __u8 call_state_in_hash = 0;                                \
	static const struct call_state_slot call_state_zero = {};                      \
                                                                                       \
	static __always_inline struct call_state_slot *call_state_slot(bool create)    \
	{                                                                              \
		__u64 key = bpf_get_current_task();                                    \
		struct task_struct *task;                                              \
		struct call_state_slot *slot;                                          \
                                                                                       \
		if (call_state_in_hash) {                                          \
			if (create)                                                    \
				bpf_map_update_elem(&call_state_hash, &key, &call_state_zero, BPF_ANY); \
			return bpf_map_lookup_elem(&call_state_hash, &key);          \
		}                                                                      \
		task = bpf_get_current_task_btf();                                     \
		if (!create)                                                           \
			return bpf_task_storage_get(&call_state, task, 0, 0);          \
		slot = bpf_task_storage_get(&call_state, task, 0, 0);                  \
		if (slot && sizeof(T) <= CALL_STATE_KEPT_MAX) {                        \
			__builtin_memset(&slot->value, 0, sizeof(T));                  \
			return slot;                                                   \
		}                                                                      \
		if (slot) /* left by a call whose exit was not seen */                 \
			bpf_task_storage_delete(&call_state, task);                    \
		return bpf_task_storage_get(&call_state, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE); \
	}                                                                              \
                                                                                       \
	static __always_inline T *call_state_begin(void)                               \
	{                                                                              \
		struct call_state_slot *slot = call_state_slot(true);                  \
                                                                                       \
		if (!slot)                                                             \
			return NULL;                                                   \
		slot->in_use = 1;                                                      \
		return &slot->value;                                                   \
	}                                                                              \
                                                                                       \
	static __always_inline T *call_state_find(void)                                \
	{                                                                              \
		struct call_state_slot *slot = call_state_slot(false);                 \
                                                                                       \
		return slot && slot->in_use ? &slot->value : NULL;                     \
	}                                                                              \
                                                                                       \
	static __always_inline void call_state_end(T *value)                           \
	{                                                                              \
		__u64 key = bpf_get_current_task();                                    \
                                                                                       \
		if (call_state_in_hash)                                            \
			bpf_map_delete_elem(&call_state_hash, &key);                 \
		else if (sizeof(T) > CALL_STATE_KEPT_MAX)                              \
			bpf_task_storage_delete(&call_state, bpf_get_current_task_btf()); \
		else                                                                   \
			((struct call_state_slot *)((char *)value -                    \
			    __builtin_offsetof(struct call_state_slot, value)))->in_use = 0; \
	}

/* A struct pid's number in the innermost PID namespace it belongs to
 * (numbers[level]), as /proc/PID/status's last NSpid column shows it. */
static __always_inline __u32 ns_nr(struct pid *pid)
{
	struct upid upid = {};
	unsigned int level = BPF_CORE_READ(pid, level);

	bpf_core_read(&upid, sizeof(upid), &pid->numbers[level]);
	return upid.nr;
}

/* Fills the struct task_info an event starts with: now, and the current
 * task's cgroup, process, thread, parent, user and command (and with
 * filter.ns_pids, its PID and TID in its own PID namespace). */
static __always_inline void fill_task(struct task_info *t)
{
	t->ts_ns = bpf_ktime_get_ns();
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		/* Linux 5.11+: one helper call, then plain loads through the
		 * typed task pointer. A helper per field costs several times as
		 * much, and this runs for every event. The same fields the
		 * helpers read: the default-hierarchy cgroup, the subjective
		 * credentials' UID, the command. */
		struct task_struct *task = bpf_get_current_task_btf();

		t->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
		t->pid = task->tgid;
		t->tid = task->pid;
		t->ppid = task->real_parent->tgid;
		t->uid = task->cred->uid.val;
		__builtin_memcpy(t->comm, task->comm, sizeof(t->comm));
	} else {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		__u64 pid_tgid = bpf_get_current_pid_tgid();

		t->cgroup_id = bpf_get_current_cgroup_id();
		t->pid = pid_tgid >> 32;
		t->tid = (__u32)pid_tgid;
		t->ppid = BPF_CORE_READ(task, real_parent, tgid);
		t->uid = (__u32)bpf_get_current_uid_gid();
		bpf_get_current_comm(t->comm, sizeof(t->comm));
	}
	/* Read only when asked: a read-only global, so the verifier drops
	 * this branch from tools that do not want it. */
	if (filter.ns_pids) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		t->ns_tid = ns_nr(BPF_CORE_READ(task, thread_pid));
		t->ns_pid = ns_nr(BPF_CORE_READ(task, group_leader, thread_pid));
	} else {
		t->ns_pid = 0;
		t->ns_tid = 0;
	}
}

/* Whether a command name equals -c's. */
static __always_inline bool comm_equals_filter(const char *comm)
{
	for (int i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != filter.comm[i])
			return false;
		if (comm[i] == 0)
			break;
	}
	return true;
}

static __always_inline bool comm_matches(void)
{
	char comm[TASK_COMM_LEN];

	bpf_get_current_comm(comm, sizeof(comm));
	return comm_equals_filter(comm);
}

/* --container, --pod, --namespace: whether a cgroup's tasks are selected,
 * as user space decided in cgroup_verdicts. An undecided cgroup passes in
 * streaming tools, and its record wakes the consumer at once: user space
 * decides by the cgroup's path, which must still exist. */
static __always_inline bool workload_selected(__u64 cgroup)
{
	__u8 *verdict = bpf_map_lookup_elem(&cgroup_verdicts, &cgroup);

	if (verdict ? !*verdict : filter.use_workloads == WORKLOADS_DECIDED_ONLY)
		return false;
	if (!verdict)
		wake_consumer_now();
	return true;
}

/* The filters on who the task is (PID, TID, UID, cgroup), without the
 * command name, which exec changes. */
static __always_inline bool ids_selected(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (filter.pid && (pid_tgid >> 32) != filter.pid)
		return false;
	if (filter.tid && (__u32)pid_tgid != filter.tid)
		return false;
	if (filter.uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != filter.uid)
		return false;
	if (filter.use_cgroup && bpf_current_task_under_cgroup(&cgroup_filter, 0) != 1)
		return false;
	if (filter.use_workloads && !workload_selected(bpf_get_current_cgroup_id()))
		return false;
	return true;
}

static __always_inline bool comm_selected(void)
{
	return !filter.use_comm || comm_matches();
}

/* True when the current task passes every filter that does not depend on
 * the syscall's result. */
static __always_inline bool task_selected(void)
{
	return ids_selected() && comm_selected();
}

/* The same filters for a task that is not the current one (the task a
 * scheduler event is about). --cgroup is not applied: the kernel tests only
 * the current task's cgroup ancestry for a BPF program, so tools that use
 * this refuse --cgroup. */
static __always_inline bool other_task_selected(struct task_struct *t)
{
	if (filter.pid && BPF_CORE_READ(t, tgid) != filter.pid)
		return false;
	if (filter.tid && BPF_CORE_READ(t, pid) != filter.tid)
		return false;
	if (filter.uid != (__u32)-1) {
		__u32 uid = 0;

		BPF_CORE_READ_INTO(&uid, t, cred, uid.val);
		if (uid != filter.uid)
			return false;
	}
	if (filter.use_workloads && !workload_selected(BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id)))
		return false;
	if (filter.use_comm) {
		char comm[TASK_COMM_LEN];

		bpf_probe_read_kernel_str(comm, sizeof(comm), t->comm);
		if (!comm_equals_filter(comm))
			return false;
	}
	return true;
}

static __always_inline bool result_selected(long ret)
{
	return !filter.failed_only || ret < 0;
}

#endif
