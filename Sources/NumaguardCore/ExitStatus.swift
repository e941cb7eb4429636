/// numaguard's documented exit codes (README "Exit codes"; DESIGN.md). One table so every
/// command agrees, and so tests can name codes rather than repeat numbers.
public enum ExitStatus: Int32, Sendable {
    /// Done, nothing wrong.
    case success = 0
    /// audit/certify/diff: violations or drift.
    case violations = 1
    /// plan: changes pending.
    case pending = 2
    /// Something could not be inspected (permission, a process that exited mid-read):
    /// the output is partial and says what is missing.
    case incomplete = 3
    /// Bad command line (EX_USAGE).
    case usage = 64
    /// What was asked for does not exist: a PID, a pattern that matched nothing (EX_NOINPUT).
    case noInput = 66
    /// The host itself could not be read (EX_OSFILE-like: /proc or /sys missing or malformed).
    case hostUnreadable = 71
    /// An output file cannot be created or written where it was asked for: `watch --textfile`
    /// naming a directory or a place that cannot be written, found at start (EX_CANTCREAT).
    case cannotCreate = 73
    /// Missing privilege for an action (EX_NOPERM).
    case noPermission = 77
    /// Invalid policy (EX_CONFIG).
    case invalidPolicy = 78
    /// run: numaguard itself failed or refused before exec (as env(1) and timeout(1) do).
    case launchFailed = 125
    /// run: the program was found but could not be executed.
    case notExecutable = 126
    /// run: the program was not found.
    case notFound = 127
}
