import Foundation

/// Runs a program to completion and captures its output: the end-to-end tests drive
/// the real binary, as a user would.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum Command {
    /// The numaguard binary built beside the test bundle, or $NUMAGUARD_BIN.
    public static var numaguard: String {
        if let override = ProcessInfo.processInfo.environment["NUMAGUARD_BIN"] { return override }
        return Bundle.main.bundleURL.appendingPathComponent("numaguard").path
    }

    /// The repository root, found from this file's location.
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static func fixture(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/Fixtures/\(name)").path
    }

    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        // Output goes to files, not pipes: a grandchild that outlives the command (a QEMU
        // watchdog, say) may keep a pipe open, and the test must not wait on it.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        )
    }

    public static func numaguard(_ arguments: [String]) throws -> CommandResult {
        try run(numaguard, arguments)
    }

    /// Parses a JSON document printed by numaguard.
    public static func json(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw NSError(domain: "numaguard.tests", code: 1, userInfo: [NSLocalizedDescriptionKey: "not a JSON object: \(text.prefix(200))"])
        }
        return object
    }
}

/// A long-lived child process to inspect, killed when the test ends.
public final class Child {
    public let process: Process
    public var pid: Int32 { process.processIdentifier }

    public init(_ executable: String, _ arguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait until exec has happened, so /proc shows the program and not the forked parent.
        let expected = URL(fileURLWithPath: executable).lastPathComponent.prefix(15)
        for _ in 0..<200 {
            if let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
               comm.trimmingCharacters(in: .whitespacesAndNewlines) == expected { return }
            usleep(10_000)
        }
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }
}
