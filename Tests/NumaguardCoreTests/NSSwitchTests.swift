import NumaguardCore
import XCTest

/// /etc/nsswitch.conf as the distributions ship it: which sources numaguard reads itself
/// (files, compat) and when the system's getent must be asked.
final class NSSwitchTests: XCTestCase {
    private func line(_ database: String, _ text: String?) throws -> NSSwitchLine {
        try NSSwitch.line(for: database, in: text)
    }

    private func line(_ text: String?) throws -> NSSwitchLine { try line("passwd", text) }

    func testDistributionSpellings() throws {
        let debian = "# /etc/nsswitch.conf\n\npasswd:         files systemd\ngroup:          files systemd\nshadow:         files\n"
        XCTAssertEqual(try line(debian), NSSwitchLine(database: "passwd", sources: ["files", "systemd"], text: "passwd: files systemd"))
        XCTAssertEqual(try line("group", debian).sources, ["files", "systemd"])

        let ubuntuOld = "passwd:         compat systemd\ngroup:          compat systemd\n"
        let compat = try line(ubuntuOld)
        XCTAssertEqual(compat.sources, ["compat", "systemd"])
        XCTAssertEqual([compat.readsFiles, compat.othersFirst, compat.hasOthers], [true, false, true])

        let rhel = "passwd:     sss files systemd\ngroup:      sss files systemd\n"
        let sss = try line(rhel)
        XCTAssertEqual(sss.sources, ["sss", "files", "systemd"])
        XCTAssertEqual([sss.readsFiles, sss.othersFirst, sss.hasOthers], [true, true, true], "sss answers before the file")

        let rhelAuthselect = "passwd:     files sss systemd\ngroup:      files sss systemd\n"
        XCTAssertEqual(try line(rhelAuthselect).othersFirst, false)

        let directory = "passwd: files ldap\ngroup: files winbind\n"
        XCTAssertEqual(try line(directory).sources, ["files", "ldap"])
        XCTAssertEqual(try line("group", directory).sources, ["files", "winbind"])

        let plain = try line("passwd: files\n")
        XCTAssertEqual([plain.readsFiles, plain.othersFirst, plain.hasOthers], [true, false, false])
        let onlyOthers = try line("passwd: sss\n")
        XCTAssertEqual([onlyOthers.readsFiles, onlyOthers.othersFirst, onlyOthers.hasOthers], [false, true, true])
    }

    func testActionsCommentsAndBlanks() throws {
        let text = "passwd:files [NOTFOUND=return] [ !UNAVAIL = return ]\tsss # trailing comment\r\n"
        let parsed = try line(text)
        XCTAssertEqual(parsed.sources, ["files", "sss"])
        XCTAssertEqual(parsed.text, "passwd: files [NOTFOUND=return] [ !UNAVAIL = return ] sss")
        XCTAssertEqual(try line("group", "group: files [SUCCESS=merge] systemd\n").sources, ["files", "systemd"])
        XCTAssertEqual(try line("  passwd : files systemd\n").sources, ["files", "systemd"], "blanks around the name")
        XCTAssertEqual(try line("#passwd: sss\npasswd: files\n").sources, ["files"], "a commented-out line does not count")
        XCTAssertEqual(try line("passwd: files\npasswd: sss\n").sources, ["files"], "the first line counts")
        XCTAssertEqual(try line("passwd_compat: nis\npasswdx: sss\npasswd: files\n").sources, ["files"], "only the exact database")
    }

    func testDefaultIsFiles() throws {
        for text in [nil, "", "group: sss\n", "passwd:\n", "passwd:   # nothing\n"] {
            let parsed = try line(text)
            XCTAssertEqual(parsed.sources, ["files"], String(describing: text))
            XCTAssertTrue(parsed.text.contains("default"), parsed.text)
        }
    }

    func testHostileLinesAreRefusedWithTheLineNumber() {
        let cases: [(String, String)] = [
            ("\n\npasswd: files [NOTFOUND=return\n", "line 3: \"[\" without \"]\""),
            ("passwd: [NOTFOUND=return] files\n", "line 1: [NOTFOUND=return] before any source"),
            ("passwd: files s\0ss\n", "is not a service name"),
            ("passwd: files s/../../x\n", "is not a service name"),
            ("passwd:" + String(repeating: " files", count: NSSwitch.maximumSources + 1) + "\n", "more than 64 sources"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try line(text), text.debugDescription) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error) lacks \(message)")
            }
        }
    }

    func testLongInputIsOnePass() throws {
        let noise = String(repeating: "hosts: files dns # " + String(repeating: "x", count: 1000) + "\n", count: 2000)
        XCTAssertEqual(try line(noise + "passwd: files systemd\n").sources, ["files", "systemd"])
        XCTAssertEqual(try line(String(repeating: "y", count: 4 << 20)).sources, ["files"])
    }
}
