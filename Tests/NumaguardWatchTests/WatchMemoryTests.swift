import Foundation
import NumaguardHost
import NumaguardPolicy
@testable import NumaguardWatch
import TestSupport
import XCTest

/// "Memory stays flat over a long run", as a count rather than a clock: the watch's whole
/// sample (counters, knob, the protected process's status and threads, the regime machine,
/// the textfile; discovery and the opted-in numa_maps every 10th sample, six simulated seconds apart)
/// 2,000 times over a recorded host, and this process's resident size compared after a
/// warm-up and at the end. A leak of even 600 bytes a sample shows.
/// (bench/watch.sh measures the same on a live host over minutes.)
final class WatchMemoryTests: XCTestCase {
    static func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try XCTUnwrap(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        return kilobytes * 1024
    }

    func testTwoThousandSamplesDoNotGrowTheResidentSize() throws {
        // tmpfs where there is one: the textfile's two fsyncs a sample would otherwise be the
        // test's whole running time.
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
        let directory = base.appendingPathComponent("numaguard-watch-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("p.yaml")
        try (ProtectedWatchTests.policy + "\nwatch: {interval: 1s, numa_maps: true, numa_maps_period: 1m}\n").write(to: policy, atomically: true, encoding: .utf8)
        var options = WatchOptions(policyPath: policy.path, root: HostRoot(path: Command.fixture("linux-6.1-2node")),
                                   textfile: directory.appendingPathComponent("watch.prom").path,
                                   eventsPath: directory.appendingPathComponent("events.jsonl").path)
        options.interval = 0
        let service = try WatchService(options: options, policy: try PolicyLoader.load(file: policy.path, reading: InputFile.read))

        var now = 0.0
        func samples(_ count: Int) {
            for _ in 0..<count {
                now += 6
                service.sample(at: now)
            }
        }
        samples(200)
        let warm = try Self.residentBytes()
        samples(1800)
        let end = try Self.residentBytes()
        XCTAssertEqual(service.status.samples, 2000)
        XCTAssertEqual(service.protected.count, 1, "the protected process was watched throughout")
        XCTAssertLessThan(end - warm, 1 << 20, "resident size grew from \(warm) to \(end) bytes over 1,800 samples")
    }
}
