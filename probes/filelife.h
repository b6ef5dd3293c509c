// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* filelife: files created and deleted while tracing, with their age. */
#ifndef SWIFTBPF_FILELIFE_H
#define SWIFTBPF_FILELIFE_H

#include "common.h"

#define FILELIFE_NAME_LEN 256

struct filelife_event {
	struct task_info task;  /* the deleting task, at the delete */
	__u64 age_ns;           /* from create to delete */
	__u32 creator_pid;
	__u32 pad;
	char creator_comm[TASK_COMM_LEN];
	char name[FILELIFE_NAME_LEN]; /* the last path component */
};

#endif
