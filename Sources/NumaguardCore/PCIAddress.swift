/// A PCI function's address as sysfs spells it, `SSSS:BB:DD.F` (segment, bus, device,
/// function). It names devices in policies, findings and journals, so the spelling is
/// canonical: one address has one text, and a parsed text respells identically.
public struct PCIAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var segment: UInt16
    public var bus: UInt8
    /// 0...31.
    public var device: UInt8
    /// 0...7.
    public var function: UInt8

    public init?(segment: UInt16, bus: UInt8, device: UInt8, function: UInt8) {
        guard device < 32, function < 8 else { return nil }
        self.segment = segment
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// The sysfs name exactly (`0000:21:00.0`, lower-case hex, fixed widths): what a directory
    /// under `/sys/bus/pci/devices` or a path component of a class link holds. Anything else,
    /// including upper case, is not a sysfs name and gives nil.
    public init?(sysfsName text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 12, bytes[4] == 0x3A, bytes[7] == 0x3A, bytes[10] == 0x2E else { return nil }
        func hex(_ range: Range<Int>) -> UInt64? {
            var value: UInt64 = 0
            for byte in bytes[range] {
                switch byte {
                case 0x30...0x39: value = value << 4 | UInt64(byte - 0x30)
                case 0x61...0x66: value = value << 4 | UInt64(byte - 0x61 + 10)
                default: return nil
                }
            }
            return value
        }
        guard let segment = hex(0..<4), let bus = hex(5..<7), let device = hex(8..<10), let function = hex(11..<12)
        else { return nil }
        self.init(segment: UInt16(segment), bus: UInt8(bus), device: UInt8(truncatingIfNeeded: device),
                  function: UInt8(truncatingIfNeeded: function))
    }

    public var description: String {
        hex(UInt64(segment), 4) + ":" + hex(UInt64(bus), 2) + ":" + hex(UInt64(device), 2) + "." + hex(UInt64(function), 1)
    }

    public static func < (lhs: PCIAddress, rhs: PCIAddress) -> Bool {
        (lhs.segment, lhs.bus, lhs.device, lhs.function) < (rhs.segment, rhs.bus, rhs.device, rhs.function)
    }

    private func hex(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
