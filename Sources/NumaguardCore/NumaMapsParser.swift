/// Parser for /proc/PID/numa_maps (fs/proc/task_mmu.c `show_numa_map`).
public enum NumaMapsParser {
    public static func parse(_ text: String) throws(ParseError) -> [Mapping] {
        var copy = text
        return try copy.withUTF8 { buffer in
            Result { () throws(ParseError) in try parse(bytes: buffer) }
        }.get()
    }

    /// Every mapping as a value (with file paths); `NumaMapsScanner` streams instead.
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) throws(ParseError) -> [Mapping] {
        var mappings: [Mapping] = []
        mappings.reserveCapacity(bytes.count / 64)
        var scanner = NumaMapsScanner(keepsFilePaths: true)
        try scanner.scan(bytes) { mappings.append($0) }
        try scanner.finish { mappings.append($0) }
        return mappings
    }

    public static func parseLine(_ line: some StringProtocol) throws(ParseError) -> Mapping {
        var copy = String(line)
        return try copy.withUTF8 { buffer in
            Result { () throws(ParseError) in
                var scanner = NumaMapsScanner(keepsFilePaths: true)
                var result: Mapping?
                try scanner.scan(buffer) { result = $0 }
                try scanner.finish { result = $0 }
                guard let result else { throw ParseError(what: "numa_maps line", input: line, reason: "empty line") }
                return result
            }
        }.get()
    }
}
