import NumaguardCore
import NumaguardHost
import NumaguardOutput
import NumaguardReport
import Synchronization

/// What a capture holds and what it could not collect, stored in the archive itself as
/// `numaguard-capture.json` so the file explains itself wherever it travels.
public struct CaptureManifest: Encodable, Sendable {
    public struct Skipped: Encodable, Equatable, Sendable {
        public var path: String
        public var error: String
        /// Where the file was unreadable when that was not this capture's `source`: a
        /// capture of an unpacked capture keeps the first capture's root for what it missed.
        public var source: String?

        public init(path: String, error: String, source: String? = nil) {
            self.path = path
            self.error = error
            self.source = source
        }
    }

    public var toolVersion: String
    public var takenAt: String
    /// The root captured: `/` for the live host.
    public var source: String
    public var host: SnapshotHost
    public var files = 0
    public var symlinks = 0
    public var directories = 0
    /// Left out on purpose, with the reason.
    public var excluded: [String] = []
    /// Present but unreadable (permission, a read error), with the error.
    public var skipped: [Skipped] = []
    public var collected = "only the files numaguard's readers read (snapshot, topology, audit, inspect, certify counters): "
        + "never process environments (environ) or memory contents (mem, pagemap)"

    enum CodingKeys: String, CodingKey {
        case toolVersion = "tool_version", takenAt = "taken_at", source, host, files, symlinks, directories, excluded, skipped, collected
    }
}

public struct CaptureError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// `numaguard capture`: runs numaguard's own readers over the host with an observer that
/// stores every file, directory and symlink they touch, so the archive holds exactly what
/// numaguard reads (no list to drift from the readers) laid out as a host root.
public enum Capture {
    public static let manifestName = "numaguard-capture.json"

    public struct Result: Sendable {
        public var archive: [UInt8]
        public var manifest: CaptureManifest
    }

    /// `excludingPID`: the capturing process itself, which is not part of the host being
    /// recorded (its own memory would show up as foreign on a reserved node elsewhere).
    public static func run(root: HostRoot, toolVersion: String, takenAt: String, epoch: Int,
                           excludingPID: Int?) throws(CaptureError) -> Result {
        let recorder = CaptureRecorder(root: root, excludedPID: excludingPID, mtime: epoch)
        let observed = root.observed(by: recorder)
        var manifest = CaptureManifest(toolVersion: toolVersion, takenAt: takenAt, source: root.path,
                                       host: SnapshotHost(hostname: nil, machineID: nil, bootID: nil))
        var numaEnabled = true
        var nodes: [Int] = []
        do {
            let snapshot = try SnapshotReader.read(observed, toolVersion: toolVersion, takenAt: takenAt)
            manifest.host = snapshot.host
            numaEnabled = snapshot.topology.numaEnabled
            nodes = numaEnabled ? Array(snapshot.topology.onlineNodes) : []
        } catch {
            // A host whose topology cannot be read is worth capturing all the more.
            let prefix = root.isLive ? "/" : root.path + "/"
            let path = error.path.hasPrefix(prefix) ? String(error.path.dropFirst(prefix.count)) : error.path
            recorder.skip(path, "the snapshot reader stopped here: \(error.reason)")
        }
        // certify's counters, and the user names workload rules match against.
        _ = try? CounterReading.read(observed, nodes: nodes)
        _ = try? observed.readText("etc/passwd")
        let reader = ProcessReader(root: observed)
        // Read once, and only where a cpuset is not where convention puts it (a hybrid host).
        var cgroupHierarchy: CgroupHierarchy?
        for pid in (try? reader.pids()) ?? [] where pid != excludingPID {
            _ = try? observed.readSmallText("proc/\(pid)/comm")
            // What cannot be read was reported to the recorder; a process that exits is just gone.
            guard let process = try? reader.read(pid: pid, memory: true, numaEnabled: numaEnabled) else { continue }
            _ = CgroupCpuset.read(observed, cgroups: process.cgroups, hierarchy: &cgroupHierarchy, mountinfo: ["proc/1/mountinfo"])
        }
        // A capture of an unpacked capture: what the first could not read, the second has not
        // either (its files are not in the tree, so no reader above failed on them).
        let gaps = CaptureGaps.read(root)
        for gap in gaps.all { recorder.skip(gap.path, gap.error, source: gaps.source(of: gap)) }
        if let excludingPID { manifest.excluded.append("proc/\(excludingPID): the numaguard process taking the capture") }
        return try recorder.finish(manifest)
    }
}

/// Turns observed reads into archive entries: files at their physical paths, every symlink
/// passed on the way as a symlink, directories before their contents.
final class CaptureRecorder: HostReadObserver {
    struct State {
        var archive: UstarArchive
        /// Paths by their bytes (`PathKey`): a Set of Strings held canonically equal paths (two
        /// cgroups named `café` and `cafe\u{301}`) as one, and the second's files were left out.
        var stored: Set<PathKey> = []
        var manifest: [CaptureManifest.Skipped] = []
        var noted: Set<PathKey> = []
        var files = 0
        var symlinks = 0
        var directories = 0
    }

    let root: HostRoot
    let excluded: String?
    let state: Mutex<State>

    init(root: HostRoot, excludedPID: Int?, mtime: Int) {
        self.root = root
        excluded = excludedPID.map { "proc/\($0)" }
        state = Mutex(State(archive: UstarArchive(mtime: mtime)))
    }

    func isExcluded(_ relative: String) -> Bool {
        // An unpacked capture's own manifest is not the host's: the new one replaces it (the
        // gaps it lists are carried over by `Capture.run`).
        if relative.utf8.elementsEqual(Capture.manifestName.utf8) { return true }
        guard let excluded else { return false }
        return relative == excluded || relative.hasPrefix(excluded + "/")
    }

    func file(_ relative: String, _ contents: [UInt8]) {
        guard !isExcluded(relative) else { return }
        state.withLock { state in
            if let place = place(relative, &state) { addFile(place.path, contents, &state) }
        }
    }

    func listed(_ relative: String) {
        guard !isExcluded(relative) else { return }
        state.withLock { state in
            if let place = place(relative, &state) { addDirectory(place.path, &state) }
        }
    }

    func link(_ relative: String, _ target: String) {
        guard !isExcluded(relative) else { return }
        let (parent, name) = split(relative)
        state.withLock { state in
            guard let place = place(parent, &state) else { return }
            addLink(place.path.isEmpty ? name : "\(place.path)/\(name)", target, &state)
        }
    }

    /// An existence test the readers rely on must come out the same on the copy: a
    /// directory is stored as one, a file with its contents.
    func probed(_ relative: String) {
        guard !isExcluded(relative) else { return }
        state.withLock { state in
            guard let place = place(relative, &state) else { return }
            if place.isDirectory { return addDirectory(place.path, &state) }
            guard !state.stored.contains(PathKey(place.path)) else { return }
            do throws(HostError) {
                addFile(place.path, try root.readBytes(place.path), &state)
            } catch {
                if !error.isMissing { note(relative, error.reason, &state) }
            }
        }
    }

    func failed(_ relative: String, _ error: HostError) {
        guard !isExcluded(relative) else { return }
        state.withLock { state in note(relative, error.reason, &state) }
    }

    func skip(_ relative: String, _ reason: String, source: String? = nil) {
        state.withLock { state in note(relative, reason, source: source, &state) }
    }

    func finish(_ manifest: CaptureManifest) throws(CaptureError) -> Capture.Result {
        var manifest = manifest
        var archive = state.withLock { state in
            manifest.files = state.files
            manifest.symlinks = state.symlinks
            manifest.directories = state.directories
            manifest.skipped = state.manifest
            return state.archive
        }
        do {
            archive.addFile(Capture.manifestName, Array(try JSONDocument.render(kind: .capture, manifest).utf8))
        } catch {
            throw CaptureError(description: "cannot encode the capture manifest: \(error)")
        }
        return Capture.Result(archive: archive.finished(), manifest: manifest)
    }

    // MARK: - entries (called with the lock held)

    /// Where `relative` really is, storing the symlinks on the way.
    private func place(_ relative: String, _ state: inout State) -> HostRoot.Resolved? {
        do {
            let resolved = try root.resolve(relative)
            for link in resolved.links { addLink(link.path, link.target, &state) }
            return resolved
        } catch {
            if !error.isMissing { note(relative, error.reason, &state) }
            return nil
        }
    }

    private func addDirectory(_ path: String, _ state: inout State) {
        guard !path.isEmpty, !state.stored.contains(PathKey(path)) else { return }
        addDirectory(split(path).parent, &state)
        state.stored.insert(PathKey(path))
        state.archive.addDirectory(path)
        state.directories += 1
    }

    private func addFile(_ path: String, _ contents: [UInt8], _ state: inout State) {
        guard !state.stored.contains(PathKey(path)) else { return }
        addDirectory(split(path).parent, &state)
        state.stored.insert(PathKey(path))
        state.archive.addFile(path, contents)
        state.files += 1
    }

    private func addLink(_ path: String, _ target: String, _ state: inout State) {
        guard !state.stored.contains(PathKey(path)) else { return }
        addDirectory(split(path).parent, &state)
        state.stored.insert(PathKey(path))
        state.archive.addSymlink(path, target: target)
        state.symlinks += 1
    }

    private func note(_ path: String, _ error: String, source: String? = nil, _ state: inout State) {
        guard state.noted.insert(PathKey(path)).inserted else { return }
        state.manifest.append(.init(path: path, error: error, source: source))
    }

    /// The parent directory ("" at the top) and the last component.
    private func split(_ path: String) -> (parent: String, name: String) {
        guard let cut = PathText.cutAtLastSlash(path) else { return ("", path) }
        return (String(cut.before), String(cut.after))
    }
}
