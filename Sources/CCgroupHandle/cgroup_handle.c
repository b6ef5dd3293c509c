// SPDX-License-Identifier: BSD-2-Clause
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include "cgroup_handle.h"

/* FILEID_KERNFS in the kernel's exportfs.h: a kernfs node by its 64-bit ID. */
#define CGROUP_HANDLE_TYPE 0xfe

int swiftbpf_open_cgroup(int mount_fd, uint64_t id)
{
	union {
		struct file_handle fh;
		char bytes[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;

	h.fh.handle_bytes = sizeof(uint64_t);
	h.fh.handle_type = CGROUP_HANDLE_TYPE;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	return open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}
