/// numaguard's documented exit codes (README "Exit codes"; DESIGN.md). One table so every
/// command agrees, and so tests can name codes rather than repeat numbers. Which error gives
/// which code is decided in one place too: Sources/numaguard-tool/ErrorStatus.swift.
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
    /// A file was read but is not what it should be: a snapshot or plan that is not one of
    /// this format, a damaged journal line (EX_DATAERR).
    case dataError = 65
    /// What was asked for does not exist: a PID, a pattern that matched nothing, an input file
    /// (policy, snapshot, plan, journal, launch records) that is missing or cannot be read (EX_NOINPUT).
    case noInput = 66
    /// A part of numaguard is missing: `numaguard-tool` is not installed beside `numaguard`
    /// (EX_UNAVAILABLE). Reinstalling fixes it; nothing about the host or the input does.
    case unavailable = 69
    /// The host itself could not be read (/proc or /sys missing or malformed), or the system
    /// refused what numaguard needs to read it (signalfd). Never used for outputs (73) or
    /// for files the user names (66).
    case hostUnreadable = 71
    /// An output (--out, --textfile, --events, --journal, certify's directory, watch's
    /// --listen socket) could not be created, written or bound, or was refused (a link or
    /// special file another user could have planted) (EX_CANTCREAT). Nothing else was written.
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
