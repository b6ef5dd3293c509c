// swiftbpf-testhelper: performs syscalls when told, so a test knows the PID
// of the process it traces before the events happen. One command per line
// on stdin, one answer per line on stdout ("ok N" or "err ERRNO"):
//   mkdir PATH MODE(octal)       mkdirat DIR NAME MODE(octal)
//   open PATH FLAGS(decimal)     getpriority COUNT
//   exec PATH ARG...             kill PID SIGNAL
//   exit
// In arguments, \n stands for a newline and \s for a space.
import Glibc

// Answers go straight to the pipe (no stdio buffering between commands).
func say(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

say("ready \(getpid())")

func unescape(_ word: String) -> String {
    var out = "", escaped = false
    for c in word {
        if escaped {
            out.append(c == "n" ? "\n" : c == "s" ? " " : c)
            escaped = false
        } else if c == "\\" {
            escaped = true
        } else {
            out.append(c)
        }
    }
    return out
}

func answer(_ rc: Int32) {
    say(rc < 0 ? "err \(errno)" : "ok \(rc)")
}

while let line = readLine() {
    let w = line.split(separator: " ", omittingEmptySubsequences: true).map { unescape(String($0)) }
    guard let command = w.first else { continue }
    switch command {
    case "mkdir" where w.count == 3:
        answer(mkdir(w[1], mode_t(w[2], radix: 8) ?? 0o777))
    case "mkdirat" where w.count == 4:
        let dir = open(w[1], O_RDONLY | O_DIRECTORY)
        guard dir >= 0 else { answer(dir); continue }
        answer(mkdirat(dir, w[2], mode_t(w[3], radix: 8) ?? 0o777))
        close(dir)
    case "open" where w.count == 3:
        let fd = open(w[1], Int32(w[2]) ?? 0)
        answer(fd)
        if fd >= 0 { close(fd) }
    case "getpriority" where w.count == 2:
        for _ in 0..<(Int(w[1]) ?? 1) { _ = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
        answer(0)
    case "exec" where w.count >= 2:
        // Only returns (and answers) when the exec fails.
        var argv: [UnsafeMutablePointer<CChar>?] = w.dropFirst().map { strdup($0) } + [nil]
        answer(execv(w[1], &argv))
    case "kill" where w.count == 3:
        answer(kill(pid_t(w[1]) ?? 0, Int32(w[2]) ?? 0))
    case "exit":
        exit(0)
    default:
        say("err unknown command")
    }
}
