// XCTest exists only in the toolchain's test configuration: a packager's
// `swift build -c release --static-swift-stdlib` builds this target without it.
#if canImport(XCTest)
import Foundation
import XCTest

/// The statically linked binaries scripts/build-release makes, which users run: the tests that
/// judge what only a static binary does (its NSS, the Swift runtime's start-up inside it) run
/// these, not the dynamically linked debug build beside the test bundle.
public enum StaticBinary {
    /// $NUMAGUARD_STATIC_BIN (scripts/test sets it), else .build/release/numaguard. Fails the
    /// calling test when it is missing or asks for a dynamic loader.
    public static func numaguard(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = ProcessInfo.processInfo.environment["NUMAGUARD_STATIC_BIN"]
            ?? Command.repositoryRoot.appendingPathComponent(".build/release/numaguard").path
        return try checked(path, file: file, line: line)
    }

    /// The numaguard-tool beside that front.
    public static func tool(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let front = try numaguard(file: file, line: line)
        return try checked(URL(fileURLWithPath: front).deletingLastPathComponent().appendingPathComponent("numaguard-tool").path,
                           file: file, line: line)
    }

    private static func checked(_ path: String, file: StaticString, line: UInt) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("no static binary at \(path): run scripts/build-release (or set NUMAGUARD_STATIC_BIN)", file: file, line: line)
            throw XCTSkip("no static binary")
        }
        XCTAssertFalse(try hasInterpreter(path), "\(path) is dynamically linked: scripts/build-release builds the static one",
                       file: file, line: line)
        return path
    }

    /// Whether an ELF64 file asks for a dynamic loader (a PT_INTERP program header).
    public static func hasInterpreter(_ path: String) throws -> Bool {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        func integer<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            data.subdata(in: offset..<(offset + MemoryLayout<T>.size)).withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        }
        guard data.count > 64, data.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]), data[4] == 2 else { throw CocoaError(.fileReadCorruptFile) }
        let table = Int(integer(0x20, UInt64.self)), size = Int(integer(0x36, UInt16.self)), count = Int(integer(0x38, UInt16.self))
        return (0..<count).contains { integer(table + $0 * size, UInt32.self) == 3 }   // PT_INTERP
    }
}
#endif
