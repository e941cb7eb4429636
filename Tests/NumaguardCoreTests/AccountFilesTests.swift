import NumaguardCore
import XCTest

/// The "files" name-service sources and getent's answers, parsed without glibc's NSS (which a
/// static binary cannot use): what a --user switch becomes, and what hostile files cannot do.
final class AccountFilesTests: XCTestCase {
    private let passwd = Array("""
        root:x:0:0:root:/root:/bin/bash
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        # a comment line is malformed, so skipped
        trader:x:1001:1001:Trader,,,:/home/trader:/bin/bash
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
        trader:x:2002:2002::/home/other:/bin/sh

        """.utf8)

    private func entry(_ key: String, _ text: [UInt8]) -> PasswdEntry? {
        AccountKey(key).flatMap { AccountFiles.passwd($0, in: text).entry }
    }

    func testNamesAndUidsResolveToTheFirstEntry() {
        XCTAssertEqual(entry("trader", passwd), PasswdEntry(name: "trader", uid: 1001, gid: 1001), "the first line wins, as in glibc")
        XCTAssertEqual(entry("nobody", passwd), PasswdEntry(name: "nobody", uid: 65534, gid: 65534))
        XCTAssertEqual(entry("0", passwd), PasswdEntry(name: "root", uid: 0, gid: 0))
        XCTAssertEqual(entry("2002", passwd), PasswdEntry(name: "trader", uid: 2002, gid: 2002))
        XCTAssertNil(entry("trade", passwd), "a prefix is not the name")
        XCTAssertNil(entry("4242", passwd))
        XCTAssertNil(entry("nobody", []))
    }

    func testKeysRefuseWhatNoFileCanHold() {
        XCTAssertEqual(AccountKey("1000"), .uid(1000))
        XCTAssertEqual(AccountKey("00042"), .uid(42))
        XCTAssertEqual(AccountKey("alice"), .name("alice"))
        XCTAssertEqual(AccountKey("svc-1"), .name("svc-1"))
        for bad in ["", "-x", "--help", "a:b", "a\nb", "a\0b", String(repeating: "a", count: 257), "4294967295", "99999999999999999999"] {
            XCTAssertNil(AccountKey(bad), bad.debugDescription)
        }
    }

    func testMalformedLinesAreSkipped() {
        let text = Array("""
            short:x:1
            noid:x::5
            nogid:x:5:
            negative:x:-1:0
            hex:x:0x10:0
            huge:x:4294967296:0
            minus-one:x:4294967295:0
            spaced:x: 7:0
            :x:9:9
            nul\0user:x:10:10
            nuluid:x:1\01:11
            good:x:4294967294:12
            trailing:x:13:14
            """.utf8)
        for name in ["short", "noid", "nogid", "negative", "hex", "huge", "minus-one", "spaced", "nuluid"] {
            XCTAssertNil(entry(name, text), name)
        }
        XCTAssertNil(AccountFiles.passwd(.uid(9), in: text).entry, "an empty name is no user")
        XCTAssertNil(AccountFiles.passwd(.uid(10), in: text).entry, "a NUL ends a C string: the line is corrupt")
        XCTAssertEqual(entry("good", text)?.uid, 4_294_967_294, "the largest uid that is not (uid_t)-1")
        XCTAssertEqual(entry("trailing", text), PasswdEntry(name: "trailing", uid: 13, gid: 14), "gecos, home and shell may be missing")
    }

    func testLongLinesAndManyLinesStayLinear() {
        // A 1 MiB name field and 20,000 lines: one pass, and the match after them is found.
        var text = [UInt8](repeating: 0x78, count: 1 << 20) + Array(":x:1:1::/:/bin/sh\n".utf8)
        for index in 0..<20_000 { text += Array("u\(index):x:\(index + 10):100::/:/bin/sh\n".utf8) }
        text += Array("last:x:7:7::/:/bin/sh\n".utf8)
        XCTAssertEqual(entry("last", text)?.uid, 7)
        XCTAssertEqual(entry("u19999", text)?.uid, 20_009)
        XCTAssertNil(entry("absent", text))
    }

    func testCompatLinesAreReportedBeforeTheMatch() {
        let compat = Array("root:x:0:0::/:/bin/sh\n+@admins\nalice:x:1000:1000::/:/bin/sh\n-bob\n+\n".utf8)
        XCTAssertEqual(AccountFiles.passwd(.name("root"), in: compat), AccountFiles.PasswdMatch(entry: PasswdEntry(name: "root", uid: 0, gid: 0), compatBefore: false))
        let alice = AccountFiles.passwd(.name("alice"), in: compat)
        XCTAssertEqual(alice.entry?.uid, 1000)
        XCTAssertTrue(alice.compatBefore, "+@admins could bring in another alice first")
        XCTAssertEqual(AccountFiles.passwd(.name("bob"), in: compat), AccountFiles.PasswdMatch(entry: nil, compatBefore: true))
        XCTAssertNil(AccountFiles.passwd(.name("+"), in: compat).entry, "a compat line is never a user")
    }

    func testGroupsArePrimaryFirstThenMembershipsOnce() throws {
        let group = Array("""
            root:x:0:
            sudo:x:27:alice,trader
            trader:x:1001:
            audio:x:29: trader , bob
            market:x:3000:bob,trader,trader
            dup:x:27:trader
            broken:x:abc:trader
            nul:x:31:tra\0der
            traders:x:4000:traderx,xtrader
            last:x:4001:trader
            """.utf8)
        let found = try AccountFiles.groups(of: "trader", primary: 1001, in: group)
        XCTAssertEqual(found.groups, [1001, 27, 29, 3000, 4001])
        XCTAssertFalse(found.compat)
        XCTAssertEqual(try AccountFiles.groups(of: "nobody", primary: 65534, in: group).groups, [65534])
        XCTAssertEqual(try AccountFiles.groups(of: "trader", primary: 27, in: group).groups, [27, 29, 3000, 4001],
                       "the primary group is listed once")
        XCTAssertTrue(try AccountFiles.groups(of: "x", primary: 1, in: Array("+:::\n".utf8)).compat)
    }

    func testMoreGroupsThanTheKernelTakesAreRefused() {
        var group: [UInt8] = []
        for gid in 1...(AccountFiles.maximumGroups + 1) { group += Array("g\(gid):x:\(gid):u\n".utf8) }
        XCTAssertThrowsError(try AccountFiles.groups(of: "u", primary: 0, in: group)) { error in
            XCTAssertEqual(error as? AccountFiles.GroupsFailure, .tooMany(AccountFiles.maximumGroups))
        }
    }

    // MARK: getent's answers

    func testGetentPasswdTakesTheServicesSpelling() {
        let answer = Array("Alice@corp.example:*:1200001:1200001:Alice:/home/alice:/bin/bash\n".utf8)
        XCTAssertEqual(AccountFiles.getentPasswd(.name("alice"), output: answer),
                       PasswdEntry(name: "Alice@corp.example", uid: 1_200_001, gid: 1_200_001), "sssd may canonicalise the name")
        XCTAssertEqual(AccountFiles.getentPasswd(.uid(1_200_001), output: answer)?.name, "Alice@corp.example")
        XCTAssertNil(AccountFiles.getentPasswd(.uid(5), output: answer), "a line for another uid is not the answer")
        XCTAssertNil(AccountFiles.getentPasswd(.name("x"), output: Array("garbage\n".utf8)))
        XCTAssertNil(AccountFiles.getentPasswd(.name("x"), output: []))
    }

    func testGetentInitgroupsLines() throws {
        // getent prints the key padded to 21 columns, then " gid" per group (primary group excluded).
        XCTAssertEqual(try AccountFiles.initgroups(of: "nobody", primary: 65534, getentOutput: Array("nobody               \n".utf8)), [65534])
        XCTAssertEqual(try AccountFiles.initgroups(of: "trader", primary: 1001, getentOutput: Array("trader                27 1001 29 27\n".utf8)),
                       [1001, 27, 29])
        let long = "a-very-long-directory-user-name"
        XCTAssertEqual(try AccountFiles.initgroups(of: long, primary: 5, getentOutput: Array("\(long) 6 7\n".utf8)), [5, 6, 7])
        XCTAssertEqual(try AccountFiles.initgroups(of: "John Doe", primary: 5, getentOutput: Array("John Doe              6\n".utf8)), [5, 6],
                       "a name with a blank is matched, not split")
        XCTAssertEqual(try AccountFiles.initgroups(of: "x", primary: 5, getentOutput: []), [5])
        for bad in ["other                 6\n", "x 6 seven\n", "x 4294967296\n", "x -1\n", "x 6\0\n"] {
            XCTAssertThrowsError(try AccountFiles.initgroups(of: "x", primary: 5, getentOutput: Array(bad.utf8)), bad.debugDescription)
        }
    }
}
