import NumaguardCore

/// What a refusal says, in one place, so `audit` (workload.NAME.device) and `run --policy`
/// word the same reason the same way. Names read from a host are escaped by whoever shows
/// them; these texts hold only the specifier (validated by its grammar) and the reader's text.
extension DeviceRefusal {
    public var specifier: DeviceSpecifier {
        switch self {
        case let .unknown(device, _), let .noLocality(device, _), let .virtual(device, _), let .unreadable(device, _),
             let .notHere(device, _): device
        }
    }

    /// "netdev:eth9: no /sys/class/net/eth9"; "... reports numa_node -1: the firmware gives no locality".
    public var explanation: String {
        switch self {
        case let .unknown(device, path): "\(device): no \(path)"
        case let .noLocality(device, name): "\(device): \(name) reports numa_node -1: the firmware gives no locality"
        case let .virtual(device, name): "\(device): \(name) has no bus device (a VLAN, bond or dm device): name its lower device"
        case let .unreadable(device, error): "\(device): \(error)"
        case let .notHere(device, reason): "\(device): \(reason)"
        }
    }

    /// Could not be judged (permissions, a read error), as opposed to a device that is missing,
    /// virtual or without locality: an audit says "incomplete", never "fail", for it.
    public var isUnreadable: Bool {
        if case .unreadable = self { return true }
        return false
    }
}
