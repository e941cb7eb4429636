import NumaguardCore
@testable import NumaguardLaunch
import XCTest

/// numactl's node and CPU grammar: parsed as written, resolved against the allowed set as
/// libnuma does (`all` the allowed set, `!` its complement there, `+N` the N-th allowed member).
final class NumactlSetTests: XCTestCase {
    private func parse(_ text: String, _ kind: NumactlSet.Kind = .node) throws -> NumactlSet {
        try NumactlSet.parse(text, kind: kind, option: "-m")
    }

    // MARK: Grammar

    func testSingleRangeAndList() throws {
        let one = try parse("1")
        XCTAssertEqual(one.ids, IDSet([1]))
        XCTAssertEqual([one.all, one.inverted, one.relative], [false, false, false])
        XCTAssertEqual(one.text, "1")
        XCTAssertEqual(try parse("0-3").ids, IDSet(0...3))
        XCTAssertEqual(try parse("0,2-3,7").ids, IDSet([0] + Array(2...3) + [7]))
        XCTAssertEqual(try parse("5-5").ids, IDSet([5]))
        XCTAssertEqual(try parse("4-7", .cpu).kind, .cpu)
    }

    func testAllInvertedAndRelative() throws {
        let all = try parse("all")
        XCTAssertTrue(all.all)
        XCTAssertFalse(all.inverted)
        XCTAssertEqual(all.ids, IDSet())

        let notAll = try parse("!all")
        XCTAssertTrue(notAll.all)
        XCTAssertTrue(notAll.inverted)

        let inverted = try parse("!1")
        XCTAssertEqual([inverted.inverted, inverted.relative], [true, false])
        XCTAssertEqual(inverted.ids, IDSet([1]))

        let relative = try parse("+0-1")
        XCTAssertEqual([relative.inverted, relative.relative], [false, true])
        XCTAssertEqual(relative.ids, IDSet(0...1))

        let both = try parse("!+2")
        XCTAssertEqual([both.inverted, both.relative], [true, true])
        XCTAssertEqual(both.ids, IDSet([2]))
        XCTAssertEqual(both.description, "!+2", "messages quote the argument as written")
    }

    func testErrorsNameTheOptionAndTheArgument() {
        assertLaunchError(.usage, "-m \"\": no nodes given") { try parse("") }
        assertLaunchError(.usage, "-m \"!\": no nodes given") { try parse("!") }
        assertLaunchError(.usage, "-m \"+\": no nodes given") { try parse("+") }
        assertLaunchError(.usage, "no CPUs given") { try parse("", .cpu) }
        assertLaunchError(.usage, "-m \"0,,1\": empty element in the list") { try parse("0,,1") }
        assertLaunchError(.usage, "empty element in the list") { try parse("1,") }
        assertLaunchError(.usage, "empty element in the list") { try parse(",1") }
        assertLaunchError(.usage, "-m \"3-1\": range 3-1 is descending") { try parse("3-1") }
        assertLaunchError(.usage, "\"+\" and \"all\" cannot be combined") { try parse("+all") }
        assertLaunchError(.usage, "-m \"!+all\": \"+\" and \"all\" cannot be combined") { try parse("!+all") }
    }

    func testGarbageIsRefusedWithTheOffendingElement() {
        for (text, element) in [("x", "x"), ("1-2-3", "1-2-3"), ("1-", "1-"), ("-1", "-1"), ("0,a", "a"), (" 1", " 1"),
                                ("1.5", "1.5"), ("+!1", "!1"), ("0x3", "0x3"), ("al", "al"), ("ALL", "ALL")] {
            assertLaunchError(.usage, "expected node numbers as N, N-M, lists of those", "found \"\(element)\"") { try parse(text) }
        }
        assertLaunchError(.usage, "expected cpu numbers") { try parse("z", .cpu) }
    }

    func testNumbersBeyondTheLargestAcceptedAreRefused() throws {
        XCTAssertEqual(try parse("\(IDListParser.maximumMember)").ids, IDSet([IDListParser.maximumMember]))
        assertLaunchError(.usage, "\(IDListParser.maximumMember + 1) exceeds the largest node number numaguard accepts") {
            try parse("0-\(IDListParser.maximumMember + 1)")
        }
        assertLaunchError(.usage, "found \"99999999999999999999999\"") { try parse("99999999999999999999999") }
    }

    /// The README: numbers are decimal, and libnuma's octal (`010` is 8) is refused rather
    /// than read as 10. A lone 0 is a number, not a leading zero.
    func testLeadingZerosAreRefusedNamingTheOptionAndTheValue() throws {
        for (text, element) in [("010", "010"), ("00", "00"), ("0-010", "0-010"), ("1,07", "07"), ("!08", "08"), ("+01", "01"), ("1-02", "1-02")] {
            assertLaunchError(.usage, "-m \"\(text)\": \"\(element)\" has a leading zero", "numactl reads 010 as octal 8") { try parse(text) }
        }
        assertLaunchError(.usage, "-C \"000-3\": \"000-3\" has a leading zero") { try NumactlSet.parse("000-3", kind: .cpu, option: "-C") }
        XCTAssertEqual(try parse("0").ids, IDSet([0]))
        XCTAssertEqual(try parse("0-10,100").ids, IDSet(Array(0...10) + [100]))
        XCTAssertEqual(try parse("+0").ids, IDSet([0]))
    }

    // MARK: Resolution

    func testAbsoluteNamesAreKeptEvenOutsideTheAllowedSet() throws {
        let resolution = try parse("1,7").resolve(allowed: IDSet(0...3))
        XCTAssertEqual(resolution.named, IDSet([1, 7]))
        XCTAssertEqual(resolution.members, IDSet([1, 7]), "the planner, not the grammar, explains node 7")
    }

    func testAllIsTheAllowedSet() throws {
        let allowed = IDSet([0, 2, 3])
        let resolution = try parse("all").resolve(allowed: allowed)
        XCTAssertEqual(resolution.members, allowed)
        XCTAssertEqual(resolution.named, allowed)
        XCTAssertEqual(try parse("!all").resolve(allowed: allowed).members, IDSet())
    }

    func testInvertedIsTheAllowedSetMinusTheNamed() throws {
        let resolution = try parse("!1").resolve(allowed: IDSet(0...3))
        XCTAssertEqual(resolution.members, IDSet([0, 2, 3]))
        XCTAssertEqual(resolution.named, IDSet([1]))
        // A member outside the allowed set is named but cannot be subtracted from it.
        XCTAssertEqual(try parse("!5").resolve(allowed: IDSet(0...3)).members, IDSet(0...3))
        XCTAssertEqual(try parse("!0-3", .cpu).resolve(allowed: IDSet(0...3)).members, IDSet())
    }

    func testRelativeIndexesTheAllowedSetInOrder() throws {
        let allowed = IDSet([4, 5, 8, 9])
        XCTAssertEqual(try parse("+0", .cpu).resolve(allowed: allowed).members, IDSet([4]))
        XCTAssertEqual(try parse("+2", .cpu).resolve(allowed: allowed).members, IDSet([8]))
        XCTAssertEqual(try parse("+1-2", .cpu).resolve(allowed: allowed).members, IDSet([5, 8]))
        XCTAssertEqual(try parse("+0,3", .cpu).resolve(allowed: allowed).members, IDSet([4, 9]))
        let inverted = try parse("!+0", .cpu).resolve(allowed: allowed)
        XCTAssertEqual(inverted.named, IDSet([4]))
        XCTAssertEqual(inverted.members, IDSet([5, 8, 9]))
    }

    func testRelativeIndexOutOfRangeIsRefusedNamingTheCpusetSize() {
        let allowed = IDSet([4, 5, 8])
        assertLaunchError(.refused, "+3: the cpuset allows only 3 CPUs (4-5,8), so relative index 3 does not exist") {
            try parse("+3", .cpu).resolve(allowed: allowed)
        }
        assertLaunchError(.refused, "+1-4: the cpuset allows only 3 CPUs", "relative index 4 does not exist") {
            try parse("+1-4", .cpu).resolve(allowed: allowed)
        }
        assertLaunchError(.refused, "+1: the cpuset allows only 1 node (0), so relative index 1 does not exist") {
            try parse("+1").resolve(allowed: IDSet([0]))
        }
    }
}
