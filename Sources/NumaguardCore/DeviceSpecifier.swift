/// A device named where a node number could stand, numactl's way (`netdev:ens1f0`,
/// `pci:0000:21:00.0`, `block:nvme0n1`, `file:/data/x`, `ip:10.0.0.1`): the node is the one the
/// device is attached to on the host where the name is resolved, so one policy or command line
/// serves hosts whose NIC sits on different sockets.
///
/// Parsing lives with its two grammars (numactl's command line, the policy's strings); this is
/// the value both produce and every resolver consumes.
public enum DeviceSpecifier: Hashable, Sendable, CustomStringConvertible {
    /// A network interface: `/sys/class/net/NAME`.
    case netdev(String)
    /// A PCI function by address.
    case pci(PCIAddress)
    /// A block device by kernel name (`nvme0n1`, never a /dev path).
    case block(String)
    /// The block device holding a file (or a block device node): run only, it needs a live stat.
    case file(String)
    /// The interface the route to an address leaves by: run only, it needs the live routing table.
    case ip(String)

    public var description: String {
        switch self {
        case .netdev(let name): "netdev:\(name)"
        case .pci(let address): "pci:\(address)"
        case .block(let name): "block:\(name)"
        case .file(let path): "file:\(path)"
        case .ip(let host): "ip:\(host)"
        }
    }
}

/// What kind of device a policy's `devices:` entry or a finding is about. `pci` is any other
/// PCI function (an FPGA, a timing card).
public enum DeviceKind: String, Hashable, Sendable, CaseIterable {
    case net, nvme, block, gpu, pci
}
