import CLinux

/// The capabilities this process holds, read with capget(2) (CLinux), so an error can say
/// not only which privilege an action needs but whether numaguard already has it.
public struct Capabilities: Sendable {
    public struct Capability: Hashable, Sendable, CustomStringConvertible {
        /// The kernel's number (linux/capability.h; part of the kernel ABI, never renumbered).
        public let value: Int32
        public let name: String

        public static let sysPtrace = Capability(value: 19, name: "CAP_SYS_PTRACE")
        public static let sysNice = Capability(value: 23, name: "CAP_SYS_NICE")
        public static let sysAdmin = Capability(value: 21, name: "CAP_SYS_ADMIN")
        public static let dacReadSearch = Capability(value: 2, name: "CAP_DAC_READ_SEARCH")
        public static let dacOverride = Capability(value: 1, name: "CAP_DAC_OVERRIDE")
        /// Replacing another user's file in a sticky directory (OutputFile.check).
        public static let fowner = Capability(value: 3, name: "CAP_FOWNER")

        /// The capabilities numaguard's checks and actions name.
        public static let known: [Capability] = [.sysPtrace, .sysNice, .sysAdmin, .dacReadSearch, .dacOverride, .fowner]

        public var description: String { name }

        /// Its bit in a `CapabilitySets` mask.
        var bit: UInt64 { 1 << UInt64(value) }
    }

    public let effective: Set<Capability>
    /// What the process could raise into its effective set (it never does so itself).
    public let permitted: Set<Capability>

    public init(effective: Set<Capability>, permitted: Set<Capability> = []) {
        self.effective = effective
        self.permitted = permitted
    }

    /// The current thread's effective and permitted sets; empty if they cannot be read
    /// (then every "do we hold it" answer is no, which errs towards telling the user what to grant).
    public static func current() -> Capabilities {
        guard let sets = try? CapabilitySets.current() else { return Capabilities(effective: []) }
        func held(_ mask: UInt64) -> Set<Capability> { Set(Capability.known.filter { mask & $0.bit != 0 }) }
        return Capabilities(effective: held(sets.effective), permitted: held(sets.permitted))
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
        try SystemCall.check("prctl", "PR_CAP_AMBIENT_CLEAR_ALL") { clinux_clear_ambient_capabilities() }
        try SystemCall.check("capset", "empty set") { CapabilitySets.apply(.empty) }
        try SystemCall.check("prctl", "PR_SET_NO_NEW_PRIVS") { clinux_set_no_new_privs() }
    }
}

extension Capabilities {
    /// Runs `body` with `capability` out of this thread's effective set (kept permitted) and
    /// puts it back after. The kernel decides some behaviours by what is effective at the
    /// call: migrate_pages moves pages other processes also map only with CAP_SYS_NICE.
    /// The restore is checked like any call: if the capability cannot be put back, the
    /// caller's step fails with that error (even when `body` succeeded), so nothing after it
    /// runs believing it still holds the capability. `setProc` is capset (a seam for the tests).
    public static func withoutEffective<T>(_ capability: Capability, setProc: (CapabilitySets) -> Int32 = CapabilitySets.apply,
                                           _ body: () throws(SystemCallError) -> T) throws(SystemCallError) -> T {
        let saved = try CapabilitySets.current()
        var lowered = saved
        lowered.effective &= ~capability.bit
        try SystemCall.check("capset", "without \(capability.name)") { setProc(lowered) }
        let outcome: Result<T, SystemCallError>
        do throws(SystemCallError) { outcome = .success(try body()) } catch { outcome = .failure(error) }
        try SystemCall.check("capset", "restoring \(capability.name) to the effective set") { setProc(saved) }
        return try outcome.get()
    }
}

/// The calling thread's three capability sets as the kernel holds them (capget(2) version 3):
/// bit n is capability n. Capabilities are per thread: capset changes only the caller's.
public struct CapabilitySets: Equatable, Sendable {
    public var effective: UInt64
    public var permitted: UInt64
    public var inheritable: UInt64

    public static let empty = CapabilitySets(effective: 0, permitted: 0, inheritable: 0)

    public init(effective: UInt64, permitted: UInt64, inheritable: UInt64) {
        self.effective = effective
        self.permitted = permitted
        self.inheritable = inheritable
    }

    /// This thread's sets.
    public static func current() throws(SystemCallError) -> CapabilitySets {
        var sets = clinux_capabilities()
        try SystemCall.check("capget", "calling thread") { clinux_capget(&sets) }
        return CapabilitySets(effective: sets.effective, permitted: sets.permitted, inheritable: sets.inheritable)
    }

    /// Makes `sets` this thread's: capset's result (-1 and errno on failure), for SystemCall.check.
    public static func apply(_ sets: CapabilitySets) -> Int32 {
        var raw = clinux_capabilities(effective: sets.effective, permitted: sets.permitted, inheritable: sets.inheritable)
        return clinux_capset(&raw)
    }
}
