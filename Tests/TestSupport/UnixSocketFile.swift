#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A listening Unix socket bound at a path: what a user might name as an output by mistake
/// (open(2) of it fails whoever listens). Closed, and its path removed, by `close()`.
public final class UnixSocketFile {
    public let path: String
    private let fd: Int32

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            _ = Glibc.close(fd)
            throw Failure(description: "\(path) is too long for a socket address")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.enumerated() { bytes[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = Glibc.close(fd)
            throw Failure(description: "bind \(path): \(reason)")
        }
    }

    public func close() {
        _ = Glibc.close(fd)
        _ = unlink(path)
    }
}
