#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

/// Signal state survives exec: a blocked mask and ignored signals (a supervisor's SIGPIPE,
/// nohup's SIGHUP) would reach the program; caught signals are reset by exec itself. Reset
/// what /proc/self/status says is blocked or ignored (every signal when it cannot be read),
/// rather than 64 sigaction calls on a launch path measured against numactl.
public enum Signals {
    public static func resetForExec() throws(SystemCallError) {
        let status = try? HostRoot.live.readSmallText("proc/self/status")
        func mask(_ key: String) -> UInt64 {
            guard let status, let value = ProcStatus.value(of: key, in: status), let bits = UInt64(value, radix: 16) else { return ~0 }
            return bits
        }
        if mask("SigBlk") != 0 {
            var empty = sigset_t()
            sigemptyset(&empty)
            try SystemCall.check("sigprocmask", "SIG_SETMASK empty") { sigprocmask(SIG_SETMASK, &empty, nil) }
        }
        let ignored = mask("SigIgn")
        for signal in 1..<Int32(65) where signal != SIGKILL && signal != SIGSTOP && ignored & (1 << UInt64(signal - 1)) != 0 {
            var action = sigaction()
            sigemptyset(&action.sa_mask)
            // glibc keeps 32 and 33 for its threads and refuses them with EINVAL; an ignore
            // inherited on those two survives (sigaction is the only way Swift can reach).
            if sigaction(signal, &action, nil) == -1, !(32...33).contains(signal) {
                throw SystemCallError(call: "sigaction", subject: "signal \(signal)", errno: Errno(errno))
            }
        }
    }
}
