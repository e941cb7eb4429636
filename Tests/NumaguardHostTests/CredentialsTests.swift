import Foundation
import NumaguardCore
@testable import NumaguardHost
import XCTest

/// `--user` resolution without glibc's NSS: /etc/passwd and /etc/group read under a host root,
/// and the root's own `getent` (a real program: a shell script standing in for the name
/// service here, the system's getent on the live host) asked for every other source.
final class CredentialsTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-credentials-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    private var host: HostRoot { HostRoot(path: root.path) }
    private var log: URL { root.appendingPathComponent("getent.log") }

    private func write(_ relative: String, _ text: String, mode: Int? = nil) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        if let mode { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path) }
    }

    private func accounts(nsswitch: String?) throws {
        if let nsswitch { try write("etc/nsswitch.conf", nsswitch) }
        try write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\ntrader:x:1001:1001::/home/trader:/bin/bash\n")
        try write("etc/group", "root:x:0:\nsudo:x:27:trader\ntrader:x:1001:\nmarket:x:3000:bob,trader\n")
    }

    /// A getent under the root that logs its argv and environment and answers from `cases`
    /// (a shell `case` body over "$2 $3", the database and key after `--`).
    private func getent(_ cases: String, at relative: String = "usr/bin/getent") throws {
        try write(relative, """
            #!/bin/sh
            printf '%s|' "$@" >> '\(log.path)'
            env | grep -v '^PWD=' | tr '\\n' ',' >> '\(log.path)'
            echo >> '\(log.path)'
            case "$2 $3" in
            \(cases)
            *) exit 2 ;;
            esac
            """, mode: 0o755)
    }

    private func calls() -> [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    private func assertFailure(_ user: String, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Credentials.lookUp(user, root: host), file: file, line: line) { error in
            for fragment in fragments {
                XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)", file: file, line: line)
            }
        }
    }

    // MARK: files only

    func testFilesOnlyReadsTheFilesAndRunsNothing() throws {
        try accounts(nsswitch: "passwd: files\ngroup: files\n")
        try getent("")
        XCTAssertEqual(try Credentials.lookUp("trader", root: host), Credentials(name: "trader", uid: 1001, gid: 1001, groups: [1001, 27, 3000]))
        XCTAssertEqual(try Credentials.lookUp("0", root: host), Credentials(name: "root", uid: 0, gid: 0, groups: [0]))
        assertFailure("ghost", "no such user \"ghost\": not in \(root.path)/etc/passwd (nsswitch passwd: files)")
        assertFailure("4242", "no passwd entry for uid 4242: not in \(root.path)/etc/passwd (nsswitch passwd: files)")
        XCTAssertEqual(calls(), [], "no other source named: getent is not run")
    }

    func testNoNsswitchConfIsGlibcsDefaultFiles() throws {
        try accounts(nsswitch: nil)
        XCTAssertEqual(try Credentials.lookUp("trader", root: host).groups, [1001, 27, 3000])
        assertFailure("ghost", "nsswitch passwd: files (default: no line in nsswitch.conf)")
    }

    func testNamesNoFileCanHoldAreRefusedBeforeAnyLookup() throws {
        try accounts(nsswitch: "passwd: files systemd\ngroup: files systemd\n")
        try getent("")
        for user in ["", "-x", "a:b", "a\nb", "4294967295"] { assertFailure(user, "is neither a uid (at most 4294967294) nor a user name") }
        XCTAssertEqual(calls(), [])
    }

    // MARK: other sources through getent

    func testDebianFilesSystemdAsksGetentOnlyForWhatTheFilesLack() throws {
        try accounts(nsswitch: "passwd:         files systemd\ngroup:          files systemd\n")
        try getent("""
            "passwd dyn") echo 'dyn:x:61234:61234:Dynamic User:/:/usr/sbin/nologin' ;;
            "initgroups dyn") echo 'dyn                   61234 62000' ;;
            "initgroups trader") echo 'trader                27 3000 5000' ;;
            """)
        XCTAssertEqual(try Credentials.lookUp("trader", root: host), Credentials(name: "trader", uid: 1001, gid: 1001, groups: [1001, 27, 3000, 5000]),
                       "the passwd entry from the file; memberships from the whole group line")
        XCTAssertEqual(try Credentials.lookUp("dyn", root: host), Credentials(name: "dyn", uid: 61234, gid: 61234, groups: [61234, 62000]))
        XCTAssertEqual(calls(), ["--|initgroups|trader|LC_ALL=C,", "--|passwd|dyn|LC_ALL=C,", "--|initgroups|dyn|LC_ALL=C,"],
                       "absolute path, `--` before the operands, LC_ALL=C the whole environment")
        assertFailure("ghost", "no such user \"ghost\": not in \(root.path)/etc/passwd; getent passwd ghost (nsswitch passwd: files systemd) found none")
    }

    func testRHELSssFirstAsksGetentBeforeTheFile() throws {
        try accounts(nsswitch: "passwd:     sss files systemd\ngroup:      sss files systemd\n")
        try getent("""
            "passwd trader") echo 'trader@corp:*:1200001:1200001::/home/trader:/bin/bash' ;;
            "initgroups trader@corp") echo 'trader@corp           1200100' ;;
            """)
        XCTAssertEqual(try Credentials.lookUp("trader", root: host),
                       Credentials(name: "trader@corp", uid: 1_200_001, gid: 1_200_001, groups: [1_200_001, 1_200_100]),
                       "sss answers first, so its entry wins over the file's")
        assertFailure("ghost", "no such user \"ghost\": getent passwd ghost (nsswitch passwd: sss files systemd) found none")
    }

    func testCompatLinesDeferToGetent() throws {
        try write("etc/nsswitch.conf", "passwd: compat\ngroup: compat\n")
        try write("etc/passwd", "root:x:0:0::/:/bin/sh\n+@admins\nalice:x:1000:1000::/:/bin/sh\n")
        try write("etc/group", "root:x:0:\n")
        try getent("""
            "passwd alice") echo 'alice:x:5000:5000::/:/bin/sh' ;;
            "initgroups alice") echo 'alice                 ' ;;
            """, at: "bin/getent")
        XCTAssertEqual(try Credentials.lookUp("alice", root: host).uid, 5000, "+@admins came first: the NIS alice may win, only NSS knows")
        XCTAssertEqual(try Credentials.lookUp("root", root: host), Credentials(name: "root", uid: 0, gid: 0, groups: [0]),
                       "before any +/- line the file answers; /bin/getent is found when /usr/bin has none")
    }

    func testGetentMissingOrFailingIsSaid() throws {
        try accounts(nsswitch: "passwd: files ldap\ngroup: files\n")
        XCTAssertEqual(try Credentials.lookUp("trader", root: host).uid, 1001, "found in the file: no getent needed")
        assertFailure("ghost", "nsswitch passwd: files ldap names sources numaguard does not read itself",
                      "neither \(root.path)/usr/bin/getent nor \(root.path)/bin/getent is an executable")
        try getent("\"passwd ghost\") echo 'ldap server unreachable' >&2; exit 1 ;;\n\"passwd junk\") echo 'not a passwd line' ;;")
        assertFailure("ghost", "getent passwd ghost (nsswitch passwd: files ldap) failed (exit 1): ldap server unreachable")
        assertFailure("junk", "printed no passwd entry for it: \"not a passwd line\"")
    }

    func testBadNsswitchIsRefusedWithItsLine() throws {
        try accounts(nsswitch: "# x\npasswd: files [NOTFOUND=return\n")
        assertFailure("trader", "\(root.path)/etc/nsswitch.conf line 2: \"[\" without \"]\"")
    }

    func testOversizedFilesAreRefused() throws {
        try accounts(nsswitch: "passwd: files\ngroup: files\n")
        let big = root.appendingPathComponent("etc/passwd")
        XCTAssertTrue(FileManager.default.createFile(atPath: big.path, contents: nil))
        let handle = try FileHandle(forWritingTo: big)
        try handle.truncate(atOffset: UInt64(Credentials.fileLimit) + 1)
        try handle.close()
        assertFailure("trader", "\(root.path)/etc/passwd is larger than \(Credentials.fileLimit) bytes")
    }

    // MARK: the getent runner

    func testGetentIsBoundedInTimeAndSize() throws {
        try write("slow", "#!/bin/sh\nexec sleep 600\n", mode: 0o755)
        var slow = Getent(path: root.appendingPathComponent("slow").path)
        slow.timeoutSeconds = 1
        XCTAssertThrowsError(try slow.query("passwd", "x")) { error in
            XCTAssertTrue("\(error)".contains("did not answer within 1 s (killed)"), "\(error)")
        }
        try write("chatty", "#!/bin/sh\nexec yes\n", mode: 0o755)
        XCTAssertThrowsError(try Getent(path: root.appendingPathComponent("chatty").path).query("passwd", "x")) { error in
            XCTAssertTrue("\(error)".contains("printed more than 1048576 bytes (killed)"), "\(error)")
        }
        try write("killed", "#!/bin/sh\nkill -SEGV $$\n", mode: 0o755)
        XCTAssertThrowsError(try Getent(path: root.appendingPathComponent("killed").path).query("passwd", "x")) { error in
            XCTAssertTrue("\(error)".contains("was killed by signal \(SIGSEGV)"), "\(error)")
        }
    }

    // MARK: the live host

    /// id(1) is dynamically linked and uses glibc's NSS: the oracle for what numaguard resolves
    /// without it, on this host's own nsswitch.conf.
    func testLiveHostAgreesWithId() throws {
        func id(_ flag: String, _ user: String) throws -> [UInt32] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/id")
            process.arguments = [flag, user]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: output, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt32($0) }
        }
        for user in ["root", "nobody", "0"] {
            let credentials = try Credentials.lookUp(user)
            XCTAssertEqual([credentials.uid], try id("-u", user), user)
            XCTAssertEqual([credentials.gid], try id("-g", user), user)
            XCTAssertEqual(credentials.groups.sorted(), try id("-G", user).sorted(), user)
        }
        XCTAssertThrowsError(try Credentials.lookUp("no-such-user-ng")) { error in
            XCTAssertTrue("\(error)".hasPrefix("no such user \"no-such-user-ng\": not in /etc/passwd"), "\(error)")
        }
    }
}
