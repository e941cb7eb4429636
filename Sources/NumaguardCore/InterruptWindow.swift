/// Two readings of /proc/interrupts compared, for certify's window and watch's interval: what
/// fired on which CPU in between, which counts cannot be believed, and which CPUs came or went.
///
/// Counts are the kernel's 32-bit `%10u` and wrap, so a difference is taken modulo 2^32
/// (`InterruptTable.delta`): a counter that wrapped once gives the right answer. A difference
/// no CPU could produce in the time between the readings (more than `maximumPerSecond` per
/// second) is not a wrap but a reset: the IRQ was freed and its number handed to another
/// handler (a module reloaded), whose count restarted at zero. A numbered row whose handler
/// text changed is a reset too, whatever the counts say. A reset is reported, never counted.
public struct InterruptWindow: Equatable, Sendable {
    /// Non-zero deltas on CPUs online at both readings, in the later reading's row order.
    public var deltas: [InterruptDelta] = []
    /// Sources whose count on a CPU went through a reset (`count`: the later reading's value).
    public var resets: [InterruptDelta] = []
    /// CPUs with a column in the earlier reading and none in the later (gone offline).
    public var wentOffline = IDSet()
    /// CPUs with a column only in the later reading (came online): nothing to compare with.
    public var cameOnline = IDSet()

    /// One CPU cannot take an interrupt from one source more often than this: handling one
    /// takes a few hundred nanoseconds at the very least.
    public static let maximumPerSecond = 4_000_000.0

    public init(deltas: [InterruptDelta] = [], resets: [InterruptDelta] = [], wentOffline: IDSet = IDSet(), cameOnline: IDSet = IDSet()) {
        self.deltas = deltas
        self.resets = resets
        self.wentOffline = wentOffline
        self.cameOnline = cameOnline
    }

    /// `seconds`: the time between the readings (bounds what a believable delta is).
    public init(before: InterruptTable, after: InterruptTable, seconds: Double) {
        // Each CPU's column in the earlier reading; the rows are looked up, never copied, so a
        // 64 MiB table costs one index, not a dictionary per row.
        var earlierColumn: [Int: Int] = [:]
        for (column, cpu) in before.cpus.enumerated() where earlierColumn[cpu] == nil { earlierColumn[cpu] = column }
        let laterCPUs = Set(after.cpus)
        wentOffline = IDSet(before.cpus.filter { !laterCPUs.contains($0) })
        cameOnline = IDSet(after.cpus.filter { earlierColumn[$0] == nil })
        var old: [InterruptRow.Source: Int] = [:]
        for (index, row) in before.rows.enumerated() where row.counts.count == before.cpus.count && !row.isHostWide {
            old[row.source] = index
        }
        let span = max(seconds, 0.001) * Self.maximumPerSecond
        let believable = span >= Double(UInt32.max) ? UInt32.max : UInt32(span)
        for row in after.rows where row.counts.count == after.cpus.count && !row.isHostWide {
            let earlier = old[row.source].map { before.rows[$0] }
            // A numbered row with another handler is another interrupt under a reused number.
            let reused: Bool
            if case .irq = row.source, let earlier, earlier.detail != row.detail { reused = true } else { reused = false }
            for (column, count) in row.counts.enumerated() {
                let cpu = after.cpus[column]
                guard let earlierIndex = earlierColumn[cpu] else { continue }
                // A source new in this reading (an IRQ requested in between) counts from zero.
                let fired = InterruptTable.delta(from: earlier?.counts[earlierIndex] ?? 0, to: count)
                guard fired > 0 else { continue }
                let delta = InterruptDelta(source: row.source, cpu: cpu, count: fired, detail: row.detail)
                if reused || fired > believable {
                    resets.append(InterruptDelta(source: row.source, cpu: cpu, count: count, detail: row.detail))
                } else {
                    deltas.append(delta)
                }
            }
        }
    }

    /// The deltas on `cpus`.
    public func on(_ cpus: IDSet) -> [InterruptDelta] { deltas.filter { cpus.contains($0.cpu) } }
}
