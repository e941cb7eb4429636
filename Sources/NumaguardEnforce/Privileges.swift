#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardHost

/// Who numaguard is running as, as a value: the effective uid and the capability names in
/// the effective and permitted sets. The live one is read with capget (Capabilities); tests build
/// any combination without a privileged host.
///
/// "Held" means in the effective set, because that is the set the kernel checks. A
/// capability that is only permitted is reported as such, but numaguard never raises it
/// itself: an operator who grants a capability grants it effective (setpriv, capsh,
/// systemd's AmbientCapabilities=, or file capabilities with +ep).
public struct Privileges: Equatable, Sendable {
    public var uid: Int
    public var effective: Set<String>
    public var permitted: Set<String>

    public init(uid: Int, effective: Set<String>, permitted: Set<String>? = nil) {
        self.uid = uid
        self.effective = effective
        self.permitted = permitted ?? effective
    }

    public static func current() -> Privileges {
        let capabilities = Capabilities.current()
        return Privileges(uid: Int(geteuid()), effective: Set(capabilities.effective.map(\.name)),
                          permitted: Set(capabilities.permitted.map(\.name)))
    }

    public func holds(_ requirement: Requirement) -> Bool {
        if let except = requirement.exceptUID, except == uid { return true }
        if requirement.privilege == Requirement.root { return uid == 0 }
        return effective.contains(requirement.privilege)
    }

    /// The requirements an action would be blocked by, in its order.
    public func missing(_ requirements: [Requirement]) -> [Requirement] {
        requirements.filter { !holds($0) }
    }

    /// `CAP_SYS_NICE: held`, `... not needed (numaguard runs as uid 0, the owner)`, `... not held (permitted but
    /// not effective: numaguard does not raise capabilities)`.
    public func describe(_ requirement: Requirement) -> String {
        let name = requirement.privilege == Requirement.root ? "root (euid 0)" : requirement.privilege
        if let except = requirement.exceptUID, except == uid, requirement.privilege != Requirement.root {
            return "\(name): not needed (numaguard runs as uid \(uid), the owner)"
        }
        if holds(requirement) { return "\(name): held" }
        if requirement.privilege == Requirement.root { return "\(name): not held (running as uid \(uid))" }
        if permitted.contains(requirement.privilege) {
            return "\(name): not held (permitted but not effective; numaguard does not raise capabilities itself)"
        }
        return "\(name): not held"
    }

    /// One line naming each missing privilege and why the kernel wants it.
    public func blockedReason(_ missing: [Requirement]) -> String {
        "missing " + missing.map { requirement in
            let name = requirement.privilege == Requirement.root ? "root (euid 0)" : requirement.privilege
            return "\(name) (\(requirement.why))"
        }.joined(separator: "; ")
    }
}
