// SPDX-License-Identifier: BSD-2-Clause
/// Linux signal names by number (x86, arm64 and riscv share them), without
/// the SIG prefix, as kill -l lists them.
public enum SignalName {
    private static let names: [String] = [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
        "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP",
        "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ]

    /// "KILL" for 9, "RTMIN+2" for 36, "0" for the null signal.
    public static func name(_ sig: Int32) -> String {
        if sig > 0 && Int(sig) < names.count { return names[Int(sig)] }
        if sig >= 34 && sig <= 64 { return "RTMIN+\(sig - 34)" }
        return "\(sig)"
    }

    /// A signal given as a number, a name, or a name with SIG: 9, KILL, SIGKILL.
    public static func number(_ text: String) -> Int32? {
        if let n = Int32(text), (0...64).contains(n) { return n }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        return names.firstIndex(of: name).flatMap { $0 == 0 ? nil : Int32($0) }
    }
}
