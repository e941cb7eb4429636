import Foundation

/// Host roots recorded from real kernels in the QEMU guests (Tests/Fixtures, see each README).
public enum Fixtures {
    public static let names = ["linux-6.1-2node", "linux-6.12-2node", "linux-rt-2node", "linux-6.1-4node-asym", "linux-6.1-cpuless",
                                     "linux-6.1-2node-cgroup-v2", "linux-6.1-2node-cgroup-v1"]
    /// Guests booted with `run-guest.sh --pci net@1,nvme@0,net@none` (q35, devices on NUMA
    /// nodes; `-isolated` adds isolcpus=managed_irq,domain,3 nohz_full=3). Each keeps
    /// `qemu-cmdline`, `package` and `pci-map` beside the host root.
    public static let deviceNames = ["linux-6.1-2node-devices", "linux-6.12-2node-devices", "linux-rt-2node-devices",
                                     "linux-6.1-2node-isolated"]

    public static func path(_ name: String) -> String { Command.fixture(name) }

    /// The PIDs captured in a fixture (their proc/PID/stat recorded), ascending. The cgroup
    /// fixtures' proc/1 holds only init's mountinfo, not a captured process.
    public static func pids(_ name: String) throws -> [Int] {
        try FileManager.default.contentsOfDirectory(atPath: path(name) + "/proc").compactMap { Int($0) }
            .filter { FileManager.default.fileExists(atPath: path(name) + "/proc/\($0)/stat") }.sorted()
    }

    public static func oracle(_ name: String, _ file: String) throws -> String {
        try String(contentsOfFile: path(name) + "/oracle/" + file, encoding: .utf8)
    }

    /// A writable copy of a fixture, for tests that need a host that differs in one file.
    public static func copy(_ name: String) throws -> URL {
        let destination = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-fixture-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: path(name), toPath: destination.path)
        return destination
    }
}

extension Fixtures {
    /// A writable copy of a fixture holding only the given PIDs: a host where exactly
    /// those processes run.
    public static func copy(_ name: String, keeping pids: [Int]) throws -> URL {
        let copy = try copy(name)
        for pid in try Fixtures.pids(name) where !pids.contains(pid) {
            try FileManager.default.removeItem(at: copy.appendingPathComponent("proc/\(pid)"))
        }
        return copy
    }
}
