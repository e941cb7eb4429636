import NumaguardCore
import XCTest

/// Paths split and matched by `/` bytes: a `/` followed by a combining mark is one Character
/// with it, and a Character-wise split or prefix did not see that slash.
final class PathTextTests: XCTestCase {
    func testNamesSplitAtEverySlashByte() {
        XCTAssertEqual(PathText.names(in: "/proc//1/./cmdline/"), ["proc", "1", ".", "cmdline"])
        XCTAssertEqual(PathText.names(in: "../\u{301}x"), ["..", "\u{301}x"])
        XCTAssertEqual(PathText.names(in: "a\u{301}/b"), ["a\u{301}", "b"])
        XCTAssertEqual(PathText.names(in: ""), [])
        XCTAssertEqual(PathText.names(in: "///"), [])
        XCTAssertEqual(PathText.names(in: Substring("x/é/y")), ["x", "é", "y"])
        // Character-wise, the first two were one name.
        XCTAssertEqual("../\u{301}x".split(separator: "/").count, 1)
    }

    func testCutAtTheLastSlashByte() {
        let path = "/srv/reports/\u{301}x.conf"
        XCTAssertEqual(PathText.cutAtLastSlash(path)?.before, "/srv/reports")
        XCTAssertEqual(PathText.cutAtLastSlash(path).map { Array($0.after.utf8) }, Array("\u{301}x.conf".utf8), "the mark kept")
        XCTAssertEqual(path.lastIndex(of: "/").map { String(path[..<$0]) }, "/srv", "what a Character search found")
        XCTAssertNil(PathText.cutAtLastSlash("name"))
        XCTAssertEqual(PathText.cutAtLastSlash("/x")?.before, "")
        XCTAssertEqual(PathText.cutAtLastSlash("a/")?.after, "")
    }

    /// A cgroup lies within a policy's cgroup when it is that cgroup or below it.
    func testWithinIsTheCgroupOrBelowIt() {
        XCTAssertTrue(PathText.isWithin("/a", "/a"))
        XCTAssertTrue(PathText.isWithin("/a/b", "/a"))
        XCTAssertTrue(PathText.isWithin("/a/b", "/a/"))
        XCTAssertTrue(PathText.isWithin("/a/b", "/"))
        XCTAssertFalse(PathText.isWithin("/ab", "/a"))
        XCTAssertFalse(PathText.isWithin("/a", "/a/b"))
        XCTAssertTrue(PathText.isWithin("/a/\u{301}x", "/a"), "below /a, whatever its name begins with")
        XCTAssertFalse("/a/\u{301}x".hasPrefix("/a/"), "what a Character prefix said")
        XCTAssertFalse(PathText.isWithin("/é", "/e"), "bytes, not canonical equivalence")
    }

    func testAbsoluteIsTheFirstByte() {
        XCTAssertTrue(PathText.isAbsolute("/\u{301}tmp/r"))
        XCTAssertFalse("/\u{301}tmp/r".hasPrefix("/"), "what a Character prefix said")
        XCTAssertFalse(PathText.isAbsolute("tmp/r"))
        XCTAssertFalse(PathText.isAbsolute(""))
        XCTAssertTrue(PathText.fromItsRoot("///\u{301}tmp/r") == ("/", "\u{301}tmp/r"))
        XCTAssertTrue(PathText.fromItsRoot("/") == ("/", ""))
        XCTAssertTrue(PathText.fromItsRoot("\u{301}tmp/r") == (".", "\u{301}tmp/r"))
    }
}
