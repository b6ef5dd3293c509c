// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* execguard: exec allowed or denied by executable, at the BPF-LSM hook
 * bprm_check_security. */
#ifndef SWIFTBPF_EXECGUARD_H
#define SWIFTBPF_EXECGUARD_H

#include "lsmguard.h"

#define EXECGUARD_MAX_FILES 4096
#define EXECGUARD_FILENAME_LEN 256
#define EXECGUARD_MAX_DEPTH 32

enum execguard_action {
	EXECGUARD_ALLOW = 1,
	EXECGUARD_DENY = 2,
};

struct exec_decision {
	struct task_info task;
	__u8 verdict;       /* enum lsmguard_verdict */
	__u8 action;        /* the matching rule's enum execguard_action; 0: none */
	__u8 pad[6];
	struct lsmguard_file file;
	char filename[EXECGUARD_FILENAME_LEN];  /* as execve was given it */
};

#endif
