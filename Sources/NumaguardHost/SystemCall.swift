#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An errno value with the C library's words for it.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let noEntry = Errno(ENOENT)
    public static let noProcess = Errno(ESRCH)
    public static let accessDenied = Errno(EACCES)
    public static let notPermitted = Errno(EPERM)
    public static let interrupted = Errno(EINTR)
    public static let invalid = Errno(EINVAL)
    public static let ioError = Errno(EIO)

    public var description: String {
        guard let text = strerror(rawValue) else { return "errno \(rawValue)" }
        return String(cString: text)
    }

    /// True for the errnos that mean "you may not", as opposed to "it is not there".
    public var isPermission: Bool { self == .accessDenied || self == .notPermitted }
}

/// The one errno funnel: every syscall numaguard makes goes through here, so EINTR is
/// retried in one place and every failure carries the call's name and its subject.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var subject: String
    public var errno: Errno

    public var description: String { "\(call)(\(subject)): \(errno)" }
}

public enum SystemCall {
    /// Runs `body`, which returns -1 and sets errno on failure (the libc convention),
    /// retrying on EINTR.
    @discardableResult
    public static func check<T: BinaryInteger>(
        _ call: String, _ subject: @autoclosure () -> String, _ body: () -> T
    ) throws(SystemCallError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let error = Errno(currentErrno())
            if error == .interrupted { continue }
            throw SystemCallError(call: call, subject: subject(), errno: error)
        }
    }

    /// For calls that return a negative errno instead of setting errno (libnuma's style
    /// in places) or a pointer that is nil on failure.
    public static func checkPointer<T>(
        _ call: String, _ subject: @autoclosure () -> String, _ body: () -> T?
    ) throws(SystemCallError) -> T {
        while true {
            if let value = body() { return value }
            let error = Errno(currentErrno())
            if error == .interrupted { continue }
            throw SystemCallError(call: call, subject: subject(), errno: error)
        }
    }

    private static func currentErrno() -> Int32 {
        #if canImport(Glibc)
        return Glibc.errno
        #else
        return Musl.errno
        #endif
    }
}
