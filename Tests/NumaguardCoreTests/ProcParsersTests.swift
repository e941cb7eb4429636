import NumaguardCore
import XCTest

final class ProcParsersTests: XCTestCase {
    func testStatWithSpacesAndParensInComm() throws {
        var fields = (4...52).map { "\($0)" }
        fields[22 - 4] = "987654"  // starttime
        fields[39 - 4] = "3"       // processor
        fields[9 - 4] = "\(0x0020_0040)"  // flags: PF_KTHREAD | PF_FORKNOEXEC
        let line = "4242 (my (odd) proc) S " + fields.joined(separator: " ") + "\n"
        let stat = try TaskStatParser.parse(line)
        XCTAssertEqual(stat.pid, 4242)
        XCTAssertEqual(stat.comm, "my (odd) proc")
        XCTAssertEqual(stat.state, "S")
        XCTAssertEqual(stat.ppid, 4)
        XCTAssertEqual(stat.startTime, 987654)
        XCTAssertEqual(stat.processor, 3)
        XCTAssertTrue(stat.isKernelThread)
        fields[9 - 4] = "4194560"  // a user process's PF_* flags
        XCTAssertFalse(try TaskStatParser.parse("1 (init) S " + fields.joined(separator: " ")).isKernelThread)
    }

    func testStatRejectsTruncatedLines() {
        XCTAssertThrowsError(try TaskStatParser.parse("1 (init) S 0 1"))
        XCTAssertThrowsError(try TaskStatParser.parse("garbage"))
    }

    /// The fuzzer's find: a parent PID beyond Int trapped in the conversion; now a parse error.
    func testStatRejectsNumbersBeyondInt() throws {
        var fields = Array(repeating: "0", count: 40)
        fields[4 - 4] = "12440737887152811458"  // ppid: fits UInt64, not Int
        XCTAssertThrowsError(try TaskStatParser.parse("232 (probe) S " + fields.joined(separator: " "))) { error in
            XCTAssertTrue("\(error)".contains("field 4 is out of range"), "\(error)")
        }
        fields[4 - 4] = "1"
        fields[39 - 4] = "18446744073709551000"  // processor
        XCTAssertThrowsError(try TaskStatParser.parse("232 (probe) S " + fields.joined(separator: " ")))
    }

    func testStatusFields() throws {
        let status = ProcStatus.parse("""
            Name:\tprobe
            Uid:\t1000\t1000\t1000\t1000
            VmRSS:\t   65792 kB
            Cpus_allowed:\t3
            Cpus_allowed_list:\t0-1
            Mems_allowed:\t00000000,00000002
            Mems_allowed_list:\t1

            """)
        XCTAssertEqual(status.name, "probe")
        XCTAssertEqual(status.uids, [1000, 1000, 1000, 1000])
        XCTAssertEqual(try status.kilobytes("VmRSS"), 65792 * 1024)
        XCTAssertEqual(try status.cpusAllowed?.listString, "0-1")
        XCTAssertEqual(try status.memsAllowed?.listString, "1")
        XCTAssertNil(try status.idSet("Missing_list"))
    }

    func testMeminfoSystemAndPerNode() throws {
        let system = try MeminfoParser.parse("MemTotal:       16318012 kB\nHugePages_Total:       8\nHugepagesize:       2048 kB\n")
        XCTAssertEqual(system["MemTotal"], 16318012 * 1024)
        XCTAssertEqual(system["HugePages_Total"], 8)
        let node = try MeminfoParser.parse("Node 1 MemTotal:         524288 kB\nNode 1 MemFree:          400000 kB\nNode 1 HugePages_Free:      0\n")
        XCTAssertEqual(node["MemTotal"], 524288 * 1024)
        XCTAssertEqual(node["MemFree"], 400000 * 1024)
        XCTAssertEqual(node["HugePages_Free"], 0)
        XCTAssertThrowsError(try MeminfoParser.parse("MemTotal 5 kB"))
        XCTAssertThrowsError(try MeminfoParser.parse("Node 0 MemTotal: x kB"))
    }

    /// The byte-wise parser against the String-based one it replaced (kept here as the
    /// definition): every recorded meminfo, and each of them broken line by line in the ways
    /// a captured tree can be (cut, spaces doubled, units and numbers changed; ASCII, as the
    /// kernel writes), must give the same values, or an error for the same inputs.
    func testMeminfoAsTheStringParserReadIt() throws {
        let files = RecordedFiles.named(["meminfo"])
        XCTAssertGreaterThan(files.count, 10)
        var compared = 0
        for file in files {
            var variants = [file.text, file.text.replacingOccurrences(of: " ", with: "  "),
                            file.text.replacingOccurrences(of: "\n", with: "\n\n  \n"),
                            file.text.replacingOccurrences(of: " kB", with: " KB"),
                            file.text.replacingOccurrences(of: " kB", with: " kB extra"),
                            file.text.replacingOccurrences(of: ":", with: ""),
                            file.text.replacingOccurrences(of: "Node 0 ", with: "Node 0"),
                            file.text.replacingOccurrences(of: "Node 0 ", with: "Node  0   "),
                            file.text.replacingOccurrences(of: "0 kB", with: "99999999999999999 kB"),
                            file.text.replacingOccurrences(of: "1", with: "x")]
            let lines = file.text.split(separator: "\n", omittingEmptySubsequences: false)
            for cut in stride(from: 0, to: lines.count, by: max(1, lines.count / 7)) {
                variants.append(lines[cut...].joined(separator: "\n").dropLast(3) + "")
                variants.append(String(lines[cut].prefix(lines[cut].count / 2)))
            }
            for variant in variants {
                let fast = Result { try MeminfoParser.parse(variant) }
                let definition = Result { try Self.stringMeminfo(variant) }
                switch (fast, definition) {
                case let (.success(a), .success(b)): XCTAssertEqual(a, b, file.path)
                case (.failure, .failure): break
                default: XCTFail("\(file.path): \(fast) against \(definition) for \(variant.prefix(200))")
                }
                // The topology's two figures: the whole table's, refused where it is.
                switch (Result { try MeminfoParser.totals(variant) }, fast) {
                case let (.success(totals), .success(all)):
                    XCTAssertEqual(totals.total, all["MemTotal"], file.path)
                    XCTAssertEqual(totals.free, all["MemFree"], file.path)
                case let (.failure(a), .failure(b)): XCTAssertEqual("\(a)", "\(b)", file.path)
                case let (totals, all): XCTFail("\(file.path): totals \(totals) against \(all) for \(variant.prefix(200))")
                }
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 100)
        // Where the two differ on purpose: a separator followed by a combining mark (one
        // Character for String, two things for bytes). Bytes decide.
        XCTAssertEqual(try MeminfoParser.parse("A: 5 \u{301}\n"), ["A": 5])
        XCTAssertNil(try? Self.stringMeminfo("A: 5 \u{301}\n"))
        XCTAssertEqual(try MeminfoParser.parse("Node 0 \u{301}A: 5 kB\n"), ["\u{301}A": 5 * 1024])
    }

    private static func stringMeminfo(_ text: String) throws -> [String: Int] {
        struct Refused: Error {}
        var values: [String: Int] = [:]
        for line in Lex.lines(text) where !Lex.trimmed(line).isEmpty {
            var body = line
            if body.hasPrefix("Node ") {
                let words = body.split(separator: " ", maxSplits: 2)
                guard words.count == 3 else { throw Refused() }
                body = words[2]
            }
            guard let colon = body.firstIndex(of: ":") else { throw Refused() }
            let key = String(body[..<colon])
            let words = body[body.index(after: colon)...].split(separator: " ")
            guard let first = words.first, let number = Lex.decimal(first) else { throw Refused() }
            if words.count > 1 && words[1] == "kB" {
                guard let bytes = KernelArithmetic.bytes(kibibytes: number) else { throw Refused() }
                values[key] = bytes
            } else {
                values[key] = number
            }
        }
        return values
    }

    func testCountersCgroupDistanceAndChoices() throws {
        XCTAssertEqual(try CounterFileParser.parse("numa_hit 100\nnuma_miss 2\n"), ["numa_hit": 100, "numa_miss": 2])
        XCTAssertThrowsError(try CounterFileParser.parse("numa_hit\n"))
        // Kept names only, every line still checked; spaces as split(separator: " ") read them.
        XCTAssertEqual(try CounterFileParser.parse("numa_hit 100\n  numa_miss   2  \n\nother 3\n", keeping: ["numa_miss", "absent"]), ["numa_miss": 2])
        XCTAssertThrowsError(try CounterFileParser.parse("numa_miss 2\nbroken line here\n", keeping: ["numa_miss"]))
        XCTAssertThrowsError(try CounterFileParser.parse("numa_miss -2\n", keeping: ["numa_miss"]))
        XCTAssertThrowsError(try CounterFileParser.parse("numa_miss\t2\n"), "a tab is not the separator")
        XCTAssertEqual(try CounterFileParser.parse("a 1\n   \n"), ["a": 1], "a blank line is skipped")
        let cgroups = try CgroupEntry.parse("0::/system.slice/trading.service\n")
        XCTAssertEqual(cgroups, [CgroupEntry(hierarchy: 0, controllers: [], path: "/system.slice/trading.service")])
        let v1 = try CgroupEntry.parse("4:cpuset:/rt\n3:cpu,cpuacct:/\n")
        XCTAssertEqual(v1[0].controllers, ["cpuset"])
        XCTAssertEqual(v1[1].controllers, ["cpu", "cpuacct"])
        XCTAssertEqual(try DistanceParser.parse("10 21 31\n"), [10, 21, 31])
        XCTAssertThrowsError(try DistanceParser.parse("10 x"))
        XCTAssertEqual(try BracketChoiceParser.parse("always [madvise] never\n"), "madvise")
        XCTAssertThrowsError(try BracketChoiceParser.parse("always madvise never"))
        XCTAssertEqual(try Lex.number("1\n", what: "numa_balancing"), 1)
        XCTAssertThrowsError(try Lex.number("on\n", what: "numa_balancing"))
    }

    /// The byte-wise number readers the launch path uses in place of the generic initialisers.
    func testByteWiseNumbers() {
        XCTAssertEqual(Lex.decimal("9223372036854775807"), Int.max)
        XCTAssertNil(Lex.decimal("9223372036854775808"), "overflow is not a number")
        XCTAssertNil(Lex.decimal(""))
        XCTAssertNil(Lex.decimal("1a"))
        XCTAssertEqual(Lex.hexadecimal("0000000000001001"), 0x1001)
        XCTAssertEqual(Lex.hexadecimal("fFfFfFfFfFfFfFfF"), .max)
        XCTAssertNil(Lex.hexadecimal("10000000000000000"), "17 digits do not fit a signal mask")
        XCTAssertNil(Lex.hexadecimal(""))
        XCTAssertNil(Lex.hexadecimal("0x10"))
    }
}
