// SPDX-License-Identifier: BSD-2-Clause
/* open_by_handle_at(2) for a cgroup ID: glibc declares it only with
 * _GNU_SOURCE, which Swift's Glibc module does not set. */
#ifndef SWIFTBPF_CGROUP_HANDLE_H
#define SWIFTBPF_CGROUP_HANDLE_H

#include <stdint.h>

/* Opens the cgroup v2 directory whose ID (its kernfs node ID, what
 * bpf_get_current_cgroup_id returns) is `id`, given an fd of the cgroup2
 * mount. Returns an fd, or -1 with errno set. Linux 5.5+, root. */
int swiftbpf_open_cgroup(int mount_fd, uint64_t id);

#endif
