/// A POSIX tar (ustar, with pax records for long names) written by numaguard itself, so
/// `numaguard capture` works where no tar is installed and the archive unpacks with GNU
/// tar and busybox tar alike. Pure: entries in, bytes out.
public struct UstarArchive: Sendable {
    public enum Kind: UInt8, Sendable {
        case file = 0x30       // '0'
        case symlink = 0x32    // '2'
        case directory = 0x35  // '5'
        case paxHeader = 0x78  // 'x'
    }

    public private(set) var bytes: [UInt8] = []
    /// Modification time of every entry (the capture's time), seconds since the epoch.
    public let mtime: Int

    public init(mtime: Int) { self.mtime = mtime }

    public mutating func addFile(_ path: String, _ contents: [UInt8], mode: Int = 0o644) {
        append(path, kind: .file, mode: mode, contents: contents)
    }

    public mutating func addDirectory(_ path: String) {
        append(path.hasSuffix("/") ? path : path + "/", kind: .directory, mode: 0o755, contents: [])
    }

    public mutating func addSymlink(_ path: String, target: String) {
        append(path, kind: .symlink, mode: 0o777, target: target, contents: [])
    }

    /// Two zero blocks end the archive.
    public func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    mutating func append(_ path: String, kind: Kind, mode: Int, target: String = "", contents: [UInt8]) {
        let split = Self.split(path)
        var records: [(String, String)] = []
        if split == nil { records.append(("path", path)) }
        if target.utf8.count > 100 { records.append(("linkpath", target)) }
        if !records.isEmpty {
            let body = records.flatMap { Self.paxRecord($0.0, $0.1) }
            let name = "PaxHeaders/" + String(decoding: Array(path.utf8.suffix(80)), as: UTF8.self).filter { $0 != "/" }
            appendBlock(header(name: name, prefix: "", kind: .paxHeader, mode: 0o644, size: body.count, target: ""), body)
        }
        let (prefix, name) = split ?? ("", String(decoding: Array(path.utf8.suffix(99)), as: UTF8.self))
        let shortTarget = target.utf8.count > 100 ? "" : target
        appendBlock(header(name: name, prefix: prefix, kind: kind, mode: mode, size: contents.count, target: shortTarget), contents)
    }

    mutating func appendBlock(_ header: [UInt8], _ contents: [UInt8]) {
        bytes += header
        bytes += contents
        let remainder = contents.count % 512
        if remainder != 0 { bytes += [UInt8](repeating: 0, count: 512 - remainder) }
    }

    /// ustar keeps a name of up to 100 bytes, or a prefix of up to 155 bytes and a name
    /// of up to 100 split at a slash; nil when neither fits (a pax record carries it).
    static func split(_ path: String) -> (prefix: String, name: String)? {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return ("", path) }
        for index in bytes.indices.reversed() where bytes[index] == 0x2F {
            let prefix = bytes[..<index]
            let name = bytes[(index + 1)...]
            if prefix.count <= 155 && name.count <= 100 && !name.isEmpty {
                return (String(decoding: prefix, as: UTF8.self), String(decoding: name, as: UTF8.self))
            }
            if name.count > 100 { return nil }
        }
        return nil
    }

    /// `"<length> <key>=<value>\n"`, where the length counts itself.
    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).utf8.count + body.utf8.count != length { length = String(length).utf8.count + body.utf8.count }
        return Array((String(length) + body).utf8)
    }

    func header(name: String, prefix: String, kind: Kind, mode: Int, size: Int, target: String) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(mtime, at: 136, width: 12)
        block[156] = kind.rawValue
        put(target, at: 157, width: 100)
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        put("root", at: 265, width: 32)
        put("root", at: 297, width: 32)
        octal(0, at: 329, width: 8)
        octal(0, at: 337, width: 8)
        put(prefix, at: 345, width: 155)
        // The checksum is summed with its own field as spaces, then written as six octal
        // digits, a NUL and a space.
        for index in 148..<156 { block[index] = 0x20 }
        let sum = block.reduce(0) { $0 + Int($1) }
        octal(sum, at: 148, width: 7)
        block[154] = 0
        block[155] = 0x20
        return block
    }
}
