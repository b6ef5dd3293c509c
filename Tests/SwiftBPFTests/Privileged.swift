// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF
import Synchronization
import TestSupport
import Testing

/// Tests that load real BPF programs. They run one at a time (they share
/// the kernel), only with privileges; with CI=true a run without privileges
/// is a failure, not a skip.
@Suite(.serialized, .enabled(if: TestEnvironment.runPrivileged, "needs root or CAP_BPF+CAP_PERFMON"))
struct Privileged {
    init() throws {
        // A helper that exec'd away leaves a pipe with no reader.
        signal(SIGPIPE, SIG_IGN)
        try #require(Kernel.privileges.canUseBPF,
                     "this test loads BPF programs and needs root (CAP_BPF+CAP_PERFMON); CI=true makes that a failure")
    }
}
