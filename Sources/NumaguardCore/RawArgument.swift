/// A command-line argument or a path as the kernel hands it over: bytes, not text. A Swift
/// String repairs invalid UTF-8 to U+FFFD, so a program path or argument in Latin-1 (a file
/// name from an old system, a binary token) would reach execve changed; numactl passes them
/// through, and so must `numaguard run`. `text` is for options and messages only.
public struct RawArgument: Equatable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Without the terminating NUL; an argv element holds none.
    public var bytes: [UInt8]

    public init(_ text: String) { bytes = Array(text.utf8) }

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init(stringLiteral value: String) { self.init(value) }

    /// A C string's bytes up to its NUL, unchanged.
    public init(cString: UnsafePointer<CChar>) {
        var count = 0
        while cString[count] != 0 { count += 1 }
        bytes = cString.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    /// The bytes as text, invalid UTF-8 shown as U+FFFD: for messages and records, never for exec.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The bytes as text when they are valid UTF-8 (an option's value), nil otherwise.
    public var utf8Text: String? { String(validating: bytes, as: UTF8.self) }

    public var description: String { text }

    public var isEmpty: Bool { bytes.isEmpty }

    /// This process's argv from `first` on, byte for byte.
    public static func commandLine(from first: Int = 0) -> [RawArgument] {
        let count = Int(CommandLine.argc)
        guard first < count else { return [] }
        return (first..<count).map { index in
            CommandLine.unsafeArgv[index].map { RawArgument(cString: $0) } ?? RawArgument(bytes: [])
        }
    }

    /// The bytes NUL-terminated, as a C string for a system call.
    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        let terminated = duplicated()
        defer { terminated.deallocate() }
        return try body(terminated)
    }

    /// A NUL-terminated copy for an argv array; exec replaces the process, otherwise the
    /// caller deallocates it.
    public func duplicated() -> UnsafeMutablePointer<CChar> {
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (index, byte) in bytes.enumerated() { copy[index] = CChar(bitPattern: byte) }
        copy[bytes.count] = 0
        return copy
    }

    /// `self` followed by `other`, for building paths from a PATH directory and a name.
    public static func + (lhs: RawArgument, rhs: RawArgument) -> RawArgument { RawArgument(bytes: lhs.bytes + rhs.bytes) }

    public func contains(_ byte: UInt8) -> Bool { bytes.contains(byte) }
}
