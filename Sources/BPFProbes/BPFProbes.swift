// SPDX-License-Identifier: BSD-2-Clause
// The bundled probes: one generated skeleton per probes/NAME.bpf.c (see the
// BPFProbeCompiler plugin), plus Swift views of their events.
@_exported import ProbeEvents
@_exported import SwiftBPF
