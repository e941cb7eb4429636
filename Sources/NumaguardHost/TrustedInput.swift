#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why an input that decides what root changes (a saved plan, the policy it names) was not
/// used: the path and the reason.
public struct TrustedInputError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var errno: Errno?

    public init(_ path: String, _ reason: String, errno: Errno? = nil) {
        self.path = path
        self.reason = reason
        self.errno = errno
    }

    public var description: String { "cannot use \(path): \(reason)" }
}

/// Inputs whose contents choose what root writes: `apply --plan FILE` and the policy a plan
/// names. Whoever can write such a file can make root change the host, so it is used only
/// when no one but root and numaguard's effective user could have written it: a regular file
/// (not a link: O_NOFOLLOW), owned by root or the effective user, not writable by group or
/// others, in a directory that passes OutputFile's trust rule (not shared, or sticky with the
/// file the effective user's own). The plan is read from the descriptor that was checked.
public enum TrustedInput {
    /// The whole file, at most `limit` bytes, read from the checked descriptor.
    public static func read(_ path: String, limit: Int = HostRoot.maximumFileBytes) throws(TrustedInputError) -> [UInt8] {
        let fd = try open(path)
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count: Int
            do {
                count = try SystemCall.check("read", path) { chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) } }
            } catch {
                throw TrustedInputError(path, error.description, errno: error.errno)
            }
            if count == 0 { return bytes }
            guard bytes.count <= limit - count else { throw TrustedInputError(path, "is larger than \(limit) bytes", errno: Errno(EFBIG)) }
            bytes.append(contentsOf: chunk.prefix(count))
        }
    }

    /// Checks `path` under the rule above without keeping it open (the policy a plan names,
    /// which the policy loader then reads: the rule leaves no one else able to change it).
    public static func check(_ path: String) throws(TrustedInputError) {
        _ = close(try open(path))
    }

    static func open(_ path: String) throws(TrustedInputError) -> Int32 {
        let (directoryPath, name) = AtomicFile.split(path)
        let directory: Int32
        do {
            directory = try TrustedDirectory.open(directoryPath, for: path)
        } catch {
            throw TrustedInputError(path, error.reason, errno: error.errno)
        }
        defer { _ = close(directory) }
        let fd: Int32
        do {
            fd = try SystemCall.check("open", path) { openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) }
        } catch where error.errno == Errno(ELOOP) {
            throw TrustedInputError(path, "is a symbolic link; numaguard does not follow one here: give the real path", errno: Errno(ELOOP))
        } catch {
            throw TrustedInputError(path, error.description, errno: error.errno)
        }
        var entry = stat()
        let me = geteuid()
        let why: String?
        if fstat(fd, &entry) != 0 {
            why = "fstat failed"
        } else if entry.st_mode & S_IFMT != S_IFREG {
            why = "is \(OutputFile.kindName(entry)), not a regular file"
        } else if entry.st_uid != 0 && entry.st_uid != me {
            why = "belongs to uid \(entry.st_uid), neither root nor numaguard's user \(me)"
        } else if entry.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            why = "is writable by others (mode \(String(entry.st_mode & 0o7777, radix: 8)))"
        } else {
            do {
                try OutputFile.checkTrusted(entry, path, what: "a regular file", in: directory)
                why = nil
            } catch {
                why = error.reason
            }
        }
        if let why {
            _ = close(fd)
            throw TrustedInputError(path, "\(why); another user could have written what root would apply", errno: .notPermitted)
        }
        return fd
    }
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
