// SPDX-License-Identifier: BSD-2-Clause
// How a tool drives a probe: the contract test type-checks this against
// the fixture's generated skeleton, so a probe that breaks the contract
// fails here, at build time.
import SwiftBPF
import ToolSupport

func trace(_ session: TraceSession) throws {
    let probe = try session.load(ContractprobeSkeleton.open())
    _ = try probe.maps.events.typed(UInt32.self, UInt32.self)
}
