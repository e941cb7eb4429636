#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

/// Finds the program as execvp would, but before anything is applied, so "not found" (127)
/// and "not executable" (126) are told apart with the path that was tried, as env(1) does.
/// Names, PATH and the result are bytes: a path that is not UTF-8 is still a path.
public enum ProgramLookup {
    static let defaultPath: RawArgument = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public static func resolve(_ name: RawArgument, path: RawArgument?) throws(LaunchError) -> RawArgument {
        if name.isEmpty { throw .notFound("\"\": no such file or directory") }
        if name.contains(0x2F) {   // /
            try check(name)
            return name
        }
        var denied: RawArgument?
        let slash: RawArgument = "/", current: RawArgument = "."
        for directory in (path ?? defaultPath).bytes.split(separator: 0x3A, omittingEmptySubsequences: false) {   // :
            let candidate = (directory.isEmpty ? current : RawArgument(bytes: Array(directory))) + slash + name
            do {
                try check(candidate)
                return candidate
            } catch {
                // As execvp: a later directory may still hold an executable of that name.
                if case .notExecutable = error, denied == nil { denied = candidate }
            }
        }
        if let denied { throw .notExecutable("\(denied): permission denied") }
        throw .notFound("\(name): not found in PATH (\(path ?? defaultPath))")
    }

    static func check(_ path: RawArgument) throws(LaunchError) {
        var info = stat()
        do {
            try SystemCall.check("stat", path.text) { path.withCString { stat($0, &info) } }
        } catch {
            if error.errno == .noEntry || error.errno == Errno(ENOTDIR) { throw .notFound("\(path): no such file or directory") }
            throw .notExecutable("\(path): \(error.errno)")
        }
        if info.st_mode & S_IFMT == S_IFDIR { throw .notExecutable("\(path): is a directory") }
        if path.withCString({ access($0, X_OK) }) != 0 { throw .notExecutable("\(path): permission denied (not executable)") }
    }
}
