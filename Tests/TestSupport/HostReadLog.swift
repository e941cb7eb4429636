import NumaguardHost
import Synchronization

/// Every path read through a `HostRoot`, in order: files and links by their relative path,
/// listings as `list PATH`, failed reads as `failed PATH`. Tests hold a reader to exactly the
/// reads it may make (a protected process's numa_maps never, a v2 host's mountinfo never).
public final class HostReadLog: HostReadObserver {
    private let reads = Mutex<[String]>([])

    public init() {}

    public var paths: [String] { reads.withLock { $0 } }
    public func clear() { reads.withLock { $0 = [] } }

    public func file(_ relative: String, _ contents: [UInt8]) { reads.withLock { $0.append(relative) } }
    public func listed(_ relative: String) { reads.withLock { $0.append("list " + relative) } }
    public func link(_ relative: String, _ target: String) { reads.withLock { $0.append(relative) } }
    public func probed(_ relative: String) {}
    public func failed(_ relative: String, _ error: HostError) { reads.withLock { $0.append("failed " + relative) } }
}
