import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// A process as the audit first sees it: a PID. Everything a match rule may ask for
/// (comm, command line, exe, uid, cgroup) is read when first asked, so matching a thousand
/// processes costs only the reads the policy's rules really use; the kernel builds each
/// /proc file on demand, and stat is the dearest of them. Kernel threads need no filter:
/// they have no command line or exe, and only a comm rule naming one could claim it.
final class CandidateProcess {
    let pid: Int
    let reader: ProcessReader
    private var cachedComm: String?
    private var cachedCmdline: String?
    private var cachedCmdlineScalars: [Unicode.Scalar]?
    private var cachedExe: String??
    private var cachedExeDenied = false
    private var cachedUID: Int??
    private var cachedCgroup: String?

    init(pid: Int, reader: ProcessReader) {
        self.pid = pid
        self.reader = reader
    }

    /// Seeds a value read ahead (in parallel) so the first ask costs nothing.
    func seed(_ file: String, _ value: String) {
        if file == "comm" { cachedComm = value } else { cachedCmdline = value }
    }

    var comm: String {
        if let cachedComm { return cachedComm }
        let value = Self.read("comm", pid: pid, root: reader.root)
        cachedComm = value
        return value
    }

    /// Arguments joined by single spaces (the NULs between them become spaces).
    var cmdline: String {
        if let cachedCmdline { return cachedCmdline }
        let value = Self.read("cmdline", pid: pid, root: reader.root)
        cachedCmdline = value
        return value
    }

    /// The command line as the regex engine reads it, converted once for all the workloads.
    var cmdlineScalars: [Unicode.Scalar] {
        if let cachedCmdlineScalars { return cachedCmdlineScalars }
        let value = Array(cmdline.unicodeScalars)
        cachedCmdlineScalars = value
        return value
    }

    /// nil for a kernel thread (no exe) and when the link may not be read (`exeDenied`).
    var exe: String? {
        if let cachedExe { return cachedExe }
        var value: String?
        do {
            value = try reader.root.readLink("proc/\(pid)/exe")
        } catch {
            // Another user's exe needs ptrace read access (CAP_SYS_PTRACE): unknown, not absent.
            cachedExeDenied = error.isPermission
        }
        cachedExe = .some(value)
        return value
    }

    /// True when /proc/PID/exe exists but may not be read by this process.
    var exeDenied: Bool {
        _ = exe
        return cachedExeDenied
    }

    var uid: Int? {
        if let cachedUID { return cachedUID }
        let value = (try? reader.root.parse("proc/\(pid)/status") { ProcStatus.parse($0, keeping: ["Uid"]) })?.uids.first
        cachedUID = .some(value)
        return value
    }

    var cgroup: String {
        if let cachedCgroup { return cachedCgroup }
        let entries = (try? reader.root.parse("proc/\(pid)/cgroup", CgroupEntry.parse)) ?? []
        let value = entries.first { $0.hierarchy == 0 }?.path ?? entries.first?.path ?? ""
        cachedCgroup = value
        return value
    }

    /// The two files match rules read for every process, in the form the rules compare.
    static func read(_ file: String, pid: Int, root: HostRoot) -> String {
        switch file {
        case "comm":
            return String(Lex.trimmed((try? root.readSmallText("proc/\(pid)/comm")) ?? ""))
        default:
            return CommandLineText.matchable((try? root.readSmallText("proc/\(pid)/cmdline")) ?? "")
        }
    }
}

/// Decides which processes a workload's `match` claims. Every given field must hold.
/// `cmdline` patterns run on `LinearRegex`, so no command line can make matching slow.
final class ProcessMatcher {
    private let root: HostRoot
    private var regexes: [String: LinearRegex] = [:]
    /// /etc/passwd, read once; a name is looked up in it as `run --user` does (AccountFiles).
    private lazy var passwd: [UInt8] = (try? root.readBytes("etc/passwd")) ?? []
    /// Each name looked up so far, by its bytes (String keys would merge canonically equal
    /// names); -1 for one passwd does not hold.
    private var uids: [[UInt8]: Int] = [:]

    init(root: HostRoot) { self.root = root }

    /// Whether a rule holds for a process, or cannot be told: an `exe` rule over a process
    /// whose executable this process may not read (the rule's other fields holding).
    enum Verdict: Equatable {
        case match, noMatch
        case unknown(String)
    }

    func matches(_ match: ProcessMatch, _ process: CandidateProcess) -> Bool { verdict(match, process) == .match }

    /// Every one of `workloads` whose match holds for `process`, in order, and those whose
    /// match cannot be judged, with why.
    func verdicts(_ workloads: [Workload], _ process: CandidateProcess) -> (claiming: [Workload], undecided: [(workload: Workload, reason: String)]) {
        var claiming: [Workload] = []
        var undecided: [(workload: Workload, reason: String)] = []
        for workload in workloads {
            switch verdict(workload.match, process) {
            case .match: claiming.append(workload)
            case .noMatch: break
            case let .unknown(reason): undecided.append((workload, reason))
            }
        }
        return (claiming, undecided)
    }

    /// Cheapest reads first: comm and the exe link before the command line, which the kernel
    /// reads under the process's mmap lock.
    func verdict(_ match: ProcessMatch, _ process: CandidateProcess) -> Verdict {
        // Names and paths compared as bytes: String's == holds canonically equivalent spellings
        // equal (a binary at /opt/\u{212A}x/srv would be /opt/Kx/srv's).
        if let comm = match.comm, !process.comm.utf8.elementsEqual(comm.utf8) { return .noMatch }
        var exeUnknown: String?
        if let exe = match.exe, !(process.exe.map { $0.utf8.elementsEqual(exe.utf8) } ?? false) {
            guard process.exeDenied else { return .noMatch }
            exeUnknown = exe
        }
        if let prefix = match.cgroup {
            let cgroup = process.cgroup
            guard PathText.isWithin(cgroup, prefix) else { return .noMatch }
        }
        if let unit = match.systemdUnit, !PathText.names(in: process.cgroup).contains(where: { $0.utf8.elementsEqual(unit.utf8) }) { return .noMatch }
        if let user = match.user {
            guard let uid = process.uid, uid == (Int(user) ?? passwdUID(named: user)) else { return .noMatch }
        }
        if let pattern = match.cmdline {
            guard let regex = regex(pattern), regex.search(process.cmdlineScalars).matched else { return .noMatch }
        }
        if let exe = exeUnknown {
            return .unknown("/proc/\(process.pid)/exe cannot be read, so whether it is \(exe) is unknown: "
                            + process.reader.permissionRemedy(pid: process.pid))
        }
        return .match
    }

    /// Patterns were validated when the policy loaded; one that fails here matches nothing.
    private func regex(_ pattern: String) -> LinearRegex? {
        if let known = regexes[pattern] { return known }
        guard let compiled = try? LinearRegex(pattern) else { return nil }
        regexes[pattern] = compiled
        return compiled
    }

    /// User names from the host's own /etc/passwd (under the same root as everything else).
    /// The uid of the first passwd entry named `user`, compared by bytes; -1 when none is.
    private func passwdUID(named user: String) -> Int {
        let key = Array(user.utf8)
        if let known = uids[key] { return known }
        let found = AccountFiles.passwd(.name(user), in: passwd).entry.map { Int($0.uid) } ?? -1
        uids[key] = found
        return found
    }
}

/// Which workloads claim which processes, by the audit's own match rules, for callers outside
/// the audit: `watch` finds its protected processes with it, and `migrate --policy` asks it
/// before it touches a process that may be protected.
public struct WorkloadClaims {
    private let reader: ProcessReader
    private let matcher: ProcessMatcher

    public init(root: HostRoot) {
        reader = ProcessReader(root: root)
        matcher = ProcessMatcher(root: root)
    }

    public struct Claims {
        /// Processes claimed, by PID ascending, each with the first workload whose match holds.
        public var claimed: [(pid: Int, workload: Workload)] = []
        /// Processes no workload claims but one might: its `match.exe` could not be judged
        /// (the reason says why). Never silently "not matched".
        public var undecided: [(pid: Int, workload: Workload, reason: String)] = []
    }

    /// Every live process claimed by one of `workloads`. PIDs for which `skipping` is true are
    /// not looked at, not a file of theirs read (watch keeps the processes it already knows
    /// out of its rediscovery: their command lines take their mmap locks).
    public func claims(_ workloads: [Workload], skipping: (Int) -> Bool = { _ in false }) throws(HostError) -> Claims {
        var claims = Claims()
        guard !workloads.isEmpty else { return claims }
        for pid in try reader.pids() where !skipping(pid) {
            let process = CandidateProcess(pid: pid, reader: reader)
            var claimedBy: Workload?
            var unknown: (Workload, String)?
            for workload in workloads {
                let verdict = matcher.verdict(workload.match, process)
                if verdict == .match {
                    claimedBy = workload
                    break
                }
                if case let .unknown(reason) = verdict, unknown == nil { unknown = (workload, reason) }
            }
            if let claimedBy {
                claims.claimed.append((pid, claimedBy))
            } else if let (workload, reason) = unknown {
                claims.undecided.append((pid, workload, reason))
            }
        }
        return claims
    }

    /// Every one of `workloads` whose match holds for `pid` (audit counts the first; a caller
    /// deciding whether a process is protected must see them all).
    public func workloads(claiming pid: Int, among workloads: [Workload]) -> [Workload] {
        verdicts(pid, among: workloads).claiming
    }

    /// Which of `workloads` claim `pid`, and which cannot be judged for it and why (a caller
    /// about to change the process must treat those as possibly claiming it): one look at the
    /// process, each file read at most once.
    public func verdicts(_ pid: Int, among workloads: [Workload]) -> (claiming: [Workload], undecided: [(workload: Workload, reason: String)]) {
        matcher.verdicts(workloads, CandidateProcess(pid: pid, reader: reader))
    }
}
