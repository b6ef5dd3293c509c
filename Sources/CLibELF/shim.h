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

#endif
