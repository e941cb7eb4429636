/// A mounted cgroup hierarchy, as /proc/PID/mountinfo describes it.
///
/// cgroup v1 mounts one hierarchy per controller (or per co-mounted group, `cpu,cpuacct`),
/// v2 mounts one unified hierarchy, and a hybrid host mounts both (v2 at
/// /sys/fs/cgroup/unified). Where each is mounted is a distribution's choice, and a container
/// may see only a subtree of a hierarchy (the mount's `root`), so the cgroup path in
/// /proc/PID/cgroup is turned into a directory through the mount, never by convention alone.
public struct CgroupMount: Equatable, Sendable {
    public enum Version: Int, Sendable, Codable {
        case v1 = 1
        case v2 = 2
    }

    public var version: Version
    /// Absolute mount point (`/sys/fs/cgroup/cpuset`), octal escapes decoded.
    public var mountPoint: String
    /// The directory of the hierarchy mounted there (`/` unless a subtree is bind-mounted).
    public var root: String
    /// v1: the controllers bound to the hierarchy, as /proc/PID/cgroup names them (`cpuset`,
    /// `cpu`, `cpuacct`, `name=systemd`); v2: empty (its controllers are in cgroup.controllers).
    public var controllers: [String]
    /// v1 `noprefix`: the controller's files lose their `controller.` prefix (`cpus`, not
    /// `cpuset.cpus`).
    public var noprefix: Bool
    /// True when no mountinfo was read and the mount is the conventional layout's guess:
    /// readers then try both file spellings, since `noprefix` is unknown.
    public var guessed: Bool

    public init(version: Version, mountPoint: String, root: String = "/", controllers: [String] = [], noprefix: Bool = false, guessed: Bool = false) {
        self.version = version
        self.mountPoint = mountPoint
        self.root = root
        self.controllers = controllers
        self.noprefix = noprefix
        self.guessed = guessed
    }

    /// The directory of cgroup `path` (as /proc/PID/cgroup gives it) under this mount,
    /// absolute; nil when the cgroup lies outside the mounted subtree.
    public func directory(of path: String) -> String? {
        let inside: Substring
        // By bytes (`PathText`): a child whose name begins with a combining mark is below the
        // root, and a canonically equal but different root is not this one.
        if root == "/" {
            inside = Substring(path)
        } else if PathText.isWithin(path, root) {
            inside = Substring(Substring(path).utf8.dropFirst(root.utf8.count))
        } else {
            return nil
        }
        // A path that climbs is not a cgroup the kernel printed.
        if PathText.names(in: inside).contains(where: { $0 == ".." || $0 == "." }) { return nil }
        let base = mountPoint == "/" ? "" : mountPoint
        return inside == "/" || inside.isEmpty ? (base.isEmpty ? "/" : base) : base + inside
    }
}

/// The cgroup mounts of a mountinfo file (proc(5)): `id parent major:minor root mount-point
/// options [optional...] - fstype source super-options`.
public enum MountInfoParser {
    /// A host has tens of mounts; a container host a few thousand. More is not a kernel file.
    public static let maximumLines = 100_000

    /// Mount and super options that are not controllers (cgroup(7), cgroup-v1 docs).
    static let notControllers: Set<String> = [
        "rw", "ro", "noprefix", "xattr", "clone_children", "cpuset_v2_mode", "none", "all",
        "nsdelegate", "favordynmods", "memory_localevents", "memory_recursiveprot",
        "memory_hugetlb_accounting", "pids_localevents",
    ]

    /// Every cgroup and cgroup2 mount, in file order. A line that is not mountinfo is an
    /// error naming its line: the caller falls back to the conventional layout.
    public static func cgroupMounts(_ text: String) throws(ParseError) -> [CgroupMount] {
        var mounts: [CgroupMount] = []
        for (index, line) in Lex.lines(text).enumerated() where !line.isEmpty {
            guard index < maximumLines else {
                throw ParseError(what: "mountinfo", input: line, reason: "more than \(maximumLines) lines", line: index + 1)
            }
            // Fields at every space byte: a source field beginning with a combining mark (a
            // FUSE fsname any user can choose) would otherwise join the field before it.
            let fields = line.utf8.split(separator: 0x20, omittingEmptySubsequences: false).map { Substring($0) }
            guard fields.count >= 10, let dash = fields[6...].firstIndex(of: "-"), dash + 4 == fields.count else {
                throw ParseError(what: "mountinfo line", input: line,
                                 reason: "expected \"id parent major:minor root mount-point options [optional...] - fstype source super-options\"",
                                 line: index + 1)
            }
            let type = fields[dash + 1]
            guard type == "cgroup" || type == "cgroup2" else { continue }
            let root = try unescape(fields[3], number: index + 1)
            let point = try unescape(fields[4], number: index + 1)
            guard PathText.isAbsolute(root), PathText.isAbsolute(point) else {
                throw ParseError(what: "mountinfo line", input: line, reason: "root and mount point must be absolute", line: index + 1)
            }
            let options = fields[dash + 3].split(separator: ",").map(String.init)
            if type == "cgroup2" {
                mounts.append(CgroupMount(version: .v2, mountPoint: point, root: root))
            } else {
                let controllers = options.filter { option in
                    option.hasPrefix("name=") || (!notControllers.contains(option) && !option.contains("="))
                }
                mounts.append(CgroupMount(version: .v1, mountPoint: point, root: root, controllers: controllers,
                                          noprefix: options.contains("noprefix")))
            }
        }
        return mounts
    }

    /// Decodes the kernel's `\ooo` escapes (space, tab, newline, backslash) in a path field.
    static func unescape(_ field: Substring, number: Int) throws(ParseError) -> String {
        guard field.utf8.contains(0x5C) else { return String(field) }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == 0x5C {
                guard index + 3 < utf8.count, let value = octal(utf8[(index + 1)..<(index + 4)]) else {
                    throw ParseError(what: "mountinfo path", input: field, column: index + 1,
                                     reason: "a backslash must start a three-digit octal escape", line: number)
                }
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        var value = 0
        for digit in digits {
            guard digit >= 0x30 && digit <= 0x37 else { return nil }
            value = value * 8 + Int(digit - 0x30)
        }
        return value <= 0xFF ? UInt8(value) : nil
    }
}

/// cgroup.procs (or v1 `tasks`): one decimal id a line.
public enum CgroupProcsParser {
    /// PID_MAX_LIMIT is 4194304: no cgroup lists more processes than a host can have.
    public static let maximumIDs = 4_194_304

    public static func parse(_ text: String) throws(ParseError) -> [Int] {
        var ids: [Int] = []
        for (index, line) in Lex.lines(text).enumerated() where !line.isEmpty {
            guard ids.count < maximumIDs else {
                throw ParseError(what: "cgroup.procs", input: line, reason: "more than \(maximumIDs) ids", line: index + 1)
            }
            guard let id = Lex.decimal(line), id > 0 else {
                throw ParseError(what: "cgroup.procs line", input: line, reason: "expected a process id", line: index + 1)
            }
            ids.append(id)
        }
        return ids
    }
}
