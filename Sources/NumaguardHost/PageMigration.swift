import CLinux
import NumaguardCore

/// migrate_pages(2) on another process, through the CLinux shim and the errno funnel.
public enum PageMigration {
    /// Moves the pages of `pid` on `from` to `to` and returns how many pages the kernel
    /// could not move (it skips pages it cannot isolate, such as pinned or busy ones).
    /// Without CAP_SYS_NICE the kernel quietly moves only pages no other process maps, and
    /// refuses nodes outside the target's cpuset; callers decide before calling.
    /// `onlyUnshared`: move only pages the target alone maps. The kernel moves pages shared
    /// with other processes (page cache, libraries, shared memory) only for a caller with
    /// CAP_SYS_NICE effective (MPOL_MF_MOVE_ALL), so it is lowered for the call: where a
    /// protected process runs, a page it shares with the target must not move under it.
    public static func migrate(pid: Int, from: IDSet, to: IDSet, onlyUnshared: Bool) throws(SystemCallError) -> Int {
        guard onlyUnshared else { return try migrate(pid: pid, from: from, to: to) }
        return try Capabilities.withoutEffective(.sysNice) { () throws(SystemCallError) in try migrate(pid: pid, from: from, to: to) }
    }

    static func migrate(pid: Int, from: IDSet, to: IDSet) throws(SystemCallError) -> Int {
        let bits = MemoryPolicyCalls.maskBits
        let old = from.bitmap(wordCount: bits / 64)
        let new = to.bitmap(wordCount: bits / 64)
        // maxnode counts bits; like set_mempolicy the kernel drops the last one, so ask for one more.
        let notMoved = try SystemCall.check("migrate_pages", "PID \(pid) nodes \(from.listString) -> \(to.listString)") {
            old.withUnsafeBufferPointer { oldWords in
                new.withUnsafeBufferPointer { newWords in
                    clinux_migrate_pages(Int32(pid), UInt(bits + 1), oldWords.baseAddress, newWords.baseAddress)
                }
            }
        }
        return notMoved
    }
}
