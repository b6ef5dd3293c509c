// SPDX-License-Identifier: BSD-2-Clause
/// Every tool the package builds, grouped by the flags they share. The
/// usage tests run over these lists, and a test keeps them equal to the
/// executables under Sources/, so a new tool is covered when it is added.
public enum AllTools {
    /// The tools that take the shared tracing flags (`TraceOptions`).
    public static let tracing = [
        "mkdirtrace", "execsnoop", "opensnoop", "syscount", "sysnoop", "bashreadline", "vfsstat", "filelife",
        "exitsnoop", "sigsnoop", "killsnoop", "oomkill", "runqlat", "cpudist", "biolatency", "biosnoop",
        "tcpstates", "tcplife", "tcpretrans", "skbdrop", "profile", "offcputime", "stackcount",
    ]
    /// The enforcers: their own rules, and the guards' output flags.
    public static let enforcers = ["pktfilter", "egressguard", "execguard", "fileguard"]
    /// The fleet's agent.
    public static let exporter = "swiftbpf-exporter"

    public static var all: [String] { tracing + enforcers + [exporter] }
}
