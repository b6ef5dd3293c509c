// SPDX-License-Identifier: BSD-2-Clause
// swiftbpf-testhelper: performs syscalls when told, so a test knows the PID
// of the process it traces before the events happen. One command per line
// on stdin, one answer per line on stdout ("ok N" or "err ERRNO"):
//   mkdir PATH MODE(octal)       mkdirat DIR NAME MODE(octal)
//   open PATH FLAGS(decimal)     getpriority COUNT
//   exec PATH ARG...             kill PID SIGNAL
//   listen PORT (TCP)            connect ADDR PORT TIMEOUT_MS (TCP)
//   udpbind PORT                 udpsend ADDR PORT   udprecv TIMEOUT_MS
//   create PATH (O_CREAT|O_EXCL) mknod PATH           unlink PATH
//   worker (a thread that waits; answers its TID)
//   vfsload DIR N (the worker does N × mknod, open, write, fsync, pread,
//     close and mkdir in DIR, then exits: exact VFS counts for that TID)
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

nonisolated(unsafe) var udpSocket: Int32 = -1

extension sockaddr_in {
    init(port: UInt16, address: in_addr_t) {
        self.init()
        sin_family = sa_family_t(AF_INET)
        sin_port = port.bigEndian
        sin_addr = in_addr(s_addr: address)
    }
}

/// 0 when a TCP handshake completes within the timeout, else -1 with errno.
/// Connections `connect ... hold` keeps open until the helper exits.
nonisolated(unsafe) var heldSockets: [Int32] = []

func connectWithTimeout(_ address: String, _ port: UInt16, _ timeoutMs: Int32, hold: Bool = false) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    defer { if hold { heldSockets.append(fd) } else { close(fd) } }
    var a = sockaddr_in(port: port, address: inet_addr(address))
    let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, 16) } }
    if rc == 0 { return 0 }
    guard errno == EINPROGRESS else { return -1 }
    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
    if poll(&p, 1, timeoutMs) != 1 { errno = ETIMEDOUT; return -1 }
    var err: Int32 = 0
    var len = socklen_t(4)
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
    if err != 0 { errno = err; return -1 }
    return 0
}

/// The worker thread and its job: it waits on `workerStart`, does the job
/// and exits, so nothing but the job runs under its TID.
nonisolated(unsafe) var workerThread = pthread_t()
nonisolated(unsafe) var workerStart = sem_t()
nonisolated(unsafe) var workerTID = sem_t()
nonisolated(unsafe) var workerJob: (dir: String, count: Int) = ("", 0)
nonisolated(unsafe) var workerFailures: Int32 = 0
nonisolated(unsafe) var workerID: pid_t = 0

func vfsLoad(_ dir: String, _ count: Int) {
    var buffer: [UInt8] = [1, 2, 3, 4]
    for i in 0..<count {
        let file = "\(dir)/f\(i)"
        if mknod(file, S_IFREG | 0o600, 0) != 0 { workerFailures += 1 }
        let fd = open(file, O_RDWR)
        if fd < 0 { workerFailures += 1; continue }
        if write(fd, &buffer, 4) != 4 { workerFailures += 1 }
        if fsync(fd) != 0 { workerFailures += 1 }
        if pread(fd, &buffer, 4, 0) != 4 { workerFailures += 1 }
        close(fd)
        if mkdir("\(dir)/d\(i)", 0o700) != 0 { workerFailures += 1 }
    }
}

/// Not main-actor code: it runs on the worker thread.
nonisolated func workerMain(_: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    var link = [CChar](repeating: 0, count: 64)  // "PID/task/TID"
    let n = readlink("/proc/thread-self", &link, 63)
    workerID = pid_t(String(decoding: link.prefix(max(0, n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        .split(separator: "/").last ?? "") ?? 0
    sem_post(&workerTID)
    sem_wait(&workerStart)
    vfsLoad(workerJob.dir, workerJob.count)
    return nil
}

func answer(_ rc: Int32) {
    say(rc < 0 ? "err \(errno)" : "ok \(rc)")
}

while let line = readLine() {
    let w = line.split(separator: " ", omittingEmptySubsequences: true).map { unescape(String($0)) }
    guard let command = w.first else { continue }
    switch command {
    case "name" where w.count == 2:
        // A command name of the test's choosing ("a\\nb\\s999": a newline in it).
        // (prctl is variadic; this thread's comm file does the same.)
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        let n = fd < 0 ? -1 : write(fd, w[1], w[1].utf8.count)
        if fd >= 0 { close(fd) }
        answer(Int32(n))
    case "getppid" where w.count == 2:
        var parent: pid_t = 0
        for _ in 0..<(Int(w[1]) ?? 1) { parent = getppid() }
        answer(parent)
    case "spin" where w.count == 2:
        // Busy on the CPU for this many milliseconds.
        func now() -> Int64 { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec) }
        let end = now() + (Int64(w[1]) ?? 0) * 1_000_000
        var spins: Int32 = 0
        while now() < end { spins &+= 1 }
        answer(spins & 1)
    case "mkdir" where w.count == 3:
        answer(mkdir(w[1], mode_t(w[2], radix: 8) ?? 0o777))
    case "mkdirs" where w.count == 3:
        // The same directory N times: made once, EEXIST after; a storm of
        // exactly N traced calls. Answers how many were made.
        var made: Int32 = 0
        for _ in 0..<(Int(w[2]) ?? 0) where mkdir(w[1], 0o755) == 0 { made += 1 }
        answer(made)
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
    case "listen" where w.count == 2:
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
        var a = sockaddr_in(port: UInt16(w[1]) ?? 0, address: INADDR_ANY)
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, 16) } }
        answer(rc < 0 ? rc : listen(fd, 64))
    case "connect" where w.count == 4 || (w.count == 5 && w[4] == "hold"):
        answer(connectWithTimeout(w[1], UInt16(w[2]) ?? 0, Int32(w[3]) ?? 1000, hold: w.count == 5))
    case "udpbind" where w.count == 2:
        udpSocket = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in(port: UInt16(w[1]) ?? 0, address: INADDR_ANY)
        answer(withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udpSocket, $0, 16) } })
    case "udpsend" where w.count == 3:
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in(port: UInt16(w[2]) ?? 0, address: inet_addr(w[1]))
        let n = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, "x", 1, 0, $0, 16) } }
        close(fd)
        answer(Int32(n))
    case "udprecv" where w.count == 2:
        var p = pollfd(fd: udpSocket, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, Int32(w[1]) ?? 1000) != 1 { errno = ETIMEDOUT; answer(-1); continue }
        var buf = [UInt8](repeating: 0, count: 64)
        answer(Int32(recv(udpSocket, &buf, 64, 0)))
    case "create" where w.count == 2:
        let fd = open(w[1], O_CREAT | O_EXCL | O_WRONLY, 0o600)
        answer(fd)
        if fd >= 0 { close(fd) }
    case "mknod" where w.count == 2:
        answer(mknod(w[1], S_IFREG | 0o600, 0))
    case "unlink" where w.count == 2:
        answer(unlink(w[1]))
    case "worker":
        sem_init(&workerStart, 0, 0)
        sem_init(&workerTID, 0, 0)
        let rc = pthread_create(&workerThread, nil, workerMain, nil)
        if rc != 0 { say("err \(rc)"); continue }
        sem_wait(&workerTID)
        answer(workerID)
    case "vfsload" where w.count == 3:
        workerJob = (w[1], Int(w[2]) ?? 0)
        sem_post(&workerStart)
        pthread_join(workerThread, nil)
        answer(workerFailures == 0 ? 0 : -1)
    case "exit":
        exit(0)
    default:
        say("err unknown command")
    }
}
