// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport

public let tool = ToolEntry(MountSnoop.self)

struct MountSnoop: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "mountsnoop",
        abstract: "Trace mount(2), umount2(2), fsmount(2) and move_mount(2), with their arguments and results.",
        discussion: """
        Each completed call: CALL, the flags decoded (mount's MS_*, umount's MNT_*, \
        move_mount's MOVE_MOUNT_*, fsmount's FSMOUNT_* and MOUNT_ATTR_*), RESULT \
        (0, fsmount's new fd, or the errno name) and the call's paths: mount's \
        source, mount point and filesystem type; umount's mount point; move_mount's \
        from and to. MNTNS is the caller's mount namespace, which tells a \
        container's mounts from the host's. -x keeps failed calls.

        Examples:
          mountsnoop                  every mount and umount on the machine
          mountsnoop --container web  a container's mounts
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    func run() throws {
        try TraceSession.trace("mountsnoop", options: trace, what: "mount, umount, fsmount and move_mount", fields: MountFields.all) {
            try MountsnoopSkeleton.open()
        }
    }
}

/// mountsnoop's fields, in text and JSON alike.
enum MountFields {
    static let calls = ["mount", "umount", "fsmount", "move_mount"]

    static let all: [Field<MountEvent>] = [
        .pid,
        .comm(),
        .number("mnt_ns", "MNTNS", width: 10) { $0.mntNs },
        .string("call", "CALL", width: 10) { calls.indices.contains(Int($0.call)) ? calls[Int($0.call)] : "\($0.call)" },
        // fsmount returns the new mount's file descriptor.
        Field(key: "ret", heading: "RESULT", width: 12,
              text: { e, out, _ in out.append(ErrnoName.ifFailed(e.ret) ?? "\(e.ret)") },
              json: { e, o, _ in o.result(e.ret) }),
        .string("flags", "FLAGS", width: 24) { MountFlags.names($0) },
        .number("flags_value", "") { $0.flags }.jsonOnly,
        .bytes("fstype", "") { $0.fstype }.jsonOnly,
        .bytes("source", "") { $0.source }.jsonOnly,
        .bytes("target", "") { $0.target }.jsonOnly,
        .number("dfd", "") { $0.dfd }.jsonOnly,
        .number("to_dfd", "") { $0.toDfd }.jsonOnly,
        .number("attr_flags", "") { $0.attrFlags }.jsonOnly,
        Field(key: nil, heading: "ARGS", text: { e, out, _ in arguments(e, to: out) }, json: { _, _, _ in }),
    ]

    /// The call's arguments as a person reads them.
    static func arguments(_ e: MountEvent, to out: Output) {
        switch e.call {
        case UInt32(MOUNT_CALL_MOUNT.rawValue):
            out.appendEscaped(e.source)
            out.append(" on ")
            out.appendEscaped(e.target)
            if !e.fstype.isEmpty {
                out.append(" type ")
                out.appendEscaped(e.fstype)
            }
        case UInt32(MOUNT_CALL_UMOUNT.rawValue):
            out.appendEscaped(e.target)
        case UInt32(MOUNT_CALL_FSMOUNT.rawValue):
            out.append("fs fd \(e.dfd)")
        default:
            path(e.source, in: e.dfd, to: out)
            out.append(" to ")
            path(e.target, in: e.toDfd, to: out)
        }
    }

    /// A path with the directory fd it is relative to (unless AT_FDCWD):
    /// an empty path is the fd itself (MOVE_MOUNT_*_EMPTY_PATH).
    static func path(_ path: UnsafeRawBufferPointer, in fd: Int32, to out: Output) {
        if fd != -100 { out.append(path.isEmpty ? "fd \(fd)" : "[fd \(fd)] ") }
        out.appendEscaped(path)
    }
}

/// The flags of each call, named as their man pages name them.
enum MountFlags {
    static let mount: [(UInt64, String)] = [
        (1, "MS_RDONLY"), (2, "MS_NOSUID"), (4, "MS_NODEV"), (8, "MS_NOEXEC"), (16, "MS_SYNCHRONOUS"), (32, "MS_REMOUNT"),
        (64, "MS_MANDLOCK"), (128, "MS_DIRSYNC"), (256, "MS_NOSYMFOLLOW"), (1024, "MS_NOATIME"), (2048, "MS_NODIRATIME"),
        (4096, "MS_BIND"), (8192, "MS_MOVE"), (16384, "MS_REC"), (32768, "MS_SILENT"), (1 << 16, "MS_POSIXACL"),
        (1 << 17, "MS_UNBINDABLE"), (1 << 18, "MS_PRIVATE"), (1 << 19, "MS_SLAVE"), (1 << 20, "MS_SHARED"),
        (1 << 21, "MS_RELATIME"), (1 << 22, "MS_KERNMOUNT"), (1 << 23, "MS_I_VERSION"), (1 << 24, "MS_STRICTATIME"),
        (1 << 25, "MS_LAZYTIME"),
    ]
    static let umount: [(UInt64, String)] = [(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"), (8, "UMOUNT_NOFOLLOW")]
    static let moveMount: [(UInt64, String)] = [
        (0x1, "MOVE_MOUNT_F_SYMLINKS"), (0x2, "MOVE_MOUNT_F_AUTOMOUNTS"), (0x4, "MOVE_MOUNT_F_EMPTY_PATH"),
        (0x10, "MOVE_MOUNT_T_SYMLINKS"), (0x20, "MOVE_MOUNT_T_AUTOMOUNTS"), (0x40, "MOVE_MOUNT_T_EMPTY_PATH"),
        (0x100, "MOVE_MOUNT_SET_GROUP"), (0x200, "MOVE_MOUNT_BENEATH"),
    ]
    static let fsmount: [(UInt64, String)] = [(1, "FSMOUNT_CLOEXEC")]
    static let attributes: [(UInt64, String)] = [
        (0x1, "MOUNT_ATTR_RDONLY"), (0x2, "MOUNT_ATTR_NOSUID"), (0x4, "MOUNT_ATTR_NODEV"), (0x8, "MOUNT_ATTR_NOEXEC"),
        (0x10, "MOUNT_ATTR_RELATIME"), (0x70, "MOUNT_ATTR_NOATIME"), (0x20, "MOUNT_ATTR_STRICTATIME"),
        (0x80, "MOUNT_ATTR_NODIRATIME"), (0x100000, "MOUNT_ATTR_IDMAP"), (0x200000, "MOUNT_ATTR_NOSYMFOLLOW"),
    ]

    /// The names of `value`'s bits in `table`, `|`-joined, with any bits
    /// left over in hex; "0" for none.
    static func names(_ value: UInt64, _ table: [(UInt64, String)]) -> [String] {
        let (names, rest) = FlagNames.split(value, table)
        return rest == 0 ? names : names + ["0x" + String(rest, radix: 16)]
    }

    static func names(_ e: MountEvent) -> String {
        var out: [String]
        switch e.call {
        case UInt32(MOUNT_CALL_MOUNT.rawValue):
            // The top 16 bits may hold the old magic number (0xC0ED), which means nothing.
            let flags = e.flags & 0xC0ED_0000 == 0xC0ED_0000 ? e.flags & 0xFFFF : e.flags
            out = names(flags, mount)
        case UInt32(MOUNT_CALL_UMOUNT.rawValue): out = names(e.flags, umount)
        case UInt32(MOUNT_CALL_FSMOUNT.rawValue): out = names(e.flags, fsmount) + names(UInt64(e.attrFlags), attributes)
        default: out = names(e.flags, moveMount)
        }
        return out.isEmpty ? "0" : out.joined(separator: "|")
    }
}
