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

    /// numactl's `pci:` spelling (affinity.c: `sscanf("%x:%x:%x.%x")`, else `"%x:%x.%x"`):
    /// `seg:bus:dev[.func]` or `bus:dev[.func]`, hexadecimal, the segment 0 and the function 0
    /// when left out. numactl's sscanf also takes `0x` prefixes, signs, spaces and anything
    /// after the last number; numaguard refuses those (a typo must not name another device),
    /// which is the safe direction of a divergence. The reason names the fault.
    public static func parse(numactl text: some StringProtocol) -> Result<PCIAddress, ParseError> {
        let bytes = Array(text.utf8)
        func failure(_ reason: String, at column: Int? = nil) -> Result<PCIAddress, ParseError> {
            .failure(ParseError(what: "PCI address", input: String(decoding: bytes, as: UTF8.self), column: column, reason: reason))
        }
        // Split into the colon-separated parts, the function after a dot in the last one.
        var parts: [UInt64] = []
        var function: UInt64?
        var digits = 0
        var value: UInt64 = 0
        var afterDot = false
        for (index, byte) in bytes.enumerated() {
            let digit: UInt64
            switch byte {
            case 0x30...0x39: digit = UInt64(byte - 0x30)
            case 0x61...0x66: digit = UInt64(byte - 0x61 + 10)
            case 0x41...0x46: digit = UInt64(byte - 0x41 + 10)
            case 0x3A, 0x2E:   // : .
                guard digits > 0 else { return failure("expected a hexadecimal number", at: index + 1) }
                guard !afterDot else { return failure("nothing may follow the function number", at: index + 1) }
                parts.append(value)
                guard parts.count <= 3 else { return failure("at most segment:bus:device.function", at: index + 1) }
                afterDot = byte == 0x2E
                digits = 0
                value = 0
                continue
            case 0x78 where digits == 1 && value == 0, 0x58 where digits == 1 && value == 0:   // the x of 0x
                return failure("write the parts without 0x: they are hexadecimal already", at: index + 1)
            default:
                return failure("expected [segment:]bus:device[.function] in hexadecimal", at: index + 1)
            }
            digits += 1
            guard digits <= 8 else { return failure("a part of more than 8 digits", at: index + 1) }
            value = value << 4 | digit
        }
        guard digits > 0 else { return failure("expected a hexadecimal number", at: bytes.count + 1) }
        if afterDot { function = value } else { parts.append(value) }
        guard parts.count == 2 || parts.count == 3 else {
            return failure("expected [segment:]bus:device[.function], e.g. 0000:21:00.0")
        }
        let segment = parts.count == 3 ? parts[0] : 0
        let (bus, device) = (parts[parts.count - 2], parts[parts.count - 1])
        let functionNumber = function ?? 0
        guard segment <= 0xFFFF else { return failure("segment \(String(segment, radix: 16)) is above ffff") }
        guard bus <= 0xFF else { return failure("bus \(String(bus, radix: 16)) is above ff") }
        guard device <= 0x1F else { return failure("device \(String(device, radix: 16)) is above 1f") }
        guard functionNumber <= 7 else { return failure("function \(String(functionNumber, radix: 16)) is above 7") }
        guard let address = PCIAddress(segment: UInt16(segment), bus: UInt8(bus), device: UInt8(device), function: UInt8(functionNumber))
        else { return failure("not a PCI address") }
        return .success(address)
    }

    /// The host bridge directory numactl reads a `pci:` node from (`devices/pci0000:20`): only
    /// devices directly on a root bus sit right under it.
    public var rootBusDirectory: String { "pci" + hex(UInt64(segment), 4) + ":" + hex(UInt64(bus), 2) }

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
