// SPDX-License-Identifier: BSD-2-Clause
#ifndef SWIFTBPF_CLIBELF_SHIM_H
#define SWIFTBPF_CLIBELF_SHIM_H

#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

/* The Swift runtime's demangler (libswiftCore exports it; its result is
 * malloc'ed). */
char *swift_demangle(const char *mangled, size_t length, char *buffer, size_t *size, uint32_t flags);

/* openat2(2) (Linux 5.6+), which glibc does not wrap: `path` resolved
 * with `resolve` (RESOLVE_* flags) from `dirfd`. -1 and errno on failure
 * (ENOSYS before 5.6). */
#include <errno.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int swiftbpf_openat2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
#ifdef SYS_openat2
	struct open_how how = { .flags = (unsigned long long)flags, .mode = 0, .resolve = resolve };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
#else
	errno = ENOSYS;
	return -1;
#endif
}

#endif
