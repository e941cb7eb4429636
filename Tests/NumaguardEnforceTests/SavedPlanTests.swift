import Foundation
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import XCTest

/// apply --plan's rules without the CLI, over real files in a private directory: the plan
/// and the policy it names are read only when no one else could have written them, only on
/// the boot the plan was made on, and only with the policy it was made from.
final class SavedPlanTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("saved-plan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        XCTAssertEqual(chmod(directory, 0o700), 0)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func write(_ name: String, _ contents: String, mode: mode_t = 0o644) throws -> String {
        let path = "\(directory)/\(name)"
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(path, mode), 0)
        return path
    }

    func plan(policy: String, boot: String? = "boot-a") -> Plan {
        Plan(policyFile: policy, policyDigest: "sha256:1", bootID: boot, actions: [], unreadable: [])
    }

    func refusal(_ body: () throws(SavedPlan.Refusal) -> Void) -> SavedPlan.Refusal? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    func testAPlanAnotherUserCouldHaveWrittenIsNotRead() throws {
        let mine = try write("plan.json", "{}")
        XCTAssertEqual(try SavedPlan.read(mine), Array("{}".utf8))
        let open = try write("open.json", "{}", mode: 0o666)
        let refused = refusal { () throws(SavedPlan.Refusal) in _ = try SavedPlan.read(open) }
        XCTAssertEqual(refused?.kind, .unreadable)
        XCTAssertEqual(refused?.message.hasPrefix("cannot read the plan \(open): is writable by others (mode 666)"), true, refused?.message ?? "")
        XCTAssertEqual(refused?.message.hasSuffix("; nothing was changed"), true)
        XCTAssertEqual(symlink(mine, "\(directory)/link.json"), 0)
        XCTAssertEqual(refusal { () throws(SavedPlan.Refusal) in _ = try SavedPlan.read("\(directory)/link.json") }?.kind, .unreadable)
    }

    func testAPlanFromAnotherBootIsRefusedBeforeItsPolicyIsLookedAt() throws {
        let policy = try write("p.yaml", "version: 1\n")
        let saved = plan(policy: policy)
        XCTAssertEqual(try SavedPlan.policyFile(saved, path: "plan.json", override: nil, bootID: "boot-a"), policy)
        let other = refusal { () throws(SavedPlan.Refusal) in _ = try SavedPlan.policyFile(saved, path: "plan.json", override: nil, bootID: "boot-b") }
        XCTAssertEqual(other, SavedPlan.Refusal(kind: .otherBoot,
                                                message: "plan.json was planned on boot boot-a, this is boot boot-b: plan again; nothing was changed"))
        let unknown = refusal { () throws(SavedPlan.Refusal) in _ = try SavedPlan.policyFile(saved, path: "plan.json", override: "x", bootID: nil) }
        XCTAssertEqual(unknown?.message, "plan.json was planned on boot boot-a, this is boot unknown: plan again; nothing was changed")
        XCTAssertEqual(try SavedPlan.policyFile(plan(policy: policy, boot: nil), path: "plan.json", override: nil, bootID: "boot-b"), policy,
                       "a plan that recorded no boot (a host without boot_id) is not refused for it")
    }

    func testThePlanChoosesItsPolicyOnlyWhenNoOneElseCouldHaveWrittenIt() throws {
        let open = try write("p.yaml", "version: 1\n", mode: 0o666)
        let refused = refusal { () throws(SavedPlan.Refusal) in
            _ = try SavedPlan.policyFile(self.plan(policy: open), path: "plan.json", override: nil, bootID: "boot-a")
        }
        XCTAssertEqual(refused?.kind, .untrustedPolicy)
        XCTAssertEqual(refused?.message.hasPrefix("the policy plan.json names: cannot use \(open): is writable by others"), true,
                       refused?.message ?? "")
        XCTAssertEqual(refused?.message.hasSuffix(" (or give --policy FILE); nothing was changed"), true)
        // --policy is the operator's choice: taken as given (the digest check follows).
        XCTAssertEqual(try SavedPlan.policyFile(plan(policy: open), path: "plan.json", override: "/etc/p.yaml", bootID: "boot-a"), "/etc/p.yaml")
    }

    func testAPolicyChangedSinceThePlanIsRefused() throws {
        let saved = plan(policy: "p.yaml")
        XCTAssertNil(refusal { () throws(SavedPlan.Refusal) in try SavedPlan.verify(saved, path: "plan.json", policyFile: "p.yaml", digest: "sha256:1") })
        let changed = refusal { () throws(SavedPlan.Refusal) in
            try SavedPlan.verify(saved, path: "plan.json", policyFile: "q.yaml", digest: "sha256:2")
        }
        XCTAssertEqual(changed, SavedPlan.Refusal(kind: .policyChanged, message: "q.yaml has changed since plan.json was planned "
                                                  + "(sha256:1, now sha256:2): plan again; nothing was changed"))
    }
}
