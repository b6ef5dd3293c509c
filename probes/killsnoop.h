// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* killsnoop: kill(2), tkill(2) and tgkill(2), with their results; the
 * event is sigsnoop.h's. */
#ifndef SWIFTBPF_KILLSNOOP_H
#define SWIFTBPF_KILLSNOOP_H

#include "sigsnoop.h"

#endif
