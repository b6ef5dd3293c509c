// SPDX-License-Identifier: BSD-2-Clause
import Containers
import SwiftBPF

/// The clocks a field may need to turn a BPF timestamp into a time.
public struct RowClock: Sendable {
    /// Add to a BPF timestamp to get wall-clock nanoseconds.
    public var offset: Int64
    /// CLOCK_MONOTONIC when tracing started, for `-T`.
    public var start: UInt64

    @inlinable
    public init(offset: Int64, start: UInt64) {
        self.offset = offset
        self.start = start
    }
}

/// One field of a tool's event, declared once for both outputs: its text
/// column (heading and width) and its JSON key, with how to write each.
/// A field without a heading is JSON only; one without a key is text only.
public struct Field<Event: SendableMetatype>: Sendable {
    /// The text column's heading; nil when the field is JSON only.
    public var heading: String?
    /// The text column's width; 0 for the last column, which is not padded.
    public var width: Int
    /// The JSON key; nil when the field is text only.
    public var key: String?
    @usableFromInline let text: @Sendable (Event, Output, RowClock) -> Void
    @usableFromInline let json: @Sendable (Event, inout JSONObject, RowClock) -> Void

    /// A field written by the two closures given: `text` appends the
    /// value only (the table pads it to `width`), `json` adds key(s).
    @inlinable
    public init(key: String?, heading: String?, width: Int = 0,
                text: @escaping @Sendable (Event, Output, RowClock) -> Void,
                json: @escaping @Sendable (Event, inout JSONObject, RowClock) -> Void) {
        self.key = key
        self.heading = heading
        self.width = width
        self.text = text
        self.json = json
    }

    /// The same field in JSON only.
    public var jsonOnly: Field { var f = self; f.heading = nil; return f }
    /// The same field in text only.
    public var textOnly: Field { var f = self; f.key = nil; return f }
    /// The same field under another text heading and width.
    public func column(_ heading: String, width: Int) -> Field {
        var f = self
        f.heading = heading
        f.width = width
        return f
    }

    /// An integer: decimal in both outputs.
    @inlinable
    public static func number<T: BinaryInteger & SendableMetatype>(_ key: String, _ heading: String, width: Int = 0,
                                                _ value: @escaping @Sendable (Event) -> T) -> Field {
        Field(key: key, heading: heading, width: width,
              text: { e, out, _ in out.appendNumber(value(e)) },
              json: { e, o, _ in o.field(key, value(e)) })
    }

    /// A string.
    @inlinable
    public static func string(_ key: String, _ heading: String, width: Int = 0,
                              _ value: @escaping @Sendable (Event) -> String) -> Field {
        Field(key: key, heading: heading, width: width,
              text: { e, out, _ in out.append(TextEscaping.human(value(e))) },
              json: { e, o, _ in o.field(key, value(e)) })
    }

    /// A flag, JSON only (`true`/`false`).
    @inlinable
    public static func flag(_ key: String, _ value: @escaping @Sendable (Event) -> Bool) -> Field {
        Field(key: key, heading: nil, text: { _, _, _ in }, json: { e, o, _ in o.field(key, value(e)) })
    }

    /// Bytes from the kernel (a path, a command line): escaped for a
    /// person in text, a JSON string (plus `<key>_base64` when they are not
    /// UTF-8). With `truncated`, text marks a cut value with "..." and JSON
    /// adds `<key>_truncated`.
    @inlinable
    public static func bytes(_ key: String, _ heading: String, width: Int = 0,
                             truncated: (@Sendable (Event) -> Bool)? = nil,
                             _ value: @escaping @Sendable (Event) -> UnsafeRawBufferPointer) -> Field {
        let truncatedKey = key + "_truncated"
        return Field(key: key, heading: heading, width: width,
                     text: { e, out, _ in
                         out.appendEscaped(value(e))
                         if let truncated, truncated(e) { out.append("...") }
                     },
                     json: { e, o, _ in
                         o.field(key, bytes: value(e))
                         if let truncated { o.field(truncatedKey, truncated(e)) }
                     })
    }

    /// A mode as octal digits, at least four ("0755"), in both outputs.
    @inlinable
    public static func octal(_ key: String, _ heading: String, width: Int = 0,
                             _ value: @escaping @Sendable (Event) -> UInt32) -> Field {
        Field(key: key, heading: heading, width: width,
              text: { e, out, _ in out.appendOctal(UInt64(value(e)), minimumDigits: 4) },
              json: { e, o, _ in o.field(key, Digits.octal(UInt64(value(e)), minimumDigits: 4)) })
    }

    /// A syscall's result: the errno name, or "0", in text; `ret` (0, a
    /// value, or -errno) and `errno` (its name, or null) in JSON.
    @inlinable
    public static func result<T: BinaryInteger & SendableMetatype>(_ heading: String = "RESULT", width: Int = 12,
                                                _ value: @escaping @Sendable (Event) -> T) -> Field {
        Field(key: "ret", heading: heading, width: width,
              text: { e, out, _ in out.append(ErrnoName.ifFailed(value(e)) ?? "0") },
              json: { e, o, _ in o.result(value(e)) })
    }
}

/// The fields of the task block every event starts with. In JSON the
/// block is always written whole (`time`, `ts_ns`, `pid`, `tid`, `ppid`,
/// `uid`, `comm`, `cgroup_id`, in that order, by `EventTable`), so these
/// are the text columns a tool chooses from.
extension Field where Event: TaskEvent {
    public static var pid: Field { Field.number("pid", "PID", width: 7) { $0.pid }.textOnly }
    public static var tid: Field { Field.number("tid", "TID", width: 7) { $0.tid }.textOnly }
    public static var ppid: Field { Field.number("ppid", "PPID", width: 7) { $0.ppid }.textOnly }
    public static var uid: Field { Field.number("uid", "UID", width: 6) { $0.uid }.textOnly }
    /// The command name, 16 columns wide.
    public static func comm(_ heading: String = "COMM") -> Field {
        Field(key: nil, heading: heading, width: 16, text: { e, out, _ in out.appendEscaped(e.comm) }, json: { _, _, _ in })
    }
}

/// A tool's output format as one table of fields: the TIME column first
/// (wall clock, or seconds since the start with `-T`), then the tool's
/// fields; in JSON the task block, then the tool's fields with a key.
public struct EventTable<Event: TaskEvent>: EventFormat {
    public let json: Bool
    @usableFromInline var textFields: [Field<Event>]
    @usableFromInline let jsonFields: [Field<Event>]
    public private(set) var header: String?
    /// `-C`: CONTAINER and POD columns after TIME, once attributed.
    private let containerColumns: Bool
    @usableFromInline var workloads: ContainerDirectory?

    public init(_ fields: [Field<Event>], json: Bool, relativeTime: Bool, containerColumns: Bool = false,
                namespacePIDs: Bool = false) {
        self.json = json
        self.containerColumns = containerColumns
        let time = Field<Event>(key: nil, heading: relativeTime ? "TIME(s)" : "TIME", width: 8,
                                text: { e, out, clock in
                                    if relativeTime {
                                        out.append(TimeFormat.relative(e.timestamp, since: clock.start))
                                    } else {
                                        out.appendClock(monotonicNanoseconds: e.timestamp, offset: clock.offset)
                                    }
                                },
                                json: { _, _, _ in })
        // --container-pids: the PID as the task's own PID namespace sees it,
        // after TIME in text and after the task block in JSON.
        let namespaced: [Field<Event>] = namespacePIDs ? [
            Field<Event>(key: "ns_pid", heading: "NSPID", width: 7,
                         text: { e, out, _ in out.appendNumber(e.task.namespacePID) },
                         json: { e, o, _ in
                             o.field("ns_pid", e.task.namespacePID)
                             o.field("ns_tid", e.task.namespaceTID)
                         }),
        ] : []
        textFields = [time] + namespaced + fields.filter { $0.heading != nil }
        jsonFields = namespaced + fields.filter { $0.key != nil }
        header = json ? nil : Self.heading(of: textFields)
    }

    /// The table for `options` (`--json`, `-T`, `-C`, `--container-pids`).
    public init(_ fields: [Field<Event>], options: TraceOptions) {
        self.init(fields, json: options.json, relativeTime: options.timestamp, containerColumns: options.containers,
                  namespacePIDs: options.containerPIDs)
    }

    /// Adds the container fields: `container.id`, `container.name`,
    /// `container.runtime`, `k8s.pod.name`, `k8s.pod.uid` and
    /// `k8s.namespace.name` in JSON when known (OpenTelemetry's names), and
    /// with `-C` the CONTAINER (name, else short ID) and POD
    /// (namespace/name) columns, "-" for none.
    public func attributing(with workloads: ContainerDirectory) -> EventTable {
        var table = self
        table.workloads = workloads
        if containerColumns {
            let container = Field<Event>(key: nil, heading: "CONTAINER", width: 16, text: { e, out, _ in
                let c = workloads.workload(ofCgroup: e.cgroupID).container
                out.append(c.map { $0.name ?? $0.shortID } ?? "-")
            }, json: { _, _, _ in })
            let pod = Field<Event>(key: nil, heading: "POD", width: 24, text: { e, out, _ in
                let p = workloads.workload(ofCgroup: e.cgroupID).pod
                out.append(p.map { "\($0.namespace ?? "?")/\($0.name ?? $0.uid)" } ?? "-")
            }, json: { _, _, _ in })
            table.textFields.insert(contentsOf: [container, pod], at: 1)
            if !json { table.header = Self.heading(of: table.textFields) }
        }
        return table
    }

    static func heading(of fields: [Field<Event>]) -> String {
        var line = ""
        for (i, f) in fields.enumerated() {
            let title = f.heading ?? ""
            if i == fields.count - 1 || f.width == 0 {
                line += title
            } else {
                line += title.padding(toLength: max(f.width, title.count), withPad: " ", startingAt: 0) + " "
            }
        }
        return line
    }

    /// Inlinable, so each tool runs it specialized for its event: generic,
    /// every event paid for type metadata lookups.
    @inlinable
    public func write(_ event: Event, to out: Output, clockOffset: Int64, start: UInt64) {
        let clock = RowClock(offset: clockOffset, start: start)
        if json {
            var o = JSONObject()
            o.task(event, clockOffset: clockOffset)
            if let workloads { o.workload(workloads.workload(ofCgroup: event.cgroupID)) }
            for f in jsonFields { f.json(event, &o, clock) }
            o.write(to: out)
            return
        }
        let last = textFields.count - 1
        var i = 0
        for f in textFields {
            let from = out.count
            f.text(event, out, clock)
            if i < last { out.pad(from: from, to: f.width) }
            i += 1
        }
        out.endLine()
    }
}
