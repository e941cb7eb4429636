#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import NumaguardCore

/// CPU affinity of a thread through the raw sched_setaffinity/sched_getaffinity calls (glibc
/// hides its wrappers behind _GNU_SOURCE), with a mask sized for any CPU count (glibc's
/// cpu_set_t stops at 1024).
public enum Affinity {
    static func maskWords(for cpus: IDSet) -> Int {
        (max(1024, (cpus.members.last ?? 0) + 1) + 63) / 64
    }

    /// Sets the affinity of `tid` (0: the calling thread). The kernel silently drops CPUs
    /// outside the cpuset, so callers that promise a placement read it back.
    public static func set(_ cpus: IDSet, tid: Int32 = 0) throws(SystemCallError) {
        let mask = cpus.bitmap(wordCount: maskWords(for: cpus))
        try SystemCall.check("sched_setaffinity", tid == 0 ? "calling thread" : "thread \(tid)") {
            mask.withUnsafeBufferPointer { words in
                clinux_sched_setaffinity(tid, words.count * MemoryLayout<UInt64>.size, words.baseAddress)
            }
        }
    }

    public static func current(tid: Int32 = 0) throws(SystemCallError) -> IDSet {
        var words = 1024 / 64
        while true {
            var mask = [UInt64](repeating: 0, count: words)
            do throws(SystemCallError) {
                try SystemCall.check("sched_getaffinity", tid == 0 ? "calling thread" : "thread \(tid)") {
                    mask.withUnsafeMutableBufferPointer { buffer in
                        clinux_sched_getaffinity(tid, buffer.count * MemoryLayout<UInt64>.size, buffer.baseAddress)
                    }
                }
            } catch {
                // EINVAL: the kernel's mask is wider than ours (NR_CPUS > 1024).
                if error.errno == .invalid, words < 1 << 14 { words *= 2; continue }
                throw error
            }
            return IDSet(bitmap: mask)
        }
    }
}
