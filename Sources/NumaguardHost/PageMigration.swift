import CLinux
import NumaguardCore

/// migrate_pages(2) on another process, through the CLinux shim and the errno funnel.
public enum PageMigration {
    /// Moves the pages of `pid` on `from` to `to` and returns how many pages the kernel
    /// could not move (it skips pages it cannot isolate, such as pinned or busy ones).
    /// Without CAP_SYS_NICE the kernel quietly moves only pages no other process maps, and
    /// refuses nodes outside the target's cpuset; callers decide before calling.
    public static func migrate(pid: Int, from: IDSet, to: IDSet) throws(SystemCallError) -> Int {
        let bits = MemoryPolicyCalls.maskBits
        let old = from.bitmap(wordCount: bits / 64).map { UInt($0) }
        let new = to.bitmap(wordCount: bits / 64).map { UInt($0) }
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
