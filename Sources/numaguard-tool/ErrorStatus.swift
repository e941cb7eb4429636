import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardPolicy
import NumaguardReport
import NumaguardSnapshot
import NumaguardWatch

/// Which error gives which exit status, for every command of numaguard-tool, in one place
/// (README "Exit codes", DESIGN.md). Commands pass the error they caught; they do not pick
/// numbers. The rule behind the table:
///
/// - 64 usage: the command line asks for something impossible (decided where it is checked).
/// - 65 bad data: a file was read and is not what it should be (a snapshot, a plan, a journal).
/// - 66 no input: a file the user names (or the default journal) is missing or cannot be
///   read, a process or pattern that is not there.
/// - 69 unavailable: a part of numaguard is missing (the front's ToolHandoff, which links
///   none of this, uses `ExitStatus.unavailable` directly).
/// - 71 host unreadable: /proc or /sys could not be read, or the system refused what reading
///   it needs.
/// - 73 cannot create: an output (a file, a directory, the journal, the /metrics socket).
/// - 77 no permission, 78 invalid policy.
///
/// `run` keeps its own contract (125/126/127, NumaguardLaunch): whatever stops it before
/// exec is 125, as env(1) does, so its status never collides with the program's. `inspect` and
/// `topology` map theirs beside QuickCommand (`Inspection.Failure.exitStatus`), which the front shares.
extension ExitStatus {
    /// 66 when the policy file could not be read at all (fix the path), 78 when it was read
    /// and is wrong (fix the policy).
    init(_ error: PolicyErrors) {
        self = error.unreadable == nil ? .invalidPolicy : .noInput
    }

    /// A read of /proc or /sys: the host.
    init(host error: HostError) {
        self = .hostUnreadable
    }

    /// A read of a file the user named (a snapshot, a plan, the --launch-records directory):
    /// missing or unreadable, it is an input that is not there, whatever the errno.
    init(inputFile error: HostError) {
        self = .noInput
    }

    /// A document numaguard wrote earlier (a snapshot, a plan) that is not one of this
    /// kind and format: bad data.
    init(_ error: DocumentError) {
        self = .dataError
    }

    init(_ error: OutputError) {
        self = .cannotCreate
    }

    init(_ error: Auditor.Failure) {
        self = .hostUnreadable
    }

    /// certify's window: the counters, the audit or the wait refused by the host.
    init(_ error: CertificationWindow.Failure) {
        self = .hostUnreadable
    }

    /// The journal is an input for undo and an output for apply, undo and migrate.
    init(_ error: JournalError) {
        self = if error.cannotCreate { .cannotCreate }
            else if error.denied { .noPermission }  // undo: a privileged rerun reads it
            else if error.damaged { .dataError }
            else { .noInput }  // missing, or unreadable otherwise (a directory)
    }

    init(_ error: PolicyInit.Failure) {
        self = switch error {
        case .noProcess: .noInput
        case .badName: .usage
        case .unreadable: .incomplete
        case .host: .hostUnreadable
        }
    }

    /// migrate's one process.
    init(_ error: ProcessReadError) {
        self = switch error {
        case .noSuchProcess, .vanished, .zombie: .noInput
        case .permissionDenied: .noPermission
        case .host: .hostUnreadable
        }
    }

    /// apply --plan: a plan or its policy that cannot be used is a missing input; one from
    /// another boot, or whose policy changed since, means plan again.
    init(_ error: SavedPlan.Refusal) {
        self = switch error.kind {
        case .unreadable, .untrustedPolicy: .noInput
        case .otherBoot, .policyChanged: .usage
        }
    }

    /// No yes: off a terminal without --yes is usage; a no leaves the changes pending.
    init(_ error: Consent.Refusal) {
        self = switch error {
        case .noTerminal: .usage
        case .declined: .pending
        }
    }

    /// migrate's refusals before anything changes.
    init(_ error: Migration.Refusal) {
        self = switch error {
        case .usage: .usage
        case let .host(error): ExitStatus(host: error)
        case let .process(error): ExitStatus(error)
        }
    }


    /// watch before it starts; once running, nothing ends it.
    init(_ error: WatchFailure) {
        self = switch error.stage {
        case .topology, .signals: .hostUnreadable
        // The /metrics endpoint is an output like --textfile: one that could not be made.
        case .textfile, .events, .series, .listen: .cannotCreate
        case .usage: .usage
        }
    }

    init(_ error: CaptureError) {
        self = .hostUnreadable
    }
}
