#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

/// This process, for real: the syscalls `Launcher.execute` makes, each through the errno funnel.
public struct LiveProcess: SelfPlacing {
    public init() {}

    public func setMemoryPolicy(_ policy: MemoryPolicy) throws(SystemCallError) { try MemoryPolicyCalls.set(policy) }

    public func setAffinity(_ cpus: IDSet) throws(SystemCallError) { try Affinity.set(cpus) }

    public func memoryPolicy() throws(LaunchError) -> MemoryPolicy {
        do {
            return try MemoryPolicyCalls.current()
        } catch {
            throw .failed(error.description)
        }
    }

    public func affinity() throws(SystemCallError) -> IDSet { try Affinity.current() }

    /// Written with the wrapper's privileges (before any --user switch), readable by all:
    /// the audit that reads it may run as another user. Through OutputFile, like every
    /// output: a link another user planted in a shared record directory is not followed.
    public func writeRecord(_ record: LaunchRecord, directory: String) throws(OutputError) {
        try OutputFile.write(record.json, to: directory + "/" + record.fileName)
    }

    public func become(_ credentials: Credentials) throws(Credentials.Failure) { try credentials.enter() }

    public func clearCapabilities() throws(SystemCallError) { try Capabilities.clearForExec() }

    public func resetSignals(_ state: SignalState) throws(SystemCallError) { try Signals.resetForExec(state) }

    /// Byte for byte: the path and arguments are handed to execve as the wrapper got them.
    /// argv is a plain allocation, not an array of optional pointers, whose storage type the
    /// runtime would build by demangling its name on this, the launch's last step.
    public func exec(_ path: RawArgument, _ arguments: [RawArgument]) -> Errno {
        let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: arguments.count + 1)
        for (index, argument) in arguments.enumerated() { (argv + index).initialize(to: argument.duplicated()) }
        (argv + arguments.count).initialize(to: nil)
        defer {
            for index in 0..<arguments.count { argv[index]?.deallocate() }
            argv.deallocate()
        }
        path.withCString { _ = execve($0, argv, environ) }
        return Errno(errno)
    }

    /// pid, start time and boot id of this process (the program keeps all three after exec),
    /// and the time, for the launch record.
    public static func identity(_ root: HostRoot = .live) -> LaunchIdentity? {
        guard let stat = try? root.parse("proc/self/stat", TaskStatParser.parse),
              let bootID = try? root.readSmallText("proc/sys/kernel/random/boot_id") else { return nil }
        let stamp = UTCTime.text(Double(time(nil)))
        return LaunchIdentity(pid: stat.pid, startTime: stat.startTime, bootID: String(Lex.trimmed(bootID)), time: stamp)
    }
}
