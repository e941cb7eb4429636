import NumaguardCore
import NumaguardHost
import NumaguardReport

/// What an unpacked capture could not read on its host, from the manifest it carries
/// (`numaguard-capture.json`, `skipped`).
///
/// A file the capture could not read is not in the archive, so the copy would say the file
/// is absent where the host said it is unreadable: a snapshot of the copy came out complete
/// (exit 0) where the live host's was incomplete (exit 3), and a diff of the two saw nothing.
/// On a host whose debugfs is locked down (Secure Boot), every capture lost its
/// `sched/numa_balancing` files that way. Read through the gaps, a snapshot of the copy
/// lists them unreadable, with the host's path and error, as the host's own snapshot does.
struct CaptureGaps {
    struct Gap: Decodable, Sendable {
        var path: String
        var error: String
        /// The root it was unreadable under, when not the manifest's `source` (a gap a
        /// capture of a capture carried over).
        var source: String?
    }

    private struct Manifest: Decodable {
        var source: String
        var skipped: [Gap]
    }

    /// The root the capture read (`/` for a live host): a gap is reported at its path there,
    /// as a snapshot of that root reports it. A manifest that did not decode is in the tree
    /// read now, so its own gap is reported at its path there.
    private var source = "/"

    /// Each gap by its path's bytes.
    private var byPath: [PathKey: Gap] = [:]
    /// The names of gaps in each directory, so listing it names them as the host's did.
    private var namesByDirectory: [PathKey: [String]] = [:]

    /// Every gap, in the manifest's order.
    private(set) var all: [Gap] = []

    /// The gaps of the capture unpacked at `root`; none for the live host or a tree without
    /// a manifest. A manifest that cannot be read or decoded is itself a gap: what the
    /// capture missed is then unknown, which a snapshot must not report as complete.
    static func read(_ root: HostRoot) -> CaptureGaps {
        var gaps = CaptureGaps()
        guard !root.isLive else { return gaps }
        gaps.source = root.path
        let bytes: [UInt8]
        do {
            bytes = try root.readBytes(Capture.manifestName)
        } catch {
            if !error.isMissing { gaps.add(Gap(path: Capture.manifestName, error: error.reason)) }
            return gaps
        }
        do {
            let manifest = try JSONDocument.decode(Manifest.self, kind: .capture, from: bytes)
            gaps.source = manifest.source
            for gap in manifest.skipped { gaps.add(gap) }
        } catch {
            gaps.add(Gap(path: Capture.manifestName, error: "the capture's manifest: \(error.description)"))
        }
        return gaps
    }

    /// The root `gap` was unreadable under.
    func source(of gap: Gap) -> String {
        gap.source ?? source
    }

    /// Where the capture found `gap` unreadable.
    func hostPath(_ gap: Gap) -> String {
        let source = source(of: gap)
        return source.utf8.last == UInt8(ascii: "/") ? source + gap.path : source + "/" + gap.path
    }

    /// The gap recorded for `relative`, if the capture could not read it.
    func gap(_ relative: String) -> Gap? {
        byPath[PathKey(relative)]
    }

    /// The names of the gaps directly inside `relative` (`.`, `..`, an empty name or one
    /// longer than NAME_MAX never comes out: a manifest is input like any other).
    func names(in relative: String) -> [String] {
        namesByDirectory[PathKey(relative)] ?? []
    }

    /// The longest file name Linux has (NAME_MAX).
    static let longestName = 255

    /// How many gaps one manifest may hold is bounded by its size (HostRoot reads 16 MiB of
    /// it at most: ~280k gaps, each one an entry of the snapshot's `unreadable`).
    private mutating func add(_ gap: Gap) {
        // A NUL ends a path where the kernel reads it: `dir/name\0junk` would be read as
        // `dir/name` and invent a fact under a name no host has. No file's path holds one.
        guard !gap.path.utf8.contains(0) else { return }
        guard byPath[PathKey(gap.path)] == nil else { return }
        byPath[PathKey(gap.path)] = gap
        all.append(gap)
        let cut = PathText.cutAtLastSlash(gap.path)
        let name = cut.map { String($0.after) } ?? gap.path
        guard !name.isEmpty, name != ".", name != "..", name.utf8.count <= Self.longestName else { return }
        namesByDirectory[PathKey(cut.map { String($0.before) } ?? ""), default: []].append(name)
    }
}
