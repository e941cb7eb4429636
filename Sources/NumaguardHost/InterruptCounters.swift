import NumaguardCore

/// What certify's window and watch read around isolated and reserved CPUs: /proc/interrupts,
/// and (certify) every thread's stat and status, for the protected threads' involuntary
/// context switches. Only task stat and status are read, never numa_maps, cmdline or environ,
/// so a protected process is read as an observer may (`ThreadPlacementReader`).
public struct IsolationCounters: Equatable, Sendable {
    public var interrupts: InterruptTable
    /// nil when not asked for.
    public var threads: ThreadScan?

    public init(interrupts: InterruptTable, threads: ThreadScan? = nil) {
        self.interrupts = interrupts
        self.threads = threads
    }

    /// `threads`: also scan every thread (the PIDs given, else every process in proc/).
    public static func read(_ root: HostRoot, threads: Bool, pids: [Int]? = nil) throws(HostError) -> IsolationCounters {
        let table = try InterruptsReader.read(root)
        return IsolationCounters(interrupts: table, threads: threads ? try ThreadPlacementReader.read(root, pids: pids) : nil)
    }
}

/// /proc/interrupts, streamed through the one-pass scanner (64 MiB at most: 8192 CPU columns
/// of `%10u` for 100,000 IRQs stays well below it), never held whole.
public enum InterruptsReader {
    public static let path = "proc/interrupts"

    public static func read(_ root: HostRoot) throws(HostError) -> InterruptTable {
        var scanner = InterruptsScanner()
        let outcome = try root.streamContents(path, chunkSize: 64 * 1024) { (chunk) throws(ParseError) in try scanner.scan(chunk) }
        do {
            try outcome.get()
            return try scanner.finish()
        } catch {
            throw .malformed(path: root.absolute(path), error)
        }
    }
}
