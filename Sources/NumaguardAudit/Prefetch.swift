import Dispatch
import NumaguardHost

/// Reads one small /proc file of every process on all cores. Each /proc read makes the
/// kernel build the file on demand, so on a host with thousands of processes this is the
/// audit's main cost, and it parallelises: every index is written by exactly one worker.
enum Prefetch {
    static func seed(_ processes: [CandidateProcess], _ file: String, root: HostRoot) {
        let pids = processes.map(\.pid)
        let values = read(pids, file, root: root)
        for (process, value) in zip(processes, values) { process.seed(file, value) }
    }

    static func read(_ pids: [Int], _ file: String, root: HostRoot) -> [String] {
        let results = UnsafeMutableBufferPointer<String>.allocate(capacity: pids.count)
        results.initialize(repeating: "")
        defer { results.deallocate() }
        nonisolated(unsafe) let shared = results
        let workers = max(1, min(pids.count / 64, 16))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var index = worker
            while index < pids.count {
                shared[index] = CandidateProcess.read(file, pid: pids[index], root: root)
                index += workers
            }
        }
        let values = Array(results)
        _ = results.deinitialize()
        return values
    }
}
