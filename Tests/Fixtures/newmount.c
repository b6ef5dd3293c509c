// SPDX-License-Identifier: BSD-2-Clause
/* mountsnoop's workload: mounts and unmounts DIR with both mount APIs,
 * each call with known arguments, and one mount that fails; prints the
 * filesystem context's fd, the mount's fd and its mount namespace's inode.
 * Run it in a private mount namespace. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef FSCONFIG_CMD_CREATE
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 1
#endif
#ifndef MOUNT_ATTR_NODEV
#define MOUNT_ATTR_NODEV 0x4
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#endif

int main(int argc, char **argv)
{
	char missing[4096];
	struct stat ns;
	int fs, mnt;

	if (argc != 2 || stat("/proc/self/ns/mnt", &ns) != 0)
		return 2;
	snprintf(missing, sizeof(missing), "%s/missing", argv[1]);
	if (mount("swiftbpf-test", argv[1], "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0)
		return 3;
	if (umount2(argv[1], 0) != 0)
		return 4;
	if (mount("swiftbpf-test", missing, "tmpfs", 0, NULL) == 0)
		return 5;
	fs = syscall(SYS_fsopen, "tmpfs", 0);
	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
		return 6;
	mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return 7;
	if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, argv[1], MOVE_MOUNT_F_EMPTY_PATH) != 0)
		return 8;
	if (umount2(argv[1], MNT_DETACH) != 0)
		return 9;
	printf("%d %d %llu\n", fs, mnt, (unsigned long long)ns.st_ino);
	return 0;
}
