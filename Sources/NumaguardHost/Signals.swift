#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import NumaguardCore

/// What of this process's signal state survives exec: the blocked mask and the ignored
/// signals (a supervisor's SIGPIPE, nohup's SIGHUP); caught signals are reset by exec itself.
/// Read from the SigBlk and SigIgn lines of /proc/self/status, which the launcher reads
/// anyway for its allowed CPUs and nodes, rather than 64 sigaction calls or a second read on
/// a launch path measured against numactl.
public struct SignalState: Equatable, Sendable {
    public var blocked: UInt64
    public var ignored: UInt64

    /// Every signal, for when the status cannot be read: reset them all.
    public static let unknown = SignalState(blocked: ~0, ignored: ~0)

    public init(blocked: UInt64, ignored: UInt64) {
        self.blocked = blocked
        self.ignored = ignored
    }

    /// From a /proc/PID/status text; a missing or malformed line counts as every signal.
    public init(status: String) {
        func mask(_ key: String) -> UInt64 {
            guard let value = ProcStatus.value(of: key, in: status), let bits = Lex.hexadecimal(value) else { return ~0 }
            return bits
        }
        self.init(blocked: mask("SigBlk"), ignored: mask("SigIgn"))
    }
}

public enum Signals {
    /// Unblocks everything and restores the default action of every ignored signal in `state`.
    public static func resetForExec(_ state: SignalState) throws(SystemCallError) {
        if state.blocked != 0 {
            var empty = sigset_t()
            sigemptyset(&empty)
            try SystemCall.check("sigprocmask", "SIG_SETMASK empty") { sigprocmask(SIG_SETMASK, &empty, nil) }
        }
        for signal in 1..<Int32(65) where signal != SIGKILL && signal != SIGSTOP && state.ignored & (1 << UInt64(signal - 1)) != 0 {
            try SystemCall.check("rt_sigaction", "signal \(signal) to SIG_DFL") { clinux_default_signal(signal) }
        }
    }
}
