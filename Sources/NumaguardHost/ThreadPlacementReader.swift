import NumaguardCore

/// One thread of the host as a CPU reservation sees it: where it may run, where it last ran,
/// whose it is, and whether it is a kernel thread.
public struct TaskPlacement: Equatable, Sendable {
    public var pid: Int
    public var tid: Int
    /// The thread's own comm (`irq/51-nvme0q2`, `ksoftirqd/3`, a worker's name).
    public var comm: String
    /// The process's comm (its main thread's), for naming the process.
    public var processComm: String
    public var uid: Int?
    /// PF_KTHREAD.
    public var kernel: Bool
    /// `Cpus_allowed_list`; nil when status had none.
    public var allowed: IDSet?
    /// stat field 39: the CPU it last ran on.
    public var lastCPU: Int
    public var startTime: UInt64
    /// `nonvoluntary_ctxt_switches`; nil when status had none.
    public var nonvoluntary: Int?

    public init(pid: Int, tid: Int, comm: String, processComm: String, uid: Int?, kernel: Bool, allowed: IDSet?,
                lastCPU: Int, startTime: UInt64, nonvoluntary: Int?) {
        self.pid = pid
        self.tid = tid
        self.comm = comm
        self.processComm = processComm
        self.uid = uid
        self.kernel = kernel
        self.allowed = allowed
        self.lastCPU = lastCPU
        self.startTime = startTime
        self.nonvoluntary = nonvoluntary
    }
}

/// Every thread of the host, each read once: `task/TID/stat` and `task/TID/status` only. Those
/// two take no lock of the target's memory, so a protected process is read like any other;
/// numa_maps, cmdline and environ are never read here (the README's promise to protected
/// processes). Threads and processes that exit while being read are left out; anything else
/// that fails is recorded, never fatal.
public struct ThreadScan: Equatable, Sendable {
    public var threads: [TaskPlacement] = []
    /// One line per process or thread that could not be read.
    public var unreadable: [String] = []

    public init(threads: [TaskPlacement] = [], unreadable: [String] = []) {
        self.threads = threads
        self.unreadable = unreadable
    }
}

public enum ThreadPlacementReader {
    /// `pids`: the processes to read (the audit leaves itself out), else every one in proc/.
    public static func read(_ root: HostRoot, pids given: [Int]? = nil) throws(HostError) -> ThreadScan {
        var pids = given ?? []
        if given == nil { pids = try ProcessReader(root: root).pids() }
        var scan = ThreadScan()
        for pid in pids {
            let tids: [Int]
            do {
                tids = try root.list("proc/\(pid)/task").compactMap { Lex.decimal($0) }.sorted()
            } catch {
                if !error.isMissing { scan.unreadable.append("PID \(pid): \(error)") }
                continue
            }
            var threads: [TaskPlacement] = []
            for tid in tids {
                do {
                    threads.append(try thread(root, pid: pid, tid: tid))
                } catch {
                    if !error.isMissing { scan.unreadable.append("PID \(pid) thread \(tid): \(error)") }
                }
            }
            // The process's name is its main thread's comm (the thread whose TID is the PID).
            let name = threads.first { $0.tid == pid }?.comm ?? threads.first?.comm ?? "?"
            for index in threads.indices { threads[index].processComm = name }
            scan.threads += threads
        }
        return scan
    }

    static func thread(_ root: HostRoot, pid: Int, tid: Int) throws(HostError) -> TaskPlacement {
        let base = "proc/\(pid)/task/\(tid)"
        let stat = try root.parse("\(base)/stat", TaskStatParser.parse)
        let status = try root.parse("\(base)/status") {
            ProcStatus.parse($0, keeping: ["Cpus_allowed_list", "Uid", "nonvoluntary_ctxt_switches"])
        }
        let allowed: IDSet?
        do { allowed = try status.cpusAllowed } catch { throw .malformed(path: root.absolute("\(base)/status"), error) }
        return TaskPlacement(pid: pid, tid: tid, comm: stat.comm, processComm: stat.comm, uid: status.uids.first,
                             kernel: stat.isKernelThread, allowed: allowed, lastCPU: stat.processor, startTime: stat.startTime,
                             nonvoluntary: status.value("nonvoluntary_ctxt_switches").flatMap { Lex.decimal($0) })
    }
}
