@testable import NumaguardAttribution
import XCTest

/// Mutated telemetry and series (seeded byte flips, insertions and cuts of valid files, fed in
/// random chunk sizes): every input either parses or is refused with an AttributionError
/// whose line and column are 1-based; nothing traps. Not libFuzzer, but the same property,
/// run on every test pass.
final class HostileInputTests: XCTestCase {
    private static let csv = "ts,v,desk\n1796226610000,1.5,\"a \"\"b\"\"\"\n1796226611000,\"2\",\"two\nlines\"\r\n1796226612000,,x\n"
    private static let jsonl = "{\"ts\":\"2026-12-02T15:50:00.5Z\",\"v\":12.5,\"desk\":\"X\\u00e9\",\"n\":{\"a\":[1,2]}}\n{\"ts\":\"2026-12-02T15:50:01Z\",\"v\":null,\"desk\":\"Y\"}\n"
    private static let series = "{\"format_version\":1,\"kind\":\"watch_sample\",\"time\":\"2026-12-02T15:50:01.123456Z\",\"interval_s\":1.000213,"
        + "\"regime\":\"shock\",\"figures\":{\"hint_faults_per_s\":12,\"pages_migrated_per_s\":null}}\n"

    private func mutate(_ base: String, _ rng: inout Xoshiro256) -> [UInt8] {
        var bytes = Array(base.utf8)
        let alphabet = Array("\"\\,{}[]:\n\r0123456789.-+eEZT tnul\u{0}\u{FF}".utf8)
        for _ in 0..<(1 + rng.index(below: 4)) {
            guard !bytes.isEmpty else { break }
            let at = rng.index(below: bytes.count)
            switch rng.index(below: 4) {
            case 0: bytes[at] = alphabet[rng.index(below: alphabet.count)]
            case 1: bytes.insert(alphabet[rng.index(below: alphabet.count)], at: at)
            case 2: bytes.remove(at: at)
            default: bytes = Array(bytes[..<at])
            }
        }
        return bytes
    }

    private func feed(_ bytes: [UInt8], _ rng: inout Xoshiro256, _ body: (UnsafeBufferPointer<UInt8>) throws(AttributionError) -> Void) throws(AttributionError) {
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + 1 + rng.index(below: 16))
            try bytes[start..<end].withUnsafeBufferPointer { (buffer) throws(AttributionError) in try body(buffer) }
            start = end
        }
    }

    private func check(_ error: AttributionError, _ bytes: [UInt8]) {
        if let line = error.line, line < 1 { XCTFail("line \(line): \(error) for \(String(decoding: bytes, as: UTF8.self).debugDescription)") }
        if let column = error.column, column < 1 { XCTFail("column \(column): \(error) for \(String(decoding: bytes, as: UTF8.self).debugDescription)") }
    }

    func testMutatedTelemetryAndSeriesParseOrAreRefusedInPlace() {
        var rng = Xoshiro256(seed: 16)
        for iteration in 0..<3000 {
            let (base, format): (String, TelemetryFormat) = iteration % 2 == 0 ? (Self.csv, .csv) : (Self.jsonl, .jsonLines)
            let bytes = mutate(base, &rng)
            var reader = TelemetryReader(file: "f", format: format, columns: TelemetryColumns(value: "v", segments: ["desk"]))
            do {
                try feed(bytes, &rng) { (chunk) throws(AttributionError) in try reader.feed(chunk) { _ throws(AttributionError) in } }
                try reader.finish { _ throws(AttributionError) in }
            } catch {
                check(error, bytes)
            }
            let seriesBytes = mutate(Self.series, &rng)
            var series = WatchSeriesReader(file: "s")
            do {
                try feed(seriesBytes, &rng) { (chunk) throws(AttributionError) in try series.feed(chunk) }
                _ = try series.finish()
            } catch {
                check(error, seriesBytes)
            }
        }
    }
}
