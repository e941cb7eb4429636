import Foundation
import NumaguardSnapshot
import TestSupport
import XCTest

/// numaguard's own tar writer, read back by GNU tar and busybox tar (the guests have only
/// the latter): names of every length, symlinks with long targets, empty files.
final class UstarTests: XCTestCase {
    private var directories: [URL] = []

    override func tearDown() {
        for directory in directories { try? FileManager.default.removeItem(at: directory) }
    }

    private func temporary() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-ustar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        directories.append(url)
        return url
    }

    func testGNUAndBusyboxTarExtractEveryEntry() throws {
        let deep = "sys/devices/" + (1...12).map { "pci0000:00/0000:\(String(format: "%02x", $0)):00.0" }.joined(separator: "/")
        let longName = "proc/1/" + String(repeating: "n", count: 120)
        let longTarget = "../../" + String(repeating: "t", count: 150)
        var archive = UstarArchive(mtime: 1_790_000_000)
        archive.addDirectory("proc")
        archive.addFile("proc/cmdline", Array("quiet numa_balancing=disable\n".utf8))
        archive.addFile("proc/empty", [])
        archive.addFile("\(deep)/numa_node", Array("1\n".utf8))
        archive.addFile(longName, Array("x".utf8))
        archive.addSymlink("proc/1/exe", target: "/usr/bin/trading engine")
        archive.addSymlink("proc/1/far", target: longTarget)
        archive.addFile("big", [UInt8](repeating: 0x41, count: 1500))
        XCTAssertGreaterThan(deep.utf8.count + 10, 255, "needs a pax path record")
        let file = try temporary().appendingPathComponent("t.tar")
        try Data(archive.finished()).write(to: file)

        var tars = [["/usr/bin/tar"]]
        for busybox in ["/bin/busybox", "/usr/bin/busybox"] where FileManager.default.isExecutableFile(atPath: busybox) {
            tars.append([busybox, "tar"])
            break
        }
        XCTAssertEqual(tars.count, 2, "busybox-static is installed by scripts/setup.sh for the guests")
        for tar in tars {
            let into = try temporary()
            let result = try Command.run(tar[0], Array(tar.dropFirst()) + ["-xf", file.path, "-C", into.path])
            XCTAssertEqual(result.status, 0, "\(tar): \(result.stderr)")
            func text(_ path: String) -> String? { try? String(contentsOf: into.appendingPathComponent(path), encoding: .utf8) }
            XCTAssertEqual(text("proc/cmdline"), "quiet numa_balancing=disable\n", "\(tar)")
            XCTAssertEqual(text("proc/empty"), "", "\(tar)")
            XCTAssertEqual(text("\(deep)/numa_node"), "1\n", "\(tar)")
            XCTAssertEqual(text(longName), "x", "\(tar)")
            XCTAssertEqual(text("big")?.count, 1500, "\(tar)")
            let fm = FileManager.default
            XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: into.appendingPathComponent("proc/1/exe").path), "/usr/bin/trading engine", "\(tar)")
            XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: into.appendingPathComponent("proc/1/far").path), longTarget, "\(tar)")
        }
        // GNU tar's listing checks every header checksum.
        let listing = try Command.run("/usr/bin/tar", ["-tvf", file.path])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        XCTAssertTrue(listing.stdout.contains("root/root"), listing.stdout)
        XCTAssertTrue(listing.stdout.contains("proc/1/exe -> /usr/bin/trading engine"), listing.stdout)
    }
}
