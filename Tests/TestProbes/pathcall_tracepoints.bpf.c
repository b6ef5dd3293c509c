// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* mkdirtrace's probe as other architectures build it: the syscall
 * tracepoints, with the arguments carried from enter to exit in
 * DECLARE_CALL_STATE, so x86-64 tests that path too (the bundled x86-64
 * probe reads the registers at sys_exit instead). Built from the bundled
 * source; the plugin follows the headers it includes (-MD). */
#define PATHCALL_TRACEPOINTS 1
#include "../../probes/mkdirtrace.bpf.c"
