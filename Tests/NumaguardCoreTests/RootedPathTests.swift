import NumaguardCore
import XCTest

/// The decisions of the walk that keeps a --host-root path inside its root, checked
/// against a small tree held in a dictionary (name -> link target, or a directory).
final class RootedPathTests: XCTestCase {
    /// Walks `path` through `links` (path from the root -> target); every other name is a
    /// directory or file. Returns where it ends, or the refusal.
    func walk(_ path: String, _ links: [String: String]) -> (path: String, leftRoot: Bool)? {
        var walk = RootedPath(path)
        while let step = walk.next() {
            guard case let .child(name, _) = step else { continue }
            let here = (walk.resolved + [name]).joined(separator: "/")
            if let target = links[here] {
                guard case .success = walk.follow(target) else { return nil }
            } else {
                walk.descended()
            }
        }
        return (walk.path, walk.leftRoot)
    }

    func testDotDotStopsAtTheRoot() {
        XCTAssertEqual(walk("proc/1/../../../../etc/shadow", [:])?.path, "etc/shadow")
        XCTAssertEqual(walk("proc/1/../../../../etc/shadow", [:])?.leftRoot, true)
        XCTAssertEqual(walk("proc/./1//cmdline", [:])?.path, "proc/1/cmdline")
        XCTAssertEqual(walk("proc/./1//cmdline", [:])?.leftRoot, false)
    }

    /// A `/` followed by a combining mark is one Character with it: split by Characters,
    /// `../\u{301}x` was one name holding `..`, and opening that name let the kernel climb
    /// above the root. Every `/` byte separates names, in a path and in a link's target, and
    /// no name handed to an open contains one.
    func testASlashBeforeACombiningMarkStillSeparates() {
        XCTAssertEqual(PathText.names(in: "../\u{301}x//y/"), ["..", "\u{301}x", "y"])
        XCTAssertEqual(PathText.names(in: "/"), [])
        XCTAssertEqual(PathText.names(in: "a\u{301}/b"), ["a\u{301}", "b"])
        XCTAssertEqual(walk("proc/1/../../../\u{301}etc/shadow", [:])?.path, "\u{301}etc/shadow")
        XCTAssertEqual(walk("proc/1/../../../\u{301}etc/shadow", [:])?.leftRoot, true)
        let linked = walk("proc/1/cmdline", ["proc/1/cmdline": "../../../\u{301}../\u{301}etc/passwd"])
        XCTAssertEqual(linked?.path, "\u{301}../\u{301}etc/passwd", "`\u{301}..` is a name, not `..`")
        XCTAssertEqual(linked?.leftRoot, true)
        var named: [String] = []
        var walk = RootedPath("a/../\u{301}b/\u{301}../c")
        while let step = walk.next() {
            if case let .child(name, _) = step {
                named.append(name)
                walk.descended()
            }
        }
        XCTAssertFalse(named.contains { $0.utf8.contains(0x2F) }, "\(named)")
        XCTAssertEqual(named, ["a", "\u{301}b", "\u{301}..", "c"])
    }

    func testAbsoluteTargetsRestartAtTheRoot() {
        let result = walk("proc/1/cmdline", ["proc/1/cmdline": "/etc/shadow"])
        XCTAssertEqual(result?.path, "etc/shadow")
        XCTAssertEqual(result?.leftRoot, true)
    }

    func testRelativeLinksInsideTheRootResolveAsTheKernelWould() {
        let links = ["sys/class/net/eth0": "../../devices/pci0000:00/0000:3b:00.0/net/eth0",
                     "sys/devices/pci0000:00/0000:3b:00.0/net/eth0/device": "../../../0000:3b:00.0"]
        XCTAssertEqual(walk("sys/class/net/eth0/device/numa_node", links)?.path, "sys/devices/pci0000:00/0000:3b:00.0/numa_node")
        XCTAssertEqual(walk("sys/class/net/eth0/device/numa_node", links)?.leftRoot, false)
        let escaping = walk("proc/1/cmdline", ["proc/1/cmdline": "../../../../../../etc/passwd"])
        XCTAssertEqual(escaping?.path, "etc/passwd")
        XCTAssertEqual(escaping?.leftRoot, true)
    }

    func testLoopsStopAfterFortyLinks() {
        var walk = RootedPath("a")
        var refusal: RootedPath.Refusal?
        var steps = 0
        while let step = walk.next(), refusal == nil {
            steps += 1
            guard case .child = step else { continue }
            if case let .failure(error) = walk.follow("a") { refusal = error }
        }
        XCTAssertEqual(refusal, .tooManyLinks)
        XCTAssertEqual(steps, RootedPath.maximumLinks + 1)
        var empty = RootedPath("a")
        _ = empty.next()
        XCTAssertEqual(try? empty.follow("").get(), nil)
    }
}
