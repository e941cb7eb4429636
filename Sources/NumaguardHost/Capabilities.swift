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
        public static let dacOverride = Capability(value: cap_value_t(CAP_DAC_OVERRIDE), name: "CAP_DAC_OVERRIDE")
        /// Replacing another user's file in a sticky directory (OutputFile.check).
        public static let fowner = Capability(value: cap_value_t(CAP_FOWNER), name: "CAP_FOWNER")

        /// The capabilities numaguard's checks and actions name.
        public static let known: [Capability] = [.sysPtrace, .sysNice, .sysAdmin, .dacReadSearch, .dacOverride, .fowner]

        public var description: String { name }
    }

    public let effective: Set<Capability>
    /// What the process could raise into its effective set (it never does so itself).
    public let permitted: Set<Capability>

    public init(effective: Set<Capability>, permitted: Set<Capability> = []) {
        self.effective = effective
        self.permitted = permitted
    }

    /// The current process's effective and permitted sets; empty if libcap cannot read them
    /// (then every "do we hold it" answer is no, which errs towards telling the user what to grant).
    public static func current() -> Capabilities {
        guard let caps = cap_get_proc() else { return Capabilities(effective: []) }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        func held(_ set: cap_flag_t) -> Set<Capability> {
            Set(Capability.known.filter { capability in
                var flag = CAP_CLEAR
                return cap_get_flag(caps, capability.value, set, &flag) == 0 && flag == CAP_SET
            })
        }
        return Capabilities(effective: held(CAP_EFFECTIVE), permitted: held(CAP_PERMITTED))
    }

    public func holds(_ capability: Capability) -> Bool { effective.contains(capability) }
}

extension Capabilities {
    /// Leaves the process with no capabilities in any set and no way to gain one at exec:
    /// ambient cleared in one call, then effective, permitted and inheritable, then
    /// no_new_privs. The bounding set is left alone: under no_new_privs the kernel caps what
    /// an exec grants at the permitted set it had (empty), root included
    /// (cap_bprm_creds_from_file), and the VM tests check CapEff and CapPrm of a root child.
    public static func clearForExec() throws(SystemCallError) {
        try SystemCall.check("prctl", "PR_CAP_AMBIENT_CLEAR_ALL") {
            cap_prctlw(Int(PR_CAP_AMBIENT), Int(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0, 0)
        }
        let empty = try SystemCall.checkPointer("cap_init", "empty set") { cap_init() }
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        try SystemCall.check("cap_set_proc", "empty set") { cap_set_proc(empty) }
        try SystemCall.check("prctl", "PR_SET_NO_NEW_PRIVS") { cap_prctlw(Int(PR_SET_NO_NEW_PRIVS), 1, 0, 0, 0, 0) }
    }
}

extension Capabilities {
    /// Runs `body` with `capability` out of this thread's effective set (kept permitted) and
    /// puts it back after. The kernel decides some behaviours by what is effective at the
    /// call: migrate_pages moves pages other processes also map only with CAP_SYS_NICE.
    /// The restore is checked like any call: if the capability cannot be put back, the
    /// caller's step fails with that error (even when `body` succeeded), so nothing after it
    /// runs believing it still holds the capability. `setProc` is cap_set_proc (a seam for the tests).
    public static func withoutEffective<T>(_ capability: Capability, setProc: (cap_t) -> Int32 = { cap_set_proc($0) },
                                           _ body: () throws(SystemCallError) -> T) throws(SystemCallError) -> T {
        let saved = try SystemCall.checkPointer("cap_get_proc", "calling thread") { cap_get_proc() }
        defer { cap_free(UnsafeMutableRawPointer(saved)) }
        let lowered = try SystemCall.checkPointer("cap_dup", "calling thread") { cap_dup(saved) }
        defer { cap_free(UnsafeMutableRawPointer(lowered)) }
        var value = capability.value
        try SystemCall.check("cap_set_flag", capability.name) { cap_set_flag(lowered, CAP_EFFECTIVE, 1, &value, CAP_CLEAR) }
        try SystemCall.check("cap_set_proc", "without \(capability.name)") { setProc(lowered) }
        let outcome: Result<T, SystemCallError>
        do throws(SystemCallError) { outcome = .success(try body()) } catch { outcome = .failure(error) }
        try SystemCall.check("cap_set_proc", "restoring \(capability.name) to the effective set") { setProc(saved) }
        return try outcome.get()
    }
}
