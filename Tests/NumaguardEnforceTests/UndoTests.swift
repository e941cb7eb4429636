import Foundation
import NumaguardCore
import NumaguardEnforce
import XCTest

/// undo over a real journal file: the newest run first, its changes in reverse order, a
/// knob changed since left alone, undo's own lines never undone.
final class UndoTests: XCTestCase {
    var path = ""

    override func setUp() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("undo-\(UUID().uuidString).jsonl").path
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: path) }

    func knobAction(_ knob: Knob, _ value: String) -> Action {
        Action(kind: .setKnob, checks: [], subject: knob.name, knob: knob, value: value, before: "", after: value)
    }

    func applier(_ host: MemoryHost, _ command: String, _ run: String) throws -> Applier {
        Applier(actuator: host, privileges: Privileges(uid: 0, effective: ["CAP_SYS_ADMIN"]), journal: try Journal(path: path),
                command: command, run: run, protection: .none, clock: { "2026-11-21T10:00:00Z" })
    }

    func testUndoWalksBackRunByRunInReverseOrder() throws {
        let host = MemoryHost()
        let balancing = Knob.sysctl("kernel.numa_balancing"), reclaim = Knob.sysctl("vm.zone_reclaim_mode")
        let thp = Knob.transparentHugepage
        host.knobs = [balancing.path: "1", reclaim.path: "1", thp.path: "always"]
        _ = try applier(host, "apply", "A").apply([knobAction(balancing, "0"), knobAction(thp, "never")])
        _ = try applier(host, "apply", "B").apply([knobAction(reclaim, "0")])

        var selection = try XCTUnwrap(try Undo.select(try Journal.read(path)))
        XCTAssertEqual(selection.run, "B")
        XCTAssertEqual(try applier(host, "undo", "U1").undo(selection).results.map(\.outcome), [.done])
        XCTAssertEqual(host.knobs[reclaim.path], "1")

        selection = try XCTUnwrap(try Undo.select(try Journal.read(path)))
        XCTAssertEqual(selection.run, "A")
        XCTAssertEqual(selection.entries.map(\.subject), ["transparent_hugepage.enabled", "kernel.numa_balancing"], "reverse order")
        host.knobs[balancing.path] = "2" // someone changed it since run A
        host.calls = []
        let undo = try applier(host, "undo", "U2").undo(selection)
        XCTAssertEqual(undo.results.map(\.outcome), [.done, .skipped])
        XCTAssertEqual(undo.results[1].detail, "changed since that run: it is 2, the run left 0; left alone")
        XCTAssertEqual(host.knobs[thp.path], "always")
        XCTAssertEqual(host.knobs[balancing.path], "2")
        XCTAssertEqual(host.calls, ["write transparent_hugepage.enabled=always"])
        XCTAssertEqual(undo.status, .violations)

        let lines = try Journal.read(path)
        XCTAssertEqual(lines.filter { $0.command == "undo" && !$0.isIntent }.map(\.undoes), ["B", "A", "A"])
        // What was not restored stays pending; undo's lines themselves are never undone.
        selection = try XCTUnwrap(try Undo.select(lines))
        XCTAssertEqual(selection.run, "A")
        XCTAssertEqual(selection.entries.map(\.subject), ["kernel.numa_balancing"])
        host.knobs[balancing.path] = "0"
        XCTAssertEqual(try applier(host, "undo", "U3").undo(selection).results.map(\.outcome), [.done])
        XCTAssertNil(try Undo.select(try Journal.read(path)), "nothing left")
        XCTAssertThrowsError(try Undo.select(try Journal.read(path), run: "Z"))
    }

    func testUndoOfAPersistRemovesTheDropInItCreated() throws {
        let host = MemoryHost()
        let file = "/etc/sysctl.d/90-numaguard.conf"
        let persist = Action(kind: .persist, checks: [], subject: file, value: "kernel.numa_balancing = 0\n", file: file,
                             before: "absent", after: "kernel.numa_balancing = 0")
        XCTAssertEqual(try applier(host, "apply", "A").apply([persist]).results.map(\.outcome), [.done])
        XCTAssertEqual(host.files[file], "kernel.numa_balancing = 0\n")
        let selection = try XCTUnwrap(try Undo.select(try Journal.read(path)))
        XCTAssertEqual(try applier(host, "undo", "U").undo(selection).results.map(\.outcome), [.done])
        XCTAssertEqual(host.files[file] ?? nil, nil)
    }

    func testADamagedJournalLineIsNamed() throws {
        try "{\"not\": \"an entry\"}\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Journal.read(path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path):1: not a numaguard journal line"), "\(error)")
        }
        XCTAssertThrowsError(try Journal.read(path + ".absent")) { error in
            XCTAssertTrue((error as? JournalError)?.missing ?? false)
        }
    }

    func testJournalLinesAreAppendedNeverRewritten() throws {
        let host = MemoryHost()
        host.knobs["proc/sys/kernel/numa_balancing"] = "1"
        _ = try applier(host, "apply", "A").apply([knobAction(.sysctl("kernel.numa_balancing"), "0")])
        let first = try String(contentsOfFile: path, encoding: .utf8)
        host.knobs["proc/sys/kernel/numa_balancing"] = "1"
        _ = try applier(host, "apply", "B").apply([knobAction(.sysctl("kernel.numa_balancing"), "0")])
        let second = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(second.hasPrefix(first))
        XCTAssertEqual(second.split(separator: "\n").count, 4, "an intent and an outcome per run")
        XCTAssertTrue(first.hasSuffix("}\n"), "one JSON object per line")
    }
}
