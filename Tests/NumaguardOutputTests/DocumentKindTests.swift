import NumaguardCore
import NumaguardOutput
import XCTest

/// The kinds and versions are part of every document's contract: a change here is a change
/// consumers see, so the whole table is pinned.
final class DocumentKindTests: XCTestCase {
    func testEveryKindItsSpellingAndVersion() {
        let table = DocumentKind.allCases.map { "\($0.name) \($0.kindField ?? "-") \($0.formatVersion)" }
        XCTAssertEqual(table, [
            "audit audit 1", "certificate certificate 1", "plan plan 1", "apply apply 1", "undo undo 1", "migrate migrate 1",
            "diff diff 1", "topology topology 1", "inspect inspect 1", "snapshot snapshot 1", "capture capture 1",
            "run-plan run-plan 1", "launch_record - 1", "watch_event watch_event 1", "watch_sample watch_sample 1",
            "journal_entry - 1", "attribution attribution 1", "attribution_gate attribution_gate 1",
            "fleet_report fleet_report 1", "fleet_diff fleet_diff 1",
        ])
        XCTAssertEqual(DocumentKind.launchRecord.formatVersion, LaunchRecord.formatVersion)
    }

    func testNamesAreUniqueAndReadBack() {
        XCTAssertEqual(Set(DocumentKind.allCases.map(\.name)).count, DocumentKind.allCases.count)
        for kind in DocumentKind.allCases { XCTAssertEqual(DocumentKind(name: kind.name), kind) }
        XCTAssertNil(DocumentKind(name: "run_plan"))
        XCTAssertNil(DocumentKind(name: ""))
    }
}
