import Foundation

/// Files recorded from real kernels in Tests/Fixtures (see each fixture's README), found from
/// this file's own path: NumaguardCoreTests depends on nothing but NumaguardCore.
enum RecordedFiles {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Every recorded file whose name is one of `names` (path relative to Tests/Fixtures, bytes
    /// as text), at most `limit`.
    static func named(_ names: Set<String>, limit: Int = 2000) -> [(path: String, text: String)] {
        guard let walker = FileManager.default.enumerator(atPath: fixtures.path) else { return [] }
        var found: [(String, String)] = []
        while let relative = walker.nextObject() as? String, found.count < limit {
            guard names.contains((relative as NSString).lastPathComponent) else { continue }
            guard let data = FileManager.default.contents(atPath: fixtures.appendingPathComponent(relative).path) else { continue }
            found.append((relative, String(decoding: data, as: UTF8.self)))
        }
        return found
    }
}
