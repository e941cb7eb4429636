import NumaguardCore
import NumaguardHost
@testable import NumaguardLaunch
import TestSupport
import XCTest

/// Shared helpers: a launch error must come back as exactly the kind a supervisor sees
/// (usage and refusals 125, not found 127, not executable 126) with the words an operator
/// needs, and fixture hosts are read through the same reader as the live host.
extension LaunchError {
    enum Kind: String { case usage, refused, failed, notFound, notExecutable }

    var kind: Kind {
        switch self {
        case .usage: .usage
        case .refused: .refused
        case .failed: .failed
        case .notFound: .notFound
        case .notExecutable: .notExecutable
        }
    }

    var message: String {
        switch self {
        case let .usage(message), let .refused(message), let .failed(message), let .notFound(message),
             let .notExecutable(message): message
        }
    }
}

/// Asserts `body` throws a launch error of `kind` whose message contains every fragment;
/// returns the message so a test can check more.
@discardableResult
func assertLaunchError<T>(_ kind: LaunchError.Kind, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line,
                          _ body: () throws -> T) -> String? {
    do {
        let value = try body()
        XCTFail("expected \(kind.rawValue), got \(value)", file: file, line: line)
        return nil
    } catch {
        guard let error = error as? LaunchError else {
            XCTFail("expected a LaunchError, got \(error)", file: file, line: line)
            return nil
        }
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.message.contains(fragment), "\"\(error.message)\" lacks \"\(fragment)\"", file: file, line: line)
        }
        return error.message
    }
}

enum LaunchFixtures {
    /// A recorded host as the launcher reads it (memory included, as for --min-free).
    static func host(_ name: String) throws -> LaunchHost {
        try LaunchHostReader.read(HostRoot(path: Fixtures.path(name)), memory: true)
    }

    /// Parses numactl-style arguments (a program is appended) and plans them on `host`.
    static func plan(_ arguments: [String], on host: LaunchHost) throws(LaunchError) -> LaunchPlan {
        let request = try LaunchArguments.parse(arguments + ["--", "program"])
        return try LaunchPlanner.plan(request, host: host, source: Launcher.source(of: request))
    }

    static var policiesDirectory: String { Command.repositoryRoot.appendingPathComponent("policies").path }
}
