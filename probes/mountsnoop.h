// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* mountsnoop: mount(2), umount2(2), and the new mount API's fsmount(2) and
 * move_mount(2), with their arguments and results. */
#ifndef SWIFTBPF_MOUNTSNOOP_H
#define SWIFTBPF_MOUNTSNOOP_H

#include "common.h"

#define MOUNT_PATH_MAX 256
#define MOUNT_FSTYPE_MAX 32

enum mount_call {
	MOUNT_CALL_MOUNT = 0,
	MOUNT_CALL_UMOUNT = 1,
	MOUNT_CALL_FSMOUNT = 2,
	MOUNT_CALL_MOVE_MOUNT = 3,
};

struct mount_event {
	struct task_info task;
	__s32 ret;            /* 0 (fsmount: the new mount's fd) or -errno */
	__u32 call;           /* enum mount_call */
	__u64 flags;          /* mount: MS_*; umount: MNT_*; fsmount: FSMOUNT_*; move_mount: MOVE_MOUNT_* */
	__u64 mnt_ns;         /* the caller's mount namespace (its inode number) */
	__s32 dfd;            /* fsmount: the filesystem context; move_mount: the from directory */
	__s32 to_dfd;         /* move_mount: the to directory */
	__u32 attr_flags;     /* fsmount: MOUNT_ATTR_* */
	__u32 pad;
	char fstype[MOUNT_FSTYPE_MAX];  /* mount */
	char source[MOUNT_PATH_MAX];    /* mount: the source; move_mount: the from path */
	char target[MOUNT_PATH_MAX];    /* mount, umount: the mount point; move_mount: the to path */
};

#endif
