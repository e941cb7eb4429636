// XCTest exists only in the toolchain's test configuration: a packager's
// `swift build -c release --static-swift-stdlib` builds this target without it.
#if canImport(XCTest)
import Foundation
import XCTest

/// Independent readers of the tools numaguard replaces. They parse numactl's and
/// numastat's own output, so agreement with them is a real check, not numaguard
/// grading itself.
public enum Oracle {
    public struct Hardware: Equatable {
        public var nodes: [Int] = []
        public var cpus: [Int: [Int]] = [:]
        public var sizeMB: [Int: Int] = [:]
        public var freeMB: [Int: Int] = [:]
        public var distances: [[Int]] = []
    }

    /// `numactl --hardware`.
    public static func numactlHardware(_ text: String) -> Hardware {
        var hardware = Hardware()
        var inDistances = false
        for line in text.split(separator: "\n").map(String.init) {
            let words = line.split(separator: " ").map(String.init)
            if line.hasPrefix("node distances:") { inDistances = true; continue }
            if inDistances {
                if words.first == "node" { continue }
                if let first = words.first, first.hasSuffix(":") {
                    hardware.distances.append(words.dropFirst().compactMap { Int($0) })
                }
                continue
            }
            guard words.count >= 3, words[0] == "node", let node = Int(words[1]) else { continue }
            switch words[2] {
            case "cpus:":
                hardware.nodes.append(node)
                hardware.cpus[node] = words.dropFirst(3).compactMap { Int($0) }
            case "size:": hardware.sizeMB[node] = Int(words[3])
            case "free:": hardware.freeMB[node] = Int(words[3])
            default: break
            }
        }
        return hardware
    }

    /// `numastat -p PID` for one PID: MB per category row per node column.
    public static func numastatProcess(_ text: String) -> [String: [String: Double]] {
        var columns: [String] = []
        var table: [String: [String: Double]] = [:]
        for line in text.split(separator: "\n").map(String.init) {
            let words = line.split(separator: " ").map(String.init)
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("Node ") {
                // Header: "Node 0 Node 1 Total"
                columns = []
                var index = 0
                while index < words.count {
                    if words[index] == "Node", index + 1 < words.count { columns.append(words[index + 1]); index += 2 }
                    else { columns.append(words[index]); index += 1 }
                }
                continue
            }
            guard let label = words.first, ["Huge", "Heap", "Stack", "Private", "Total"].contains(label),
                  words.count == columns.count + 1 else { continue }
            var row: [String: Double] = [:]
            for (column, value) in zip(columns, words.dropFirst()) { row[column] = Double(value) }
            table[label] = row
        }
        return table
    }
}

extension Oracle {
    static let numastatRows = ["Huge", "Heap", "Stack", "Private", "Total"]

    /// numastat -p prints MiB with two decimals; numaguard's bytes for every row and node
    /// column (and the Total column) must round to the same figure. `bytes(row, column)`
    /// gives numaguard's figure for numastat's row label and column ("0", "1", ..., "Total").
    public static func assertNumastatAgrees(
        _ numastatText: String, _ context: String, bytes: (String, String) -> Int?,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let table = numastatProcess(numastatText)
        XCTAssertFalse(table.isEmpty, "\(context): numastat output parsed: \(numastatText)", file: file, line: line)
        for label in numastatRows {
            guard let row = table[label] else {
                XCTFail("\(context): numastat has no \(label) row", file: file, line: line)
                continue
            }
            for (column, megabytes) in row {
                guard let ours = bytes(label, column) else {
                    XCTFail("\(context): numaguard has no \(label) figure for \(column)", file: file, line: line)
                    continue
                }
                XCTAssertEqual(Double(ours) / 1_048_576, megabytes, accuracy: 0.006,
                               "\(context): \(label) on \(column) vs numastat -p", file: file, line: line)
            }
        }
    }

    /// numaguard's JSON `numastat` object, looked up the way numastat labels it.
    public static func jsonFigure(_ categories: [String: [String: Int]], _ label: String, _ column: String) -> Int? {
        categories[label.lowercased()]?[column == "Total" ? "total" : column]
    }
}
#endif
