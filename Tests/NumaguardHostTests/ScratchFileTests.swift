import Foundation
import NumaguardHost
import XCTest

/// ScratchFile: unnamed (nothing appears in the directory, nothing to link or replace),
/// read back exactly, and every failure an error naming the directory.
final class ScratchFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-scratch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testValuesComeBackAsWrittenAndNoNameAppears() throws {
        let file = try ScratchFile(in: directory)
        let first = (0..<10_000).map { Double($0) * 0.5 - 7 }
        let second: [Double] = [.infinity, -0.0, 1e-300]
        try file.append(contentsOf: first)
        try file.append(contentsOf: second)
        XCTAssertEqual(file.size, (first.count + second.count) * 8)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [], "an O_TMPFILE file has no name")
        var back = [Double](repeating: 0, count: 3)
        try file.read(at: first.count * 8, into: &back)
        XCTAssertEqual(back.map(\.bitPattern), second.map(\.bitPattern))
        var middle = [Double](repeating: 0, count: 4)
        try file.read(at: 100 * 8, into: &middle)
        XCTAssertEqual(middle, Array(first[100..<104]))
    }

    func testReadingPastWhatWasWrittenIsAnError() throws {
        let file = try ScratchFile(in: directory)
        try file.append(contentsOf: [1.0, 2.0])
        var three = [Double](repeating: 0, count: 3)
        XCTAssertThrowsError(try file.read(at: 0, into: &three)) { error in
            XCTAssertTrue("\(error)".contains("past its end"), "\(error)")
        }
        var one = [Double](repeating: 0, count: 1)
        XCTAssertThrowsError(try file.read(at: -8, into: &one))
    }

    func testADirectoryThatCannotHoldOneIsNamed() throws {
        for bad in [directory + "/missing", "/proc/self/status"] {
            XCTAssertThrowsError(try ScratchFile(in: bad), bad) { error in
                XCTAssertTrue("\(error)".contains(bad), "\(error)")
            }
        }
    }
}
