import NumaguardCore

// INTERFACE ONLY (issue 15, day 0): the bodies below are placeholders that the device-reader
// work replaces before this lands; nothing calls them yet.

/// Reads the locality chain's devices and resolves device references to nodes. One reader for
/// snapshot, audit, run and watch, so they cannot disagree about where a NIC is.
public enum DeviceLocality {
    /// How a reference becomes a node. `endpoint`: the device's own bus device (what an audit
    /// judges). `numactl`: numactl 2.0.19's rule (the first PCI device under the host bridge in
    /// the class link), so `numaguard run -N netdev:X` binds where `numactl -N netdev:X` does.
    public enum Rule: Sendable { case endpoint, numactl }

    /// Everything found, and what could not be read (each becomes an incomplete finding).
    public struct Inventory: Sendable {
        public var devices: [HostDevice]
        public var problems: [Problem]

        public init(devices: [HostDevice] = [], problems: [Problem] = []) {
            self.devices = devices
            self.problems = problems
        }
    }

    public struct Problem: Sendable {
        /// What was being read: a device name, PCI address or path.
        public var subject: String
        public var error: HostError

        public init(subject: String, error: HostError) {
            self.subject = subject
            self.error = error
        }
    }

    /// Every net, nvme, block and gpu class device with a bus device, and PCI functions.
    public static func read(_ root: HostRoot) -> Inventory { Inventory() }

    /// The node `specifier` is attached to on the host under `root`.
    public static func resolve(_ specifier: DeviceSpecifier, in root: HostRoot, rule: Rule) -> Result<Int, DeviceRefusal> {
        .failure(.notHere(specifier, reason: "device resolution is not built yet"))
    }
}
