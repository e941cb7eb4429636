import NumaguardCore

/// Why a file named on the command line could not be read. `reason` is the errno's words, or
/// why the file was refused (a directory, a FIFO); the caller puts it after its own words
/// ("cannot read the policy P: ..."), so `description` is the reason alone.
public struct InputFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { reason }
}

/// The policy file an operator names (every command's, watch's reload, `run --policy`), read
/// through `HostRoot`'s one bounded loop as the policy loader read it before it took bytes: an
/// absolute path through the live root (plain open, O_NONBLOCK, so opening a FIFO without a
/// writer does not hang; a pipe whose writer is slow is then read blocking), a relative one under the
/// working directory as a confined root (symlinks and `..` stay inside it, regular files only).
/// `HostRoot.readFile(atPath:)` (snapshots for diff, the actuator's inputs) opens blocking and
/// unconfined instead. The reading lives here so NumaguardPolicy takes bytes and needs no host.
public enum InputFile {
    /// The file's first `limit` bytes, or all of it when shorter. A caller that refuses files
    /// over N bytes asks for N + 1, so it can tell a file that runs over and say where it does;
    /// reading stops there (a file that never ends, /dev/zero or one still growing, is not
    /// read on).
    public static func read(_ path: String, atMost limit: Int) throws(InputFileError) -> [UInt8] {
        var bytes: [UInt8] = []
        let (start, relative) = PathText.fromItsRoot(path)
        let root = HostRoot(path: start)
        do {
            // The body's throw only stops the loop once `limit` bytes are in: it is not a failure.
            _ = try root.streamContents(relative, chunkSize: 64 * 1024) { (chunk) throws(LimitReached) in
                bytes.append(contentsOf: chunk.prefix(max(0, limit - bytes.count)))
                if bytes.count >= limit { throw LimitReached() }
            }
        } catch {
            let reason: String = switch error {
            case let .unreadable(_, errno): errno.description
            case let .refused(_, reason): reason
            case .malformed: error.description
            }
            throw InputFileError(path: path, reason: reason)
        }
        return bytes
    }

    private struct LimitReached: Error {}
}
