// SPDX-License-Identifier: BSD-2-Clause
import Foundation
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
                if errno == EAGAIN {
                    // A non-blocking descriptor that is full: wait for room.
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if poll(&p, 1, -1) >= 0 && p.revents & Int16(POLLERR | POLLHUP) == 0 { continue }
                }
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

extension StandardStreams {
    /// Whether the reader of standard output or standard error has gone
    /// away (see `whenClosed`), asked now without waiting.
    public static var isClosed: Bool {
        var fds = [STDOUT_FILENO, STDERR_FILENO].map { pollfd(fd: fcntl($0, F_GETFD) == -1 ? -1 : $0, events: 0, revents: 0) }
        return poll(&fds, nfds_t(fds.count), 0) > 0 && fds.contains { $0.revents & Int16(POLLERR | POLLHUP) != 0 }
    }

    /// Calls `handler` once, from another thread, when the reader of
    /// standard output or standard error goes away (a pipe's last reader
    /// closes, a socket's peer hangs up, a terminal hangs up), even while
    /// nothing is being written. A thread waits in poll(2) asking for no
    /// events, so it wakes only for an error or a hang-up: never for a
    /// terminal, file or /dev/null that stays.
    public static func whenClosed(_ handler: @escaping @Sendable () -> Void) {
        Thread.detachNewThread {
            // A stream closed from the start (2>&-) is left out (-1).
            var fds = [STDOUT_FILENO, STDERR_FILENO].map { pollfd(fd: fcntl($0, F_GETFD) == -1 ? -1 : $0, events: 0, revents: 0) }
            while true {
                let n = poll(&fds, nfds_t(fds.count), -1)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return }
                if fds.contains(where: { $0.revents & Int16(POLLERR | POLLHUP) != 0 }) {
                    handler()
                    return
                }
            }
        }
    }
}
