import NumaguardCore

/// Every kind of document numaguard writes for machines, with the one `format_version` each
/// carries. A consumer reads `kind` to know what it holds and `format_version` to know the
/// layout, and refuses a version it does not know instead of misreading it; so a layout
/// change bumps the version here, for that kind only, and nowhere else.
///
/// The spellings are today's, byte for byte: most are one word, but the dry run is
/// `run-plan` and watch's events are `watch_event` (kept: renaming a kind breaks every
/// consumer that matches on it). Launch records and journal lines carry `format_version`
/// but no `kind` field: one lives in a directory of records, the other in the journal file.
public enum DocumentKind: CaseIterable, Sendable {
    /// `audit --format json`, and an audit that could not run.
    case audit
    /// `certify`'s certificate.json.
    case certificate
    /// `plan --format json`, and the saved plan `apply --plan` reads back.
    case plan
    /// The reports of `apply`, `undo` and `migrate --format json`.
    case apply, undo, migrate
    /// `diff --format json`.
    case diff
    /// `topology --format json`.
    case topology
    /// `inspect --format json`.
    case inspect
    /// `snapshot`, read back by `diff`.
    case snapshot
    /// The manifest inside a capture (numaguard-capture.json).
    case capture
    /// `run --dry-run --format json`.
    case runPlan
    /// `run --record DIR`: one file per launch (LaunchRecord).
    case launchRecord
    /// One line of `watch`'s events (stdout or --events).
    case watchEvent
    /// One line of `watch --series`: the figures of one sample (WatchSample).
    case watchSample
    /// One line of the apply/undo/migrate journal (JournalEntry).
    case journalEntry
    /// `attribute --format json`: telemetry joined to watch's regimes.
    case attribution
    /// `attribute gate --format json`: a candidate period judged against a baseline.
    case attributionGate
    /// `fleet report --format json` (and fleet.json under --out).
    case fleetReport
    /// `fleet diff --format json`.
    case fleetDiff

    /// The name: the `kind` field's value where the document has one.
    public var name: String {
        switch self {
        case .audit: "audit"
        case .certificate: "certificate"
        case .plan: "plan"
        case .apply: "apply"
        case .undo: "undo"
        case .migrate: "migrate"
        case .diff: "diff"
        case .topology: "topology"
        case .inspect: "inspect"
        case .snapshot: "snapshot"
        case .capture: "capture"
        case .runPlan: "run-plan"
        case .launchRecord: "launch_record"
        case .watchEvent: "watch_event"
        case .watchSample: "watch_sample"
        case .journalEntry: "journal_entry"
        case .attribution: "attribution"
        case .attributionGate: "attribution_gate"
        case .fleetReport: "fleet_report"
        case .fleetDiff: "fleet_diff"
        }
    }

    /// The `kind` field written into the document; nil where the document has none.
    public var kindField: String? {
        switch self {
        case .launchRecord, .journalEntry: nil
        default: name
        }
    }

    /// The `format_version` this numaguard writes, and the only one it reads back.
    public var formatVersion: Int {
        switch self {
        // The record's value lives beside it in NumaguardCore, whose decoder fills it in.
        case .launchRecord: LaunchRecord.formatVersion
        default: 1
        }
    }

    /// The kind named `name` (the `kind` field a document carries), if numaguard writes it.
    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }
}
