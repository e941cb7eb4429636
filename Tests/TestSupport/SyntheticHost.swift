import Foundation

/// A recorded fixture with what the QEMU guests cannot show added by hand, laid out as the
/// kernel lays it out: a PCI NIC and an NVMe controller reached through /sys/class symlinks,
/// a virtio NIC whose numa_node sits on its PCI parent, a virtual interface, MSI-X vectors
/// and their IRQ affinities, debugfs NUMA balancing tunables, a cgroup v2 tree with a
/// cpuset partition, and placement daemons (numad, tuned with its profile).
public struct SyntheticHost {
    public let root: URL

    /// A writable copy of `fixture` with everything above added.
    public static func make(from fixture: String = "linux-6.1-2node") throws -> SyntheticHost {
        let host = SyntheticHost(root: try Fixtures.copy(fixture))
        let pci = "sys/devices/pci0000:00"
        // A PCI NIC on node 1 with three MSI-X vectors.
        try host.write("\(pci)/0000:3b:00.0/numa_node", "1\n")
        try host.write("\(pci)/0000:3b:00.0/irq", "0\n")
        for irq in [120, 121, 122] { try host.write("\(pci)/0000:3b:00.0/msi_irqs/\(irq)", "msix\n") }
        try host.link("\(pci)/0000:3b:00.0/net/ens1f0/device", "../../../0000:3b:00.0")
        try host.link("sys/class/net/ens1f0", "../../devices/pci0000:00/0000:3b:00.0/net/ens1f0")
        try host.write("proc/irq/120/smp_affinity_list", "2\n")
        try host.write("proc/irq/121/smp_affinity_list", "3\n")
        try host.write("proc/irq/122/smp_affinity_list", "2-3\n")
        // A virtio NIC: the class device's parent is a virtio device without numa_node.
        try host.write("\(pci)/0000:00:03.0/numa_node", "-1\n")
        try host.write("\(pci)/0000:00:03.0/msi_irqs/40", "msix\n")
        try host.write("\(pci)/0000:00:03.0/virtio2/vendor", "0x1af4\n")
        try host.link("\(pci)/0000:00:03.0/virtio2/net/eth0/device", "../../../virtio2")
        try host.link("sys/class/net/eth0", "../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0")
        try host.write("proc/irq/40/smp_affinity_list", "0-3\n")
        // lo has no device.
        try host.write("sys/devices/virtual/net/lo/mtu", "65536\n")
        try host.link("sys/class/net/lo", "../../devices/virtual/net/lo")
        // An NVMe controller on node 0 with a legacy interrupt line only.
        try host.write("\(pci)/0000:5e:00.0/numa_node", "0\n")
        try host.write("\(pci)/0000:5e:00.0/irq", "16\n")
        try host.link("\(pci)/0000:5e:00.0/nvme/nvme0/device", "../../../0000:5e:00.0")
        try host.link("sys/class/nvme/nvme0", "../../devices/pci0000:00/0000:5e:00.0/nvme/nvme0")
        try host.write("proc/irq/16/smp_affinity_list", "0\n")
        // debugfs NUMA balancing tunables.
        for (name, value) in [("scan_delay_ms", "1000"), ("scan_period_min_ms", "1000"), ("scan_size_mb", "256")] {
            try host.write("sys/kernel/debug/sched/numa_balancing/\(name)", "\(value)\n")
        }
        // cgroup v2: the root and a partition for the trading engine, a slice without cpusets.
        try host.write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
        try host.write("sys/fs/cgroup/cpuset.cpus.effective", "0-3\n")
        try host.write("sys/fs/cgroup/trading/cpuset.cpus", "2-3\n")
        try host.write("sys/fs/cgroup/trading/cpuset.mems", "1\n")
        try host.write("sys/fs/cgroup/trading/cpuset.cpus.partition", "isolated\n")
        try host.write("sys/fs/cgroup/system.slice/memory.max", "max\n")
        // Placement daemons: numad and tuned run (tuned with a profile); irqbalance does not.
        try host.process(9001, comm: "numad")
        try host.process(9002, comm: "tuned")
        try host.write("etc/tuned/active_profile", "latency-performance\n")
        return host
    }

    public var path: String { root.path }

    public func write(_ relative: String, _ contents: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: url, atomically: false, encoding: .utf8)
    }

    public func link(_ relative: String, _ target: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
    }

    /// A sleeping process with the files every reader needs.
    public func process(_ pid: Int, comm: String) throws {
        try write("proc/\(pid)/comm", "\(comm)\n")
        let stat = "\(pid) (\(comm)) S 1 \(pid) \(pid) 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0 "
            + "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
        try write("proc/\(pid)/stat", stat)
        try write("proc/\(pid)/task/\(pid)/stat", stat)
        try write("proc/\(pid)/status", "Name:\t\(comm)\nUid:\t0\t0\t0\t0\nCpus_allowed_list:\t0-3\nMems_allowed_list:\t0-1\n")
        try write("proc/\(pid)/cmdline", "/usr/sbin/\(comm)\0")
        try write("proc/\(pid)/cgroup", "0::/\n")
        try write("proc/\(pid)/numa_maps", "")
    }

    public func remove() {
        try? FileManager.default.removeItem(at: root)
    }
}
