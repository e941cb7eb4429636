import CCap

/// The capabilities this process holds, read through libcap, so an error can say not
/// only which privilege an action needs but whether numaguard already has it.
public struct Capabilities: Sendable {
    public struct Capability: Hashable, Sendable, CustomStringConvertible {
        public let value: cap_value_t
        public let name: String

        public static let sysPtrace = Capability(value: cap_value_t(CAP_SYS_PTRACE), name: "CAP_SYS_PTRACE")
        public static let sysNice = Capability(value: cap_value_t(CAP_SYS_NICE), name: "CAP_SYS_NICE")
        public static let sysAdmin = Capability(value: cap_value_t(CAP_SYS_ADMIN), name: "CAP_SYS_ADMIN")
        public static let dacReadSearch = Capability(value: cap_value_t(CAP_DAC_READ_SEARCH), name: "CAP_DAC_READ_SEARCH")

        public var description: String { name }
    }

    public let effective: Set<Capability>

    /// The current process's effective set; empty if libcap cannot read it (then every
    /// "do we hold it" answer is no, which errs towards telling the user what to grant).
    public static func current() -> Capabilities {
        guard let caps = cap_get_proc() else { return Capabilities(effective: []) }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        var held: Set<Capability> = []
        for capability in [Capability.sysPtrace, .sysNice, .sysAdmin, .dacReadSearch] {
            var flag = CAP_CLEAR
            if cap_get_flag(caps, capability.value, CAP_EFFECTIVE, &flag) == 0 && flag == CAP_SET {
                held.insert(capability)
            }
        }
        return Capabilities(effective: held)
    }

    public func holds(_ capability: Capability) -> Bool { effective.contains(capability) }
}

extension Capabilities {
    /// Leaves the process with no capabilities in any set and no way to gain one at exec:
    /// the bounding set first (root's exec refills its permitted set from it, and dropping it
    /// needs the CAP_SETPCAP about to be cleared), then ambient, then effective, permitted and
    /// inheritable, then no_new_privs (setuid binaries and file capabilities no longer elevate).
    public static func clearForExec() throws(SystemCallError) {
        if let caps = cap_get_proc() {
            var flag = CAP_CLEAR
            let holdsSetpcap = cap_get_flag(caps, cap_value_t(CAP_SETPCAP), CAP_EFFECTIVE, &flag) == 0 && flag == CAP_SET
            cap_free(UnsafeMutableRawPointer(caps))
            if holdsSetpcap {
                for value in 0..<cap_max_bits() {
                    try SystemCall.check("cap_drop_bound", "capability \(value)") { cap_drop_bound(value) }
                }
            }
        }
        try SystemCall.check("cap_reset_ambient", "calling process") { cap_reset_ambient() }
        let empty = try SystemCall.checkPointer("cap_init", "empty set") { cap_init() }
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        try SystemCall.check("cap_set_proc", "empty set") { cap_set_proc(empty) }
        try SystemCall.check("prctl", "PR_SET_NO_NEW_PRIVS") { cap_prctlw(Int(PR_SET_NO_NEW_PRIVS), 1, 0, 0, 0, 0) }
    }
}
