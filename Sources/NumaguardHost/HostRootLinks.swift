#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import NumaguardCore

/// Symlinks under a root: read one (readLink) or follow a path through them (resolve).
/// Neither reads contents; in a confined root the directory holding a link is itself
/// found inside the root (`RootedOpen`).
extension HostRoot {
    public func readLink(_ relative: String) throws(HostError) -> String {
        let target: String
        do {
            if case .confined = openMode {
                target = try confinedLinkTarget(relative)
            } else {
                target = try linkTarget(absolute(relative))
            }
        } catch {
            throw noted(relative, error)
        }
        observer?.link(relative, target)
        return target
    }

    func linkTarget(_ full: String, directory: Int32 = AT_FDCWD, name: String? = nil) throws(HostError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count: Int
        do {
            count = try SystemCall.check("readlink", full) { readlinkat(directory, name ?? full, &buffer, buffer.count - 1) }
        } catch {
            throw .unreadable(path: full, errno: error.errno)
        }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The link itself is read, not followed; the directory holding it is found inside the root.
    private func confinedLinkTarget(_ relative: String) throws(HostError) -> String {
        let full = absolute(relative)
        var parts = PathText.names(in: relative)
        guard let name = parts.popLast() else { throw .unreadable(path: full, errno: .invalid) }
        // Joined by hand, Substrings appended as such: the generic `joined` and `append`
        // looked up their associated types at run time.
        var directory = ""
        for part in parts {
            if !directory.isEmpty { directory.append("/") }
            directory.append(contentsOf: part)
        }
        let parent = try RootedOpen.openFile(root: path, directory, flags: clinux_o_path | O_DIRECTORY, display: full)
        defer { close(parent) }
        return try linkTarget(full, directory: parent, name: String(name))
    }

    /// Where a path really is under the root.
    public struct Resolved: Equatable, Sendable {
        /// Relative to the root, no symlinks left in it.
        public var path: String
        /// Every symlink passed on the way (relative path, target as stored), in order.
        public var links: [Link]
        public var isDirectory: Bool

        public struct Link: Equatable, Sendable {
            public var path: String
            public var target: String
        }
    }

    /// Follows symlinks component by component inside the root, as the kernel would in a
    /// chroot: an absolute target restarts at the root and `..` never climbs above it. sysfs
    /// reaches devices through links (/sys/class/net/eth0 -> ../../devices/pci...), so this
    /// names a device's bus address, and gives a capture the links to store so that the same
    /// path resolves in the copy. Not reported to an observer: it reads no contents.
    public func resolve(_ relative: String) throws(HostError) -> Resolved {
        var resolved: [Substring] = []
        var pending = Array(PathText.names(in: relative).reversed())
        var links: [Resolved.Link] = []
        var isDirectory = true
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = (resolved + [component]).joined(separator: "/")
            let full = absolute(candidate)
            var info = stat()
            do {
                try SystemCall.check("lstat", full) { lstat(full, &info) }
            } catch {
                throw .unreadable(path: full, errno: error.errno)
            }
            guard info.st_mode & S_IFMT == S_IFLNK else {
                resolved.append(component)
                isDirectory = info.st_mode & S_IFMT == S_IFDIR
                continue
            }
            guard links.count < RootedPath.maximumLinks else { throw .unreadable(path: full, errno: Errno(ELOOP)) }
            let target = try linkTarget(full)
            links.append(.init(path: candidate, target: target))
            if PathText.isAbsolute(target) { resolved = [] }
            pending.append(contentsOf: PathText.names(in: target).reversed())
        }
        return Resolved(path: resolved.joined(separator: "/"), links: links, isDirectory: isDirectory)
    }
}
