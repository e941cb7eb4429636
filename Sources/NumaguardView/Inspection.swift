#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

/// What `inspect` was asked to look at.
public enum InspectSelection: Sendable {
    case pids([Int])
    /// A regular expression searched in each process's comm and in its command line
    /// joined by spaces (as pgrep -f and numastat -p PATTERN do).
    case pattern(String)
    /// Every user-space process (kernel threads have no memory of their own to place).
    case all
}

/// The outcome of an inspect run: reports for what could be read, failures for the
/// rest, and the exit status that summarises them.
public struct InspectOutcome: Sendable {
    public var reports: [InspectReport]
    public var failures: [InspectDocument.Failure]
    public var status: ExitStatus
}

public enum Inspection {
    public enum Failure: Error, CustomStringConvertible {
        case badPattern(String, reason: String)
        case host(HostError)

        public var description: String {
            switch self {
            case let .badPattern(pattern, reason): "invalid --name pattern \"\(pattern)\": \(reason)"
            case let .host(error): error.description
            }
        }
    }

    /// Each PID once, in the order first given. A few PIDs (the usual command line) are
    /// compared one by one: a Set's generic metadata is built at run time by the static front,
    /// a tenth of a small inspect's start-up; more than a few, as many as the command line
    /// holds, are hashed.
    static func firstOfEach(_ pids: [Int]) -> [Int] {
        guard pids.count > 16 else {
            return pids.indices.filter { index in !pids[..<index].contains(pids[index]) }.map { pids[$0] }
        }
        var seen = Set<Int>()
        return pids.filter { seen.insert($0).inserted }
    }

    public static func run(root: HostRoot, selection: InspectSelection) throws(Failure) -> InspectOutcome {
        let topology: Topology
        do { topology = try TopologyReader.read(root) } catch { throw .host(error) }
        let reader = ProcessReader(root: root)
        var failures: [InspectDocument.Failure] = []
        var missing = false
        let pids: [Int]
        switch selection {
        case let .pids(requested):
            pids = Self.firstOfEach(requested)
        case .all:
            pids = try matching(nil, reader: reader)
        case let .pattern(pattern):
            pids = try matching(pattern, reader: reader)
            if pids.isEmpty {
                failures.append(.init(pid: nil, kind: .missing, error: "no process matches --name \"\(pattern)\""))
                missing = true
            }
        }
        var reports: [InspectReport] = []
        var incomplete = false
        for pid in pids {
            do {
                let snapshot = try reader.read(pid: pid, memory: true, numaEnabled: topology.numaEnabled)
                reports.append(InspectReport(snapshot: snapshot, topology: topology))
            } catch {
                // A PID the user named that exits mid-read leaves the answer incomplete; one
                // found by --name or --all that exits is simply gone, as processes do.
                let named: Bool
                if case .pids = selection { named = true } else { named = false }
                switch error {
                case .noSuchProcess:
                    failures.append(.init(pid: pid, kind: named ? .missing : .gone,
                                          error: named ? error.description : "PID \(pid) exited before it could be read"))
                    missing = missing || named
                case .vanished, .zombie:
                    failures.append(.init(pid: error.pid, kind: .gone, error: error.description))
                    incomplete = incomplete || named
                case .permissionDenied:
                    failures.append(.init(pid: error.pid, kind: .permission, error: error.description))
                    incomplete = true
                case .host:
                    failures.append(.init(pid: error.pid, kind: .error, error: error.description))
                    incomplete = true
                }
            }
        }
        let status: ExitStatus = missing ? .noInput : incomplete ? .incomplete : .success
        return InspectOutcome(reports: reports, failures: failures, status: status)
    }

    /// User-space processes whose comm or command line matches `pattern` (all when nil).
    static func matching(_ pattern: String?, reader: ProcessReader) throws(Failure) -> [Int] {
        var regex: LinearRegex?
        if let pattern {
            do { regex = try LinearRegex(pattern) } catch { throw .badPattern(pattern, reason: "\(error)") }
        }
        let ownPID = reader.root.isLive ? Int(getpid()) : -1
        let all: [Int]
        do { all = try reader.pids() } catch { throw .host(error) }
        return all.filter { pid in
            guard pid != ownPID,
                  let stat = try? reader.root.parse("proc/\(pid)/stat", TaskStatParser.parse),
                  !stat.isKernelThread else { return false }
            guard let regex else { return true }
            let cmdline = CommandLineText.matchable((try? reader.root.readText("proc/\(pid)/cmdline")) ?? "")
            return regex.matches(stat.comm) || regex.matches(cmdline)
        }
    }
}
