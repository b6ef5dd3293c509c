// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* stackcount: the stacks that reach a tracepoint or a uprobe, counted. */
#ifndef SWIFTBPF_STACKCOUNT_H
#define SWIFTBPF_STACKCOUNT_H

#include "stacks.h"

#endif
