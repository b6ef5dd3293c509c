// SPDX-License-Identifier: BSD-2-Clause
/* SwiftBPFContract's one host source: pins the layouts of the contract,
 * which Swift reads at fixed offsets (TaskInfo). */
#include "swiftbpf.h"
#include <stddef.h>

_Static_assert(sizeof(struct task_info) == 56 && offsetof(struct task_info, comm) == 32 && offsetof(struct task_info, ns_pid) == 48, "task_info is part of the probe contract");
_Static_assert(sizeof(struct trace_filter) == 36, "trace_filter layout changed");
