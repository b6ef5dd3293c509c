// SPDX-License-Identifier: BSD-2-Clause
#ifndef SWIFTBPF_CLIBBPF_SHIM_H
#define SWIFTBPF_CLIBBPF_SHIM_H

#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/socket.h>
#include <sys/un.h>

#endif
