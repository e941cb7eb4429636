import NumaguardOutput
import NumaguardReport

/// Reading a snapshot file's bytes back: pure (no I/O), so `diff`, `audit --baseline` and the
/// fuzzer share one reader.
public enum SnapshotDocument {
    /// The snapshot `numaguard snapshot` wrote, refusing another kind or format version before
    /// looking at the body; a body that does not decode names where (JSONDocument.describe).
    public static func parse(_ bytes: [UInt8]) throws(DocumentError) -> Snapshot {
        try JSONDocument.decode(Snapshot.self, kind: .snapshot, from: bytes)
    }

    /// The document `parse` reads (what `numaguard snapshot` prints).
    public static func render(_ snapshot: Snapshot) throws -> String {
        try JSONDocument.render(kind: .snapshot, snapshot)
    }
}
