import Foundation
import NumaguardCore
import NumaguardHost
import TestSupport
import XCTest

/// The isolation readers over a recorded tree with what the guests cannot show written in:
/// isolcpus flags, the workqueue mask, root's and another user's irqbalance, IRQs of which one
/// is malformed, and threads of a user process and a kernel thread.
final class IsolationReaderTests: XCTestCase {
    private func host() throws -> SyntheticHost {
        let host = try SyntheticHost.make()
        try host.write("proc/cmdline", "ro isolcpus=managed_irq,domain,2-3 nohz_full=2-3 -- isolcpus=1\n")
        try host.write("sys/devices/system/cpu/isolated", "2-3\n")
        try host.write("sys/devices/system/cpu/nohz_full", "2-3\n")
        try host.write("sys/devices/virtual/workqueue/cpumask", "3\n")
        try host.process(9100, comm: "irqbalance")
        try host.write("proc/9100/cmdline", "/usr/sbin/irqbalance\0--foreground\0--banirq=45\0")
        try host.write("proc/9100/environ", "LANG=C\0IRQBALANCE_BANNED_CPULIST=2\0")
        try host.process(9101, comm: "irqbalance")
        try host.write("proc/9101/status", "Name:\tirqbalance\nUid:\t1000\t1000\t1000\t1000\n")
        try host.process(9102, comm: "irqbalance")
        try FileManager.default.createDirectory(at: host.root.appendingPathComponent("proc/9102/environ"), withIntermediateDirectories: true)
        return host
    }

    func testIsolationStateAndIrqbalanceProcesses() throws {
        let host = try host()
        defer { host.remove() }
        let state = try IsolationReader.read(HostRoot(path: host.path))
        XCTAssertEqual(state.isolated, IDSet([2, 3]))
        XCTAssertEqual(state.nohzFull, IDSet([2, 3]))
        XCTAssertEqual(state.isolcpus?.flags, [.managedIRQ, .domain])
        XCTAssertEqual(state.isolcpus?.cpus, IDSet([2, 3]), "the isolcpus= after -- is init's")
        XCTAssertEqual(state.workqueueCPUs, IDSet([0, 1]))
        XCTAssertEqual(state.irqbalance.map(\.pid), [9100, 9102], "root's: both run, whether readable or not")
        XCTAssertNil(state.irqbalance.last?.environment, "9102's environ cannot be read: not judged, one problem")
        XCTAssertEqual(state.irqbalance.first?.environment?.banned, .list("2", IDSet([2])))
        XCTAssertEqual(state.irqbalance.first?.arguments?.bannedIRQs, [45])
        XCTAssertEqual(state.ignoredIRQBalance, [.init(pid: 9101, uid: 1000)])
        XCTAssertEqual(state.irqbalanceProblems.count, 1)
        XCTAssertTrue(state.irqbalanceProblems.first?.contains("irqbalance PID 9102") == true, "\(state.irqbalanceProblems)")
        XCTAssertNil(state.workqueueProblem)
        // Protected: neither command line nor environment is read.
        let skipped = try IsolationReader.read(HostRoot(path: host.path), processes: [(9100, "irqbalance")], skip: [9100])
        XCTAssertEqual(skipped.irqbalance, [])
        XCTAssertTrue(skipped.irqbalanceProblems.first?.contains("protected") == true)
    }

    func testAMalformedWorkqueueMaskIsAProblemNotAFailure() throws {
        let host = try host()
        defer { host.remove() }
        try host.write("sys/devices/virtual/workqueue/cpumask", "zz\n")
        let state = try IsolationReader.read(HostRoot(path: host.path), processes: [])
        XCTAssertNil(state.workqueueCPUs)
        XCTAssertTrue(state.workqueueProblem?.contains("workqueue/cpumask") == true, state.workqueueProblem ?? "")
    }

    func testEveryIRQIsReadAndAFailureIsRecorded() throws {
        let host = try host()
        defer { host.remove() }
        try host.write("proc/irq/70/smp_affinity_list", "0-3\n")
        try host.write("proc/irq/70/effective_affinity_list", "2\n")
        try host.write("sys/kernel/irq/70/actions", "eth0-rx-0\n")
        try host.write("proc/irq/71/smp_affinity_list", "x\n")
        try host.write("proc/irq/072/smp_affinity_list", "0\n")
        try host.write("proc/irq/default_smp_affinity", "f\n")
        let scan = try IRQScanReader.read(HostRoot(path: host.path))
        let seventy = try XCTUnwrap(scan.irqs.first { $0.irq == 70 })
        XCTAssertEqual(seventy, IRQAffinity(irq: 70, requested: IDSet(0...3), effective: IDSet([2]), actions: "eth0-rx-0"))
        XCTAssertEqual(scan.failures.map(\.irq), [71])
        XCTAssertFalse(scan.irqs.contains { $0.irq == 72 }, "072 is not the kernel's spelling")
        XCTAssertEqual(scan.irqs.map(\.irq), scan.irqs.map(\.irq).sorted())
        XCTAssertEqual(scan.beyondLimit, 0)
    }

    func testThreadsOfAUserProcessAndAKernelThread() throws {
        let host = try host()
        defer { host.remove() }
        func stat(_ tid: Int, _ comm: String, flags: Int, processor: Int) -> String {
            "\(tid) (\(comm)) S 1 \(tid) \(tid) 0 -1 \(flags) 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0 "
                + "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 \(processor) 0 0 0 0 0\n"
        }
        try host.process(9200, comm: "java")
        try host.write("proc/9200/task/9200/stat", stat(9200, "java", flags: 4194560, processor: 1))
        try host.write("proc/9200/task/9200/status", "Name:\tjava\nUid:\t1000\t1000\t1000\t1000\nCpus_allowed_list:\t0-3\nnonvoluntary_ctxt_switches:\t7\n")
        try host.write("proc/9200/task/9201/stat", stat(9201, "GC thread", flags: 4194560, processor: 3))
        try host.write("proc/9200/task/9201/status", "Name:\tGC thread\nUid:\t1000\t1000\t1000\t1000\nCpus_allowed_list:\t3\n")
        try host.process(30, comm: "ksoftirqd/3")
        try host.write("proc/30/task/30/stat", stat(30, "ksoftirqd/3", flags: 69238848, processor: 3))
        try host.write("proc/30/task/30/status", "Name:\tksoftirqd/3\nUid:\t0\t0\t0\t0\nCpus_allowed_list:\t3\n")
        let scan = try ThreadPlacementReader.read(HostRoot(path: host.path), pids: [30, 9200, 9999])
        XCTAssertEqual(scan.threads, [
            TaskPlacement(pid: 30, tid: 30, comm: "ksoftirqd/3", processComm: "ksoftirqd/3", uid: 0, kernel: true, allowed: IDSet([3]),
                          lastCPU: 3, startTime: 500, nonvoluntary: nil),
            TaskPlacement(pid: 9200, tid: 9200, comm: "java", processComm: "java", uid: 1000, kernel: false, allowed: IDSet(0...3),
                          lastCPU: 1, startTime: 500, nonvoluntary: 7),
            TaskPlacement(pid: 9200, tid: 9201, comm: "GC thread", processComm: "java", uid: 1000, kernel: false, allowed: IDSet([3]),
                          lastCPU: 3, startTime: 500, nonvoluntary: nil),
        ])
        XCTAssertEqual(scan.unreadable, [], "a process that is gone (9999) is left out, not an error")
        try host.write("proc/9200/task/9201/status", "Cpus_allowed_list:\tq\n")
        let malformed = try ThreadPlacementReader.read(HostRoot(path: host.path), pids: [9200])
        XCTAssertEqual(malformed.threads.map(\.tid), [9200])
        XCTAssertTrue(malformed.unreadable.first?.hasPrefix("PID 9200 thread 9201:") == true, "\(malformed.unreadable)")
    }

    func testThisProcessThreadsOnTheLiveHost() throws {
        let scan = try ThreadPlacementReader.read(.live, pids: [Int(getpid())])
        XCTAssertFalse(scan.threads.isEmpty)
        XCTAssertTrue(scan.threads.allSatisfy { $0.pid == Int(getpid()) && !$0.kernel && $0.allowed != nil && $0.nonvoluntary != nil })
        XCTAssertTrue(scan.threads.contains { $0.tid == Int(getpid()) })
    }
}
