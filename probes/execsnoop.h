// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* execsnoop: one event per execve(2)/execveat(2), at its return. */
#ifndef SWIFTBPF_EXECSNOOP_H
#define SWIFTBPF_EXECSNOOP_H

#include "common.h"

#define EXEC_ARGS_BUF 8192      /* all arguments, NUL-separated */
#define EXEC_ARG_LIMIT 1024     /* largest --max-arg-len */
#define EXEC_ARGS_LIMIT 128     /* largest --max-args */
#define EXEC_FILENAME_MAX 256   /* the path given to execve */

#define EXEC_FLAG_MORE_ARGS 1   /* argv had more than max_args entries */
#define EXEC_FLAG_ARG_CUT 2     /* an argument was cut at max_arg_len */
#define EXEC_FLAG_BUFFER_FULL 4 /* arguments stopped at EXEC_ARGS_BUF */

struct exec_config {
	__u32 max_args;
	__u32 max_arg_len;
};

struct exec_event {
	struct task_info task;  /* at the exec's return: the new command name */
	__s32 ret;
	__u32 args_count;
	__u32 args_size;        /* bytes used in args, NULs included */
	__u32 flags;            /* EXEC_FLAG_* */
	__u32 filename_len;     /* bytes in filename, without the NUL */
	char filename[EXEC_FILENAME_MAX];
	char args[EXEC_ARGS_BUF];
};

#ifndef __VMLINUX_H__
#include <stddef.h>
/* Swift does not import arrays this large, so it takes the offset from here. */
static const unsigned exec_event_args_offset = offsetof(struct exec_event, args);
#endif

#endif
