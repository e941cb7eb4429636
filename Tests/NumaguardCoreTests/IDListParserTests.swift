import NumaguardCore
import XCTest

final class IDListParserTests: XCTestCase {
    func testParsesKernelListSpellings() throws {
        XCTAssertEqual(try IDListParser.parse("0-3,8,10-11\n").members, [0, 1, 2, 3, 8, 10, 11])
        XCTAssertEqual(try IDListParser.parse("5").members, [5])
        XCTAssertEqual(try IDListParser.parse("0-0").members, [0])
        XCTAssertEqual(try IDListParser.parse("64-65,127,128").members, [64, 65, 127, 128])
    }

    func testBlankIsTheEmptySetAsSysfsPrintsIt() throws {
        // /sys/devices/system/cpu/isolated is an empty line when isolcpus= is not given.
        XCTAssertTrue(try IDListParser.parse("\n").isEmpty)
        XCTAssertTrue(try IDListParser.parse("").isEmpty)
    }

    func testRejectsMalformedListsWithColumn() {
        for (input, column) in [("0-", 1), ("1,,2", 3), ("3-1", 1), ("a", 1), ("0,1-x", 3), ("-1", 1)] {
            XCTAssertThrowsError(try IDListParser.parse(input), input) { error in
                XCTAssertEqual((error as? ParseError)?.column, column, "\(input): \(error)")
            }
        }
    }

    /// A host file's bytes quoted in the error reach a terminal escaped (a captured tree's
    /// `node/online` written `0-1ESC]0;ownedBEL`): every command prints this description.
    func testTheErrorQuotesWhatItCouldNotParseEscaped() {
        XCTAssertThrowsError(try IDListParser.parse("0-1\u{1B}]0;owned\u{07}")) { error in
            let text = "\(error)"
            XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 }, text)
            XCTAssertTrue(text.contains("\"0-1\\x1b]0;owned\\x07\""), text)
        }
        XCTAssertEqual(ParseError(what: "regex", input: #"a\d+\tb"#, reason: "r").description, #"invalid regex "a\d+\tb": r"#,
                       "backslashes stay as written")
    }

    func testRejectsAbsurdlyLargeIDs() {
        XCTAssertThrowsError(try IDListParser.parse("0-4000000000"))
        XCTAssertThrowsError(try IDListParser.parse("99999999999999999999999"))
    }

    func testListStringRoundTrips() throws {
        for text in ["0-3,8,10-11", "0", "1,3,5", "0-127", "63-64"] {
            XCTAssertEqual(try IDListParser.parse(text).listString, text)
        }
        XCTAssertEqual(IDSet().listString, "")
    }

    func testParsesHexMasksMostSignificantGroupFirst() throws {
        XCTAssertEqual(try IDListParser.parseMask("0000000f").members, [0, 1, 2, 3])
        XCTAssertEqual(try IDListParser.parseMask("00000001,00000000").members, [32])
        XCTAssertEqual(try IDListParser.parseMask("ffff0000,00000003\n").members, [0, 1] + Array(48...63))
        XCTAssertTrue(try IDListParser.parseMask("00000000").isEmpty)
        XCTAssertThrowsError(try IDListParser.parseMask("xyz"))
        XCTAssertThrowsError(try IDListParser.parseMask("123456789"))
        XCTAssertThrowsError(try IDListParser.parseMask(""))
    }

    /// A copy shares its storage until either changes, which proves it equal; sets built apart
    /// may be equal without sharing, so a false answer proves nothing.
    func testSharedStorageMeansEqual() {
        let set = IDSet([0, 3, 64, 200])
        var copy = set
        XCTAssertTrue(copy.sharesStorage(with: set))
        XCTAssertTrue(IDSet().sharesStorage(with: IDSet()), "empty sets are equal, and share the empty storage")
        XCTAssertFalse(IDSet([0, 3, 64, 200]).sharesStorage(with: set), "equal but built apart")
        XCTAssertEqual(IDSet([0, 3, 64, 200]), set)
        copy.insert(5)
        XCTAssertFalse(copy.sharesStorage(with: set))
        XCTAssertNotEqual(copy, set)
    }

    func testSetAlgebra() throws {
        let a = try IDListParser.parse("0-7")
        let b = try IDListParser.parse("4-11")
        XCTAssertEqual(a.intersection(b).listString, "4-7")
        XCTAssertEqual(a.union(b).listString, "0-11")
        XCTAssertEqual(a.subtracting(b).listString, "0-3")
        XCTAssertTrue(try IDListParser.parse("1-2").isSubset(of: a))
        XCTAssertFalse(b.isSubset(of: a))
        XCTAssertEqual(a.count, 8)
        // Equal sets compare equal however they were built (trailing words trimmed).
        XCTAssertEqual(IDSet([1, 200]).subtracting(IDSet([200])), IDSet([1]))
    }
}
