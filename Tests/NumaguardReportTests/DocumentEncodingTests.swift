import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardOutput
import NumaguardReport
import TestSupport
import XCTest

/// `inspect` and `topology` JSON now come from PrettyJSONEncoder (no Foundation, so the front
/// can print them): for every recorded host, every process and the topology, the document must
/// be byte for byte what Foundation's JSONEncoder wrote before (the layout the goldens pin).
final class DocumentEncodingTests: XCTestCase {
    private struct Envelope<Body: Encodable>: Encodable {
        let kind: DocumentKind
        let body: Body
        enum CodingKeys: String, CodingKey { case formatVersion = "format_version", kind }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kind.formatVersion, forKey: .formatVersion)
            try container.encode(kind.name, forKey: .kind)
            try body.encode(to: encoder)
        }
    }

    private func foundation<Body: Encodable>(_ kind: DocumentKind, _ body: Body) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Envelope(kind: kind, body: body)), as: UTF8.self) + "\n"
    }

    func testEveryRecordedHostsDocumentsAreFoundationsBytes() throws {
        var processes = 0
        for name in Fixtures.names + Fixtures.deviceNames {
            let root = HostRoot(path: Fixtures.path(name))
            let facts = try HostFacts.read(root)
            let topology = TopologyDocument(topology: facts.topology, kernel: facts.kernel)
            XCTAssertEqual(try JSONDocument.render(kind: .topology, topology), try foundation(.topology, topology), name)
            let outcome = try Inspection.run(root: root, selection: .all)
            let inspect = InspectDocument(processes: outcome.reports, failures: outcome.failures
                + [.init(pid: 7, kind: .gone, error: "PID 7 exited\u{8} while it was read")])
            XCTAssertEqual(try JSONDocument.render(kind: .inspect, inspect), try foundation(.inspect, inspect), name)
            processes += outcome.reports.count
        }
        XCTAssertGreaterThan(processes, 50, "the recorded processes were compared")
    }

    /// The front writes inspect's JSON by hand (`InspectDocument.jsonDocument`): for every
    /// recorded host, and for reports whose optional members are absent or hostile, it must be
    /// the Encodable document byte for byte.
    func testInspectsHandWrittenJSONIsTheEncodableDocument() throws {
        var compared = 0
        for name in Fixtures.names + Fixtures.deviceNames {
            let outcome = try Inspection.run(root: HostRoot(path: Fixtures.path(name)), selection: .all)
            var documents = [InspectDocument(processes: outcome.reports, failures: outcome.failures)]
            // Every optional member absent, strings a terminal or a JSON reader would trip on.
            var bare = outcome.reports
            for index in bare.indices {
                bare[index].process.exe = nil
                bare[index].process.uid = nil
                bare[index].process.cgroup = nil
                bare[index].process.comm = "a\"b\\c\u{1b}[2J\u{7f}\u{2028}é"
                bare[index].memory = nil
                bare[index].backing = nil
                for thread in bare[index].threads.indices {
                    bare[index].threads[thread].node = nil
                    bare[index].threads[thread].cpusAllowed = nil
                }
                bare[index].notes.append("")
            }
            documents.append(InspectDocument(processes: bare, failures: [
                .init(pid: nil, kind: .missing, error: "no process matched \"x\""), .init(pid: 7, kind: .permission, error: "\t"),
            ]))
            documents.append(InspectDocument(processes: [], failures: []))
            for document in documents {
                let encoded = try JSONDocument.render(kind: .inspect, document)
                XCTAssertEqual(document.jsonDocument, encoded, name)
                XCTAssertEqual(encoded, try foundation(.inspect, document), name)
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 30)
    }
}
