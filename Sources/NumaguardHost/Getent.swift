#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

/// The system's own `getent`, for the name-service sources numaguard does not read itself
/// (systemd, sss, ldap, winbind, ...). numaguard's release binary is static: glibc's NSS in it
/// would dlopen libnss_*.so, which pull in the dynamic libc beside the static one and crash.
/// getent is dynamically linked against the system's libc, so it loads those modules as
/// `su` does. Run by absolute path with `--` before its operands, no shell, an environment of
/// `LC_ALL=C` only, default signals, stdin from /dev/null, output bounded in size and time.
public struct Getent: Sendable {
    /// Where distributions install it (Debian, Ubuntu, RHEL: /usr/bin; /bin before usrmerge).
    public static let candidates = ["usr/bin/getent", "bin/getent"]

    public var path: String
    /// Larger answers are refused: an initgroups line for NGROUPS_MAX groups is under 1 MiB.
    public var outputLimit = 1 << 20
    /// A directory server that does not answer must not hold a launch forever.
    public var timeoutSeconds = 30

    public init(path: String) { self.path = path }

    /// The first executable candidate under `root`, nil when there is none.
    public static func find(under root: HostRoot) -> Getent? {
        for candidate in candidates where access(root.absolute(candidate), X_OK) == 0 {
            return Getent(path: root.absolute(candidate))
        }
        return nil
    }

    public struct Answer: Sendable {
        /// nil when the status could not be collected (SIGCHLD ignored: the kernel reaped it).
        public var status: Int32?
        public var stdout: [UInt8]
        public var stderr: [UInt8]

        /// getent's documented "key not found" (2); with no status, an empty answer.
        public var notFound: Bool { status.map { $0 == 2 } ?? stdout.isEmpty }
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case call(SystemCallError)
        case timedOut(String, Int)
        case tooLarge(String, Int)
        case signalled(String, Int32)

        public var description: String {
            switch self {
            case let .call(error): error.description
            case let .timedOut(command, seconds): "\(command) did not answer within \(seconds) s (killed)"
            case let .tooLarge(command, limit): "\(command) printed more than \(limit) bytes (killed)"
            case let .signalled(command, signal): "\(command) was killed by signal \(signal)"
            }
        }
    }

    /// `getent -- DATABASE KEY`, its output and status.
    public func query(_ database: String, _ key: String) throws(Failure) -> Answer {
        let command = "\(path) \(database) \(key)"
        var output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
        do throws(SystemCallError) {
            // pipe2 is behind _GNU_SOURCE; the launcher runs no other thread that could fork
            // between pipe and fcntl, so close-on-exec set right after is as good.
            try SystemCall.check("pipe", path) { pipe(&output) }
            try SystemCall.check("pipe", path) { pipe(&errors) }
            for fd in output + errors { try SystemCall.check("fcntl", path) { fcntl(fd, F_SETFD, FD_CLOEXEC) } }
        } catch {
            for fd in output + errors where fd >= 0 { close(fd) }
            throw .call(error)
        }
        let pid: pid_t
        do {
            pid = try spawn(["getent", "--", database, key], stdout: output[1], stderr: errors[1])
        } catch {
            for fd in output + errors { close(fd) }
            throw error
        }
        close(output[1])
        close(errors[1])
        defer {
            close(output[0])
            close(errors[0])
        }
        var answer = Answer(status: nil, stdout: [], stderr: [])
        let collected: Failure? = collect(from: output[0], errors[0], into: &answer, command: command)
        if collected != nil { kill(pid, SIGKILL) }
        var status: Int32 = 0
        var reaped = true
        do {
            try SystemCall.check("waitpid", "\(pid)") { waitpid(pid, &status, 0) }
        } catch {
            // ECHILD: the caller ignores SIGCHLD, so the kernel reaped getent itself.
            guard error.errno == Errno(ECHILD) else { throw .call(error) }
            reaped = false
        }
        if let collected { throw collected }
        if reaped {
            let signal = status & 0x7F
            guard signal == 0 else { throw .signalled(command, signal) }
            answer.status = (status >> 8) & 0xFF
        }
        return answer
    }

    private func spawn(_ arguments: [String], stdout: Int32, stderr: Int32) throws(Failure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Whatever the wrapper inherited (a blocked or ignored signal) is not getent's.
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        let environment: [UnsafeMutablePointer<CChar>?] = [strdup("LC_ALL=C"), nil]
        defer { for pointer in argv + environment { free(pointer) } }
        var pid: pid_t = 0
        do {
            // posix_spawn returns the error number rather than setting errno.
            try SystemCall.check("posix_spawn", path) { () -> Int32 in
                let result = posix_spawn(&pid, path, &actions, &attributes, argv, environment)
                if result == 0 { return 0 }
                errno = result
                return -1
            }
        } catch {
            throw .call(error)
        }
        return pid
    }

    /// Reads both pipes until both close, within the size and time bounds.
    private func collect(from out: Int32, _ err: Int32, into answer: inout Answer, command: String) -> Failure? {
        let deadline = SystemClock.monotonic() + Double(timeoutSeconds)
        var open: [Int32] = [out, err]
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while !open.isEmpty {
            let remaining = Int(((deadline - SystemClock.monotonic()) * 1000).rounded(.up))
            guard remaining > 0 else { return .timedOut(command, timeoutSeconds) }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready: Int32
            do {
                ready = try SystemCall.check("poll", command) { poll(&fds, nfds_t(fds.count), Int32(remaining)) }
            } catch {
                return .call(error)
            }
            if ready == 0 { continue }
            for descriptor in fds where descriptor.revents != 0 {
                let count: Int
                do {
                    count = try SystemCall.check("read", command) { buffer.withUnsafeMutableBytes { read(descriptor.fd, $0.baseAddress, $0.count) } }
                } catch {
                    return .call(error)
                }
                if count == 0 {
                    open.removeAll { $0 == descriptor.fd }
                    continue
                }
                guard answer.stdout.count + answer.stderr.count + count <= outputLimit else { return .tooLarge(command, outputLimit) }
                if descriptor.fd == out {
                    answer.stdout.append(contentsOf: buffer[..<count])
                } else {
                    answer.stderr.append(contentsOf: buffer[..<count])
                }
            }
        }
        return nil
    }
}
