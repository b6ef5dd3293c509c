// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* fileguard: writes, or all opens, denied under protected directories and
 * files, at the BPF-LSM hooks file_open, inode_create, path_unlink and
 * path_rename. */
#ifndef SWIFTBPF_FILEGUARD_H
#define SWIFTBPF_FILEGUARD_H

#include "lsmguard.h"

#define FILEGUARD_MAX_PATHS 1024
/* Directories looked at above a file: a file deeper than this below a
 * protected directory is not seen as under it. */
#define FILEGUARD_MAX_DEPTH 32
#define FILEGUARD_NAME_LEN 64

enum fileguard_protection {
	FILEGUARD_WRITES = 1,   /* writes, creations, unlinks and renames */
	FILEGUARD_ALL = 2,      /* and reads */
};

enum fileguard_op {
	FILEGUARD_OPEN_READ = 0,
	FILEGUARD_OPEN_WRITE = 1,
	FILEGUARD_CREATE = 2,
	FILEGUARD_UNLINK = 3,
	FILEGUARD_RENAME = 4,
};

struct file_decision {
	struct task_info task;
	__u8 verdict;       /* enum lsmguard_verdict */
	__u8 op;            /* enum fileguard_op */
	__u8 protection;    /* what the protected path says */
	__u8 pad[5];
	struct lsmguard_file protected_path;  /* the protected directory or file it is under */
	char name[FILEGUARD_NAME_LEN];        /* the file's own name */
};

#endif
