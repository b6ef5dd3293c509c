// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import Glibc
import Synchronization
import SwiftBPF
import BPFProbes
import ToolSupport

/// A file or directory a rule names, given by path and checked to exist
/// when the rule is made. Its identity in the kernel (device and inode as
/// the LSM hooks see them, for every layer of a stacked filesystem) is
/// learned when the guard attaches (`learnFiles`), so a rule holds
/// whatever path or link reaches the file later.
public struct GuardedFile: Sendable, Hashable {
    public var path: String

    /// Checks that `path` exists now (symlinks followed). A missing file
    /// is an error naming it.
    public init(path: String) throws(BPFError) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw BPFError.fromErrno("cannot resolve \(path)") }
        self.path = path
    }
}

/// Names files as the kernel sees them: with the probe's learning program
/// attached, this process opens each (read-only, non-blocking: a FIFO does
/// not hang it) and reads back every file the kernel opened for it: on a
/// stacked filesystem the overlay's file and each layer's, whose devices
/// stat(2) does not show. A rule holds for all of them.
func learnFiles(learning: Map, learned: Map, _ files: [GuardedFile]) throws(BPFError) -> [[lsmguard_file]] {
    let learning = try learning.typed(UInt32.self, UInt32.self)
    let learned = try learned.typed(UInt32.self, lsmguard_file.self)
    defer { _ = try? learning.update(0, 0) }
    var out: [[lsmguard_file]] = []
    for file in files {
        try learning.update(1, 0)
        try learning.update(0, 1)
        let fd = open(file.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw BPFError.fromErrno("cannot open \(file.path) to name it") }
        close(fd)
        try learning.update(0, 0)
        let n = min(Int(try learning.lookup(1) ?? 0), Int(LSMGUARD_LEARNED))
        var seen: [lsmguard_file] = []
        for i in 0..<n { if let f = try learned.lookup(UInt32(i)), f.ino != 0 { seen.append(f) } }
        guard !seen.isEmpty else { throw BPFError(.notFound, "\(file.path): the kernel did not report the file opened") }
        out.append(seen)
    }
    return out
}

/// A kernel that refuses LSM programs, as one clear error; else `error`.
func lsmLoadFailure(_ error: BPFError) -> BPFError {
    do {
        try Kernel.require(.lsm)
    } catch {
        return error
    }
    return error
}

/// The scope of a guard: the cgroup v2 directory whose tasks (and their
/// descendants' cgroups) it decides for; nil for the whole host.
func setScope(_ map: Map, cgroup: String?) throws(BPFError) -> UInt8 {
    guard let cgroup else { return 0 }
    let fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw BPFError.fromErrno("cannot open cgroup \(cgroup)") }
    defer { close(fd) }
    try map.typed(UInt32.self, UInt32.self).update(0, UInt32(fd))
    return 1
}

public enum GuardVerdict: String, Sendable { case allowed, denied, wouldDeny = "would-deny" }

func guardVerdict(_ v: UInt8) -> GuardVerdict {
    switch v {
    case UInt8(LSMGUARD_ALLOWED.rawValue): .allowed
    case UInt8(LSMGUARD_WOULD_DENY.rawValue): .wouldDeny
    default: .denied
    }
}

/// execguard: exec decided by executable at `lsm/bprm_check_security`. A
/// denied exec fails with EPERM. With any allow rule, it is an allow-list:
/// every executable no rule allows is denied. Needs BPF-LSM (Linux 5.7+,
/// CONFIG_BPF_LSM, "bpf" in the LSM list).
public final class ExecGuard: Sendable {
    public let probe: ExecguardSkeleton
    let allow: [GuardedFile], deny: [GuardedFile], allowUnder: [GuardedFile], denyUnder: [GuardedFile]

    /// Loads the guard; its rules go in when it attaches: files, and
    /// directories whose executables below take the action (a rule for
    /// the file itself comes first). `scope`: a cgroup v2 directory, or nil
    /// for every task on the host. `enforce` false: audit mode.
    public init(allow: [GuardedFile], deny: [GuardedFile], allowUnder: [GuardedFile] = [], denyUnder: [GuardedFile] = [],
                scope: String?, enforce: Bool) throws(BPFError) {
        // Before loading: where "bpf" is built but not an active LSM, the
        // programs load and attach and never run.
        try Kernel.require(.lsm)
        var open = try ExecguardSkeleton.open()
        let allowList = !(allow.isEmpty && allowUnder.isEmpty)
        open.guardCfg = lsmguard_config(enforce: enforce ? 1 : 0, scoped: scope == nil ? 0 : 1, allow_list: allowList ? 1 : 0,
                                        pad: 0, self_tgid: UInt32(getpid()))
        do {
            probe = try open.load()
        } catch {
            throw lsmLoadFailure(error)
        }
        _ = try setScope(probe.maps.scope, cgroup: scope)
        self.allow = allow
        self.deny = deny
        self.allowUnder = allowUnder
        self.denyUnder = denyUnder
    }

    /// Names the rules' files as the kernel sees them, fills the rules,
    /// then attaches the exec hook: no exec is decided before every rule
    /// is in.
    public func attach() throws(BPFError) -> [Link] {
        let learner = try probe.programs.execLearn.attach()
        let files = try probe.maps.files.typed(lsmguard_file.self, UInt8.self)
        for f in try learnFiles(learning: probe.maps.learning, learned: probe.maps.learned, allow).joined() { try files.update(f, UInt8(EXECGUARD_ALLOW.rawValue)) }
        for f in try learnFiles(learning: probe.maps.learning, learned: probe.maps.learned, deny).joined() { try files.update(f, UInt8(EXECGUARD_DENY.rawValue)) }
        let dirs = try probe.maps.dirs.typed(lsmguard_file.self, UInt8.self)
        for f in try learnFiles(learning: probe.maps.learning, learned: probe.maps.learned, allowUnder).joined() { try dirs.update(f, UInt8(EXECGUARD_ALLOW.rawValue)) }
        for f in try learnFiles(learning: probe.maps.learning, learned: probe.maps.learned, denyUnder).joined() { try dirs.update(f, UInt8(EXECGUARD_DENY.rawValue)) }
        learner.detach()
        return [try probe.programs.execCheck.attach()]
    }

    /// Decisions by verdict, counted in the kernel.
    public func decisions() throws(BPFError) -> [GuardVerdict: UInt64] {
        try LSMDecisions.totals(probe.maps.decisions)
    }
}

/// A decision of execguard.
extension ExecDecision {
    /// What the guard did (`verdict`).
    public var decision: GuardVerdict { guardVerdict(verdict) }
    /// The rule that matched: "allow", "deny", or nil for none.
    public var rule: String? {
        switch action {
        case UInt8(EXECGUARD_ALLOW.rawValue): "allow"
        case UInt8(EXECGUARD_DENY.rawValue): "deny"
        default: nil
        }
    }
    public var device: UInt64 { file.dev }
    public var inode: UInt64 { file.ino }
}

/// fileguard: protected directories and files at `lsm/file_open`,
/// `inode_create`, `path_unlink` and `path_rename`. Writes under a
/// protected path fail with EPERM; with `.all`, reads too. Needs BPF-LSM;
/// the path hooks need CONFIG_SECURITY_PATH (left out where the kernel
/// lacks them).
public final class FileGuard: Sendable {
    public enum Protection: Sendable { case writes, all }
    public let probe: FileguardSkeleton
    let protect: [(GuardedFile, Protection)]
    private let names: Mutex<[String: String]>

    public init(protect: [(GuardedFile, Protection)], scope: String?, enforce: Bool) throws(BPFError) {
        try Kernel.require(.lsm)  // as ExecGuard
        var open = try FileguardSkeleton.open()
        open.guardCfg = lsmguard_config(enforce: enforce ? 1 : 0, scoped: scope == nil ? 0 : 1, allow_list: 0, pad: 0, self_tgid: UInt32(getpid()))
        for (program, hook) in [(FileguardSkeleton.ProgramName.pathUnlinkCheck, "bpf_lsm_path_unlink"),
                                (.pathRenameCheck, "bpf_lsm_path_rename")] where !Kernel.hasFunction(hook) {
            try open.setAutoload(false, for: program)
        }
        do {
            probe = try open.load()
        } catch {
            throw lsmLoadFailure(error)
        }
        _ = try setScope(probe.maps.scope, cgroup: scope)
        self.protect = protect
        names = Mutex([:])
    }

    /// Attaches file_open first (with nothing protected it decides
    /// nothing), names the protected paths as the kernel sees them, fills
    /// them in, then attaches the other hooks.
    public func attach() throws(BPFError) -> [Link] {
        var links = [try probe.programs.fileOpenCheck.attach()]
        let map = try probe.maps.protected.typed(lsmguard_file.self, UInt8.self)
        let learned = try learnFiles(learning: probe.maps.learning, learned: probe.maps.learned, protect.map(\.0))
        var known: [String: String] = [:]
        for (views, (file, protection)) in zip(learned, protect) {
            for f in views {
                try map.update(f, UInt8(protection == .all ? FILEGUARD_ALL.rawValue : FILEGUARD_WRITES.rawValue))
                known["\(f.dev):\(f.ino)"] = file.path
            }
        }
        names.withLock { $0 = known }
        for program in [probe.programs.inodeCreateCheck, probe.programs.pathUnlinkCheck, probe.programs.pathRenameCheck] where program.isLoaded {
            links.append(try program.attach())
        }
        return links
    }

    /// The path given for a protected file, by the kernel's device and inode.
    public func path(device: UInt64, inode: UInt64) -> String? {
        names.withLock { $0["\(device):\(inode)"] }
    }

    public func decisions() throws(BPFError) -> [GuardVerdict: UInt64] {
        try LSMDecisions.totals(probe.maps.decisions)
    }
}

/// A decision of fileguard.
extension FileDecision {
    public enum Operation: String, Sendable { case read, write, create, unlink, rename }

    /// What the guard did (`verdict`).
    public var decision: GuardVerdict { guardVerdict(verdict) }
    public var operation: Operation {
        switch op {
        case UInt8(FILEGUARD_OPEN_READ.rawValue): .read
        case UInt8(FILEGUARD_OPEN_WRITE.rawValue): .write
        case UInt8(FILEGUARD_CREATE.rawValue): .create
        case UInt8(FILEGUARD_UNLINK.rawValue): .unlink
        default: .rename
        }
    }
    /// The protected directory or file it is under.
    public var protectedDevice: UInt64 { protectedPath.dev }
    public var protectedInode: UInt64 { protectedPath.ino }
}

/// The decisions execguards and fileguards count in the kernel, per cgroup,
/// verdict and operation; found through the kernel by the exporter (by
/// program name and the layout of `lsmguard_count_key`).
public enum LSMDecisions {
    public struct Count: Sendable {
        /// "exec" or "file".
        public var guardKind: String
        public var cgroup: UInt64
        public var verdict: GuardVerdict
        /// fileguard's operation ("read", "write", ...); "exec" for execguard.
        public var operation: String
        public var count: UInt64
        public var programID: UInt32
    }

    static func totals(_ map: Map) throws(BPFError) -> [GuardVerdict: UInt64] {
        var out: [GuardVerdict: UInt64] = [.allowed: 0, .denied: 0, .wouldDeny: 0]
        for c in try counts(map, kind: "", programID: 0) { out[c.verdict, default: 0] += c.count }
        return out
    }

    static func counts(_ map: Map, kind: String, programID: UInt32) throws(BPFError) -> [Count] {
        let typed = try map.perCPU(lsmguard_count_key.self, UInt64.self)
        let ops: [FileDecision.Operation] = [.read, .write, .create, .unlink, .rename]
        var out: [Count] = []
        for key in try typed.keys() {
            guard let n = try typed.sum(key) else { continue }
            let op = kind == "exec" ? "exec" : Int(key.op) < ops.count ? ops[Int(key.op)].rawValue : "\(key.op)"
            out.append(Count(guardKind: kind, cgroup: key.cgroup_id, verdict: guardVerdict(key.verdict), operation: op, count: n, programID: programID))
        }
        return out
    }

    /// Every execguard and fileguard loaded in the kernel, their counts.
    /// Needs CAP_SYS_ADMIN (listing programs).
    public static func loaded() -> [Count] {
        var out: [Count] = []
        let exec = ExecguardSkeleton.ProgramName.execCheck.kernelName, file = FileguardSkeleton.ProgramName.fileOpenCheck.kernelName
        let decisions = ExecguardSkeleton.MapName.decisions.kernelName
        assert(decisions == FileguardSkeleton.MapName.decisions.kernelName)
        for info in Kernel.loadedPrograms() where info.name == exec || info.name == file {
            guard let program = try? KernelProgram(id: info.id),
                  program.structSize("lsmguard_count_key") == MemoryLayout<lsmguard_count_key>.size,
                  let map = (try? program.maps())?.first(where: { $0.name == decisions }),
                  let counts = try? counts(map, kind: info.name == exec ? "exec" : "file", programID: info.id) else { continue }
            out += counts
        }
        return out
    }
}
