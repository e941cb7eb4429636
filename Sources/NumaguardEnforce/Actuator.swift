#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

/// Why a change could not be made or read back, in the words of the call that failed.
public struct ActuationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var errno: Errno?

    public init(_ description: String, errno: Errno? = nil) {
        self.description = description
        self.errno = errno
    }

    init(_ error: SystemCallError) { self.init(error.description, errno: error.errno) }
    init(_ error: HostError) { self.init(error.description, errno: error.errno) }
}

/// Every side effect apply and undo have, behind one small protocol: the live host in
/// production and in the VM tests, an in-memory host in the unit tests of the apply loop.
public protocol Actuator {
    /// The knob's current value in its write spelling; nil when the kernel has no such file.
    func read(_ knob: Knob) throws(ActuationError) -> String?
    func write(_ knob: Knob, _ value: String) throws(ActuationError)
    /// The process now at `pid`, nil when there is none (or only a zombie). Only "no such
    /// file/process" means gone: any other read error is thrown, never taken for an exit.
    func identity(of pid: Int) throws(ActuationError) -> ProcessIdentity?
    func threads(of pid: Int) throws(ActuationError) -> [Int]
    func affinity(of tid: Int) throws(ActuationError) -> IDSet
    func setAffinity(of tid: Int, to cpus: IDSet) throws(ActuationError)
    /// Anonymous bytes per node, from numa_maps, for the process with this identity. File
    /// mappings holding both private copies and page cache are left out: their shared pages
    /// may stay on purpose (they can be a protected process's too).
    func anonymousBytes(of process: ProcessIdentity) throws(ActuationError) -> [Int: Int]
    /// migrate_pages: the number of pages the kernel could not move.
    func migratePages(of pid: Int, from: IDSet, to: IDSet, onlyUnshared: Bool) throws(ActuationError) -> Int
    /// A whole file outside /proc and /sys (the sysctl.d drop-in); nil when absent.
    func readFile(_ path: String) throws(ActuationError) -> String?
    /// Replaces a file atomically; nil contents removes it.
    func replaceFile(_ path: String, with contents: String?) throws(ActuationError)
    /// `/sys/kernel/irq/N/actions` trimmed: the handlers' names; nil when the IRQ has no such
    /// directory (freed, or a kernel without it).
    func irqActions(_ irq: Int) throws(ActuationError) -> String?
    /// `/proc/irq/N/effective_affinity_list`; nil when the kernel has no such file.
    func effectiveAffinity(irq: Int) throws(ActuationError) -> IDSet?
    /// `/proc/sys/kernel/random/boot_id`; nil when it cannot be read.
    func bootID() -> String?
    /// Waits between two reads of a value the kernel settles later (an IRQ's effective CPUs).
    func pause(_ seconds: Double)
    /// The effective CPUs of the cpuset the process lives in; nil when there is none or it
    /// cannot be read.
    func cpusetCPUs(of pid: Int) throws(ActuationError) -> IDSet?
    /// `/sys/devices/system/cpu/isolated` (empty when absent).
    func isolatedCPUs() throws(ActuationError) -> IDSet
}

/// The live host. Reads go through HostRoot.live and ProcessReader like every other read;
/// writes and syscalls through the errno funnel.
public struct LiveActuator: Actuator {
    let root: HostRoot
    /// The one file replaceFile writes or removes.
    let dropIn: String
    /// The wait between polls of an IRQ's effective CPUs: nanosleep, or a test's stand-in
    /// that changes the temporary root between two reads.
    let wait: (Double) -> Void

    /// `root`, `dropIn` and `wait` other than the live ones only in tests (a temporary host
    /// root): apply and undo change the live host only.
    public init(root: HostRoot = .live, dropIn: String = KnownTargets.dropIn,
                wait: @escaping (Double) -> Void = { try? SystemClock.sleep($0) }) {
        self.root = root
        self.dropIn = dropIn
        self.wait = wait
    }

    public func read(_ knob: Knob) throws(ActuationError) -> String? {
        do {
            return try root.readTextIfPresent(knob.path).map(knob.value(of:))
        } catch {
            throw ActuationError(error)
        }
    }

    /// One write of the whole value: /proc/sys and sysfs take a value per write(2). Only a
    /// knob numaguard manages, at its own path (KnownTargets), opened O_NOFOLLOW (its last
    /// component is never a link in /proc/sys or sysfs) and O_TRUNC (harmless there: procfs
    /// and sysfs take it and ignore it; it keeps a regular file from keeping a stale tail).
    public func write(_ knob: Knob, _ value: String) throws(ActuationError) {
        if let refusal = KnownTargets.refusal(knob) ?? KnownTargets.refusal(knob, value: value) {
            throw ActuationError(refusal, errno: .notPermitted)
        }
        let path = root.absolute(knob.path)
        var line = value + "\n"
        let failure: SystemCallError? = line.withUTF8 { bytes in
            do throws(SystemCallError) {
                let fd = try SystemCall.check("open", path) { open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY) }
                defer { close(fd) }
                try FileHandleWriter.writeAll(fd, bytes, subject: path)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw ActuationError(failure) }
    }

    public func irqActions(_ irq: Int) throws(ActuationError) -> String? {
        do {
            return try root.readTextIfPresent("sys/kernel/irq/\(irq)/actions").map { String(Lex.trimmed($0)) }
        } catch {
            throw ActuationError(error)
        }
    }

    public func effectiveAffinity(irq: Int) throws(ActuationError) -> IDSet? {
        do {
            return try root.parseIfPresent("proc/irq/\(irq)/effective_affinity_list") { (text) throws(ParseError) in
                try IDListParser.parse(text, what: "effective_affinity_list")
            }
        } catch {
            throw ActuationError(error)
        }
    }

    public func bootID() -> String? {
        (try? root.readSmallText("proc/sys/kernel/random/boot_id")).map { String(Lex.trimmed($0)) }
    }

    public func pause(_ seconds: Double) { wait(seconds) }

    /// Without a cpuset (no cpuset controller mounted), the online CPUs: all the kernel would
    /// let the thread use. A mask outside a cpuset that could not be read is refused by the
    /// kernel (EINVAL) and reported, never widened.
    public func cpusetCPUs(of pid: Int) throws(ActuationError) -> IDSet? {
        do {
            let cgroups = try root.parse("proc/\(pid)/cgroup", CgroupEntry.parse)
            if let cpus = CgroupCpuset.read(root, cgroups: cgroups)?.cpus { return cpus }
            return try root.parseIfPresent("sys/devices/system/cpu/online") { (text) throws(ParseError) in
                try IDListParser.parse(text, what: "online")
            }
        } catch {
            throw ActuationError(error)
        }
    }

    public func isolatedCPUs() throws(ActuationError) -> IDSet {
        do {
            return try root.parseIfPresent("sys/devices/system/cpu/isolated") { (text) throws(ParseError) in
                try IDListParser.parse(text, what: "isolated")
            } ?? IDSet()
        } catch {
            throw ActuationError(error)
        }
    }

    public func identity(of pid: Int) throws(ActuationError) -> ProcessIdentity? {
        let stat: TaskStat
        do {
            stat = try root.parse("proc/\(pid)/stat", TaskStatParser.parse)
        } catch {
            if error.isMissing { return nil }
            throw ActuationError(error)
        }
        return stat.hasExited ? nil : ProcessIdentity(pid: pid, startTime: stat.startTime)
    }

    public func threads(of pid: Int) throws(ActuationError) -> [Int] {
        do {
            return try root.list("proc/\(pid)/task").compactMap { Lex.decimal($0) }.sorted()
        } catch {
            throw ActuationError(error)
        }
    }

    public func affinity(of tid: Int) throws(ActuationError) -> IDSet {
        do { return try Affinity.current(tid: Int32(tid)) } catch { throw ActuationError(error) }
    }

    public func setAffinity(of tid: Int, to cpus: IDSet) throws(ActuationError) {
        do { try Affinity.set(cpus, tid: Int32(tid)) } catch { throw ActuationError(error) }
    }

    public func anonymousBytes(of process: ProcessIdentity) throws(ActuationError) -> [Int: Int] {
        let snapshot: ProcessSnapshot
        do {
            snapshot = try ProcessReader(root: root).read(pid: process.pid, memory: true, threads: false)
        } catch {
            throw ActuationError(error.description)
        }
        guard snapshot.identity == process else { throw ActuationError("PID \(process.pid) was replaced") }
        return snapshot.memory?.anonymousByNode ?? [:]
    }

    public func migratePages(of pid: Int, from: IDSet, to: IDSet, onlyUnshared: Bool) throws(ActuationError) -> Int {
        do {
            return try PageMigration.migrate(pid: pid, from: from, to: to, onlyUnshared: onlyUnshared)
        } catch {
            throw ActuationError(error)
        }
    }

    public func readFile(_ path: String) throws(ActuationError) -> String? {
        do {
            return String(decoding: try HostRoot.readFile(atPath: path), as: UTF8.self)
        } catch {
            if error.errno == .noEntry { return nil }
            throw ActuationError(error)
        }
    }

    /// Only the drop-in, with contents that set only the sysctls numaguard manages.
    public func replaceFile(_ path: String, with contents: String?) throws(ActuationError) {
        if let refusal = KnownTargets.refusal(file: path, contents: contents, dropIn: dropIn) {
            throw ActuationError(refusal, errno: .notPermitted)
        }
        do {
            if let contents {
                try AtomicFile.write(contents, to: path)
            } else {
                try SystemCall.check("unlink", path) { unlink(path) }
            }
        } catch {
            throw ActuationError(error)
        }
    }
}
