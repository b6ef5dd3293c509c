// SPDX-License-Identifier: BSD-2-Clause
/* Compiles the shared headers for the host, so a header that only builds
 * for BPF fails here too, and pins the layouts Swift relies on. */
#include "common.h"
#include "pathcall.h"
#include "mkdirtrace.h"
#include "execsnoop.h"
#include "opensnoop.h"
#include "syscount.h"
#include "sysnoop.h"
#include "bashreadline.h"
#include "packet_filter.h"
#include "vfsstat.h"
#include "filelife.h"
#include "nodestats.h"
#include "stacks.h"
#include "profile.h"
#include "stackcount.h"
#include "offcputime.h"
#include "oomkill.h"
#include "killsnoop.h"
#include "sigsnoop.h"
#include "exitsnoop.h"
#include "hist.h"
#include "cpudist.h"
#include "block.h"
#include "net.h"
#include <stddef.h>

_Static_assert(sizeof(struct task_info) == 56 && offsetof(struct task_info, comm) == 32 && offsetof(struct task_info, ns_pid) == 48, "task_info is part of the probe contract");
_Static_assert(offsetof(struct path_event, path) == 80, "path_event layout changed");
_Static_assert(sizeof(struct trace_filter) == 36, "trace_filter layout changed");
