// SPDX-License-Identifier: BSD-2-Clause
import Glibc

/// Writes to standard output and standard error that survive a reader
/// going away: with SIGPIPE ignored (every tool ignores it), a write to a
/// closed pipe fails with EPIPE, which these report instead of trapping
/// (FileHandle's write traps on it).
public enum StandardStreams {
    /// Writes all of `text` to `fd`; false when it could not (the reader
    /// went away, or another error).
    @discardableResult
    public static func write(_ text: String, to fd: Int32) -> Bool {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }

    /// A line on standard output; false when it could not be written.
    @discardableResult
    public static func out(_ line: String) -> Bool { write(line + "\n", to: STDOUT_FILENO) }

    /// A line on standard error; a closed stream is ignored.
    public static func error(_ line: String) { write(line + "\n", to: STDERR_FILENO) }
}
