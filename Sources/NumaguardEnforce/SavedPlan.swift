import NumaguardCore
import NumaguardHost

/// `apply --plan FILE`: a plan made earlier and saved. A plan chooses what root changes, so
/// before anything is changed it passes, in this order: it is read only under TrustedInput's
/// rule (root's or the caller's own, writable by no one else, not a link, from the descriptor
/// checked); it was made on this boot (its PIDs and start times mean nothing after a reboot);
/// the policy it is checked against is `--policy FILE` when given, else its policy_file only
/// under the same rule (otherwise a plan could name a policy of its author's, with no
/// protected workloads and a matching digest); and that policy, loaded again, is unchanged
/// since the plan. The protected workloads the apply loop asks about right before each
/// process action are then the policy's as it is now. Decoding the plan and loading the
/// policy (with their own errors) are the caller's, between these steps.
public enum SavedPlan {
    /// Why a saved plan is not applied; nothing was changed. The CLI's table: unreadable and
    /// an untrusted policy are inputs that cannot be used (66), another boot and a changed
    /// policy mean "plan again" (64).
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable { case unreadable, otherBoot, untrustedPolicy, policyChanged }
        public var kind: Kind
        public var message: String
        public var description: String { message }

        public init(kind: Kind, message: String) {
            self.kind = kind
            self.message = message
        }
    }

    /// The plan's bytes, under TrustedInput's rule.
    public static func read(_ path: String) throws(Refusal) -> [UInt8] {
        do {
            return try TrustedInput.read(path)
        } catch {
            throw Refusal(kind: .unreadable, message: "cannot read the plan \(path): \(error.reason); nothing was changed")
        }
    }

    /// The policy file `plan` (read from `path`) is checked against, once it is known to be
    /// from this boot (`bootID`, nil when this host's cannot be read): `override` as given,
    /// else the plan's policy_file when it passes TrustedInput's rule.
    public static func policyFile(_ plan: Plan, path: String, override: String?, bootID: String?) throws(Refusal) -> String {
        if let made = plan.bootID, made != bootID {
            throw Refusal(kind: .otherBoot,
                          message: "\(path) was planned on boot \(made), this is boot \(bootID ?? "unknown"): plan again; nothing was changed")
        }
        if let override { return override }
        do {
            try TrustedInput.check(plan.policyFile)
        } catch {
            throw Refusal(kind: .untrustedPolicy, message: "the policy \(path) names: \(error) (or give --policy FILE); nothing was changed")
        }
        return plan.policyFile
    }

    /// The policy as loaded now (`file`, `digest`) is the one `plan` was made from.
    public static func verify(_ plan: Plan, path: String, policyFile file: String, digest: String) throws(Refusal) {
        guard digest == plan.policyDigest else {
            throw Refusal(kind: .policyChanged, message: "\(file) has changed since \(path) was planned (\(plan.policyDigest), now \(digest)): "
                          + "plan again; nothing was changed")
        }
    }
}
