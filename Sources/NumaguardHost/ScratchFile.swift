#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// An unnamed file for data too large to hold in memory (`attribute`'s sorted values):
/// opened O_TMPFILE in a directory, so it has no name another user could replace, link or
/// read, it is never left behind (the kernel frees it at close, even when numaguard is
/// killed), and it never touches a file that exists. Written by appending, read back at
/// offsets; every call through the errno funnel, partial transfers continued.
///
/// Where it lives decides what it costs: on tmpfs (often /tmp) its pages are memory, which
/// is why the CLI defaults to /var/tmp.
public final class ScratchFile {
    public let directory: String
    private let descriptor: Int32
    /// Bytes appended so far.
    public private(set) var size = 0

    /// EOPNOTSUPP/EISDIR (a filesystem without O_TMPFILE, such as NFS) and every other
    /// failure come back as the call's error; nothing is created by name as a fallback.
    public init(in directory: String) throws(SystemCallError) {
        self.directory = directory
        descriptor = try SystemCall.check("open", directory + " (O_TMPFILE)") {
            open(directory, clinux_o_tmpfile | O_RDWR | O_CLOEXEC, 0o600)
        }
    }

    deinit { close(descriptor) }

    public func append(_ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let offset = size + done
            let written = try SystemCall.check("pwrite", "scratch file in " + directory) {
                pwrite(descriptor, base + done, bytes.count - done, off_t(offset))
            }
            // pwrite returns 0 only for a 0-byte request; a full disk is ENOSPC.
            guard written > 0 else { throw SystemCallError(call: "pwrite", subject: "scratch file in " + directory, errno: .ioError) }
            done += written
        }
        size += bytes.count
    }

    /// Appends an array's elements as they are in memory (plain numbers: the reader reads
    /// them back with the same layout).
    public func append<Element: BitwiseCopyable>(contentsOf elements: [Element]) throws(SystemCallError) {
        try elements.withUnsafeBytes { bytes in Result { () throws(SystemCallError) in try append(bytes) } }.get()
    }

    /// Fills `elements` from the byte `offset` (see append(contentsOf:)).
    public func read<Element: BitwiseCopyable>(at offset: Int, into elements: inout [Element]) throws(SystemCallError) {
        try elements.withUnsafeMutableBytes { bytes in Result { () throws(SystemCallError) in try read(at: offset, into: bytes) } }.get()
    }

    /// Fills `buffer` from `offset`; reading past what was appended is EIO, not a short buffer
    /// the caller might take for data.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) {
        guard offset >= 0, offset <= size, buffer.count <= size - offset else {
            throw SystemCallError(call: "pread", subject: "scratch file in " + directory + " past its end", errno: .ioError)
        }
        var done = 0
        while done < buffer.count {
            guard let base = buffer.baseAddress else { return }
            let got = try SystemCall.check("pread", "scratch file in " + directory) {
                pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            }
            guard got > 0 else { throw SystemCallError(call: "pread", subject: "scratch file in " + directory, errno: .ioError) }
            done += got
        }
    }
}
