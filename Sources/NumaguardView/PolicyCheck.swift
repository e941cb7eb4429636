import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// Loading a policy file the one way every command does, and `policy check FILE`: shared by
/// the front, which serves `policy check` itself (no exec of numaguard-tool, no Foundation:
/// issue 17), and by numaguard-tool, so both print the same bytes and exit the same way.
public enum PolicyCheck {
    /// Why a policy cannot be used: the diagnostics (each with file:line:col, excerpt and caret)
    /// to print first, the last line (without the `numaguard: ` prefix), and the exit status:
    /// 66 when the file could not be read at all (fix the path), 78 when it is wrong.
    public struct Failure: Error, Sendable {
        public var diagnostics: String?
        public var message: String
        public var status: ExitStatus
    }

    /// The policy at `path`, read through `InputFile` (bounded to the loader's limit).
    public static func load(_ path: String) -> Result<LoadedPolicy, Failure> {
        do {
            return .success(try PolicyLoader.load(file: path, reading: InputFile.read))
        } catch {
            if let unreadable = error.unreadable {
                return .failure(Failure(diagnostics: nil, message: "\(unreadable); nothing was inspected", status: .noInput))
            }
            let count = error.diagnostics.count
            return .failure(Failure(diagnostics: error.description,
                                    message: "\(path): \(count) error\(count == 1 ? "" : "s"); nothing was inspected",
                                    status: .invalidPolicy))
        }
    }

    /// `policy check FILE`: one line on stdout when the policy is valid, otherwise every
    /// diagnostic on stderr; returns the exit status (0, 66 or 78).
    public static func run(_ path: String) -> Int32 {
        switch load(path) {
        case let .success(loaded):
            FileHandleWriter.write(1, summary(loaded, file: path))
            return ExitStatus.success.rawValue
        case let .failure(failure):
            if let diagnostics = failure.diagnostics { FileHandleWriter.write(2, diagnostics + "\n") }
            FileHandleWriter.write(2, "numaguard: \(failure.message)\n")
            return failure.status.rawValue
        }
    }

    /// `FILE: valid (sha256:...); N workloads, N reservations, N waivers[, N device rules]`.
    static func summary(_ loaded: LoadedPolicy, file: String) -> String {
        let policy = loaded.policy
        func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
        return "\(file): valid (sha256:\(loaded.digest)); \(counted(policy.workloads.count, "workload")), "
            + "\(counted(policy.reservations.count, "reservation")), \(counted(policy.waivers.count, "waiver"))"
            + (policy.devices.isEmpty ? "" : ", \(counted(policy.devices.count, "device rule"))") + "\n"
    }
}
