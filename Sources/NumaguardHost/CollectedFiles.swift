#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

/// The files another host left in a directory the user names (`fleet report DIR`: one host's
/// certify output as a collector fetched it). The directory is the user's own path and is
/// followed like any; the files in it are evidence about another machine and are opened
/// relative to it with O_NOFOLLOW: a symbolic link is refused, never followed, so one host's
/// directory cannot borrow another's certificate by linking to it (a collector writes regular
/// files; a link there was made by someone). Regular files only, opened non-blocking (a FIFO
/// cannot stall the report), each read up to its own bound.
public struct CollectedFiles: ~Copyable {
    public let path: String
    private let descriptor: Int32

    /// The directory at `path`; missing, not a directory, or unreadable throws with the errno's words.
    public init(_ path: String) throws(InputFileError) {
        do {
            descriptor = try SystemCall.check("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        } catch {
            throw InputFileError(path: path, reason: error.errno.description)
        }
        self.path = path
    }

    deinit { _ = close(descriptor) }

    /// The file's bytes, or nil when there is no such file. Refused (thrown, the reason in
    /// words): a symbolic link, anything but a regular file, more than `limit` bytes.
    public func read(_ name: String, atMost limit: Int) throws(InputFileError) -> [UInt8]? {
        let display = path.hasSuffix("/") ? path + name : path + "/" + name
        let fd: Int32
        do {
            fd = try SystemCall.check("open", display) {
                openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
            }
        } catch {
            if error.errno == .noEntry { return nil }
            if error.errno == Errno(ELOOP) {
                throw InputFileError(path: display, reason: "it is a symbolic link; numaguard reads only the regular file a collector wrote")
            }
            throw InputFileError(path: display, reason: error.errno.description)
        }
        defer { _ = close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw InputFileError(path: display, reason: Errno(errno).description) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw InputFileError(path: display, reason: "it is \(OutputFile.kindName(info)), not a regular file")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count: Int
            do {
                count = try SystemCall.check("read", display) { chunk.withUnsafeMutableBytes { collectedRead(fd, $0.baseAddress, $0.count) } }
            } catch {
                throw InputFileError(path: display, reason: error.errno.description)
            }
            if count == 0 { return bytes }
            guard bytes.count <= limit - count else {
                throw InputFileError(path: display, reason: "it holds more than \(Bytes.text(limit)), the most numaguard reads from it")
            }
            bytes.append(contentsOf: chunk.prefix(count))
        }
    }
}

private func collectedRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
