// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* vfsstat: calls of the VFS's main entry points, counted per CPU in the
 * kernel; user space reads the counters every interval. */
#ifndef SWIFTBPF_VFSSTAT_H
#define SWIFTBPF_VFSSTAT_H

#include "common.h"

enum vfsstat_op {
	VFSSTAT_READ = 0,
	VFSSTAT_WRITE = 1,
	VFSSTAT_FSYNC = 2,
	VFSSTAT_OPEN = 3,
	VFSSTAT_CREATE = 4,
	VFSSTAT_MKDIR = 5,
	VFSSTAT_OPS = 6,
};

#endif
