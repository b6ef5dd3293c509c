// SPDX-License-Identifier: BSD-2-Clause
/* The module's one host C file: checks the shared header compiles here. */
#include "signalwatch.h"
