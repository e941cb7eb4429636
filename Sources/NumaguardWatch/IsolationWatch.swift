#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// watch's eye on isolated and reserved CPUs, for a policy with `host.isolation` or a CPU
/// reservation. Every interval: /proc/interrupts (one file), compared with the last reading,
/// gives an `interrupt` event when a device interrupt not declared there starts firing on
/// those CPUs. Every `watch.isolation_period`: every thread's task stat and status (never a
/// protected process's numa_maps or command line) gives a `foreign_thread` event when a thread
/// outside the reservation's workloads is first seen allowed on, or last running on, its CPUs;
/// and the declared devices' vectors are read for those handled off their declared CPUs.
/// Neither event touches the regime machine: a stray interrupt is no reason to stop NUMA
/// balancing. What is kept is bounded by the policy and the host: the last table, a count per
/// (CPU set, source label), the threads last reported.
final class IsolationWatch {
    let root: HostRoot
    let topology: Topology
    /// The device inventory (DeviceLocality's reader; a test gives devices by hand).
    let devices: (HostRoot) -> DeviceLocality.Inventory
    /// Distinct IPI and timer row names counted per CPU set before the rest go to "other".
    static let maximumNamedSources = 32
    /// Events of one kind per sample or scan before the rest are summed in one line.
    static let maximumEvents = 16

    /// One watched CPU set: a reservation's CPUs, or the isolated CPUs.
    struct Watched: Equatable {
        var cpus: IDSet
        /// `cpus.2-15` or `host.isolation`: the check family it belongs to, for the event.
        var reservation: String
        /// IRQs allowed there (the devices its `irqs:` names).
        var allowedIRQs: Set<Int>
        /// The workloads whose threads belong there (empty for the isolated CPUs).
        var workloads: [String]
    }

    struct Note {
        var kind: WatchEvent.Kind
        var message: String
        var fields: [(String, String)] = []
        var figures: [(String, Double?)] = []
    }

    private var previous: (table: InterruptTable, time: Double)?
    private var lastScan: Double?
    /// Sources (set label, IRQ or name, CPU) that fired in the last interval: an event is
    /// written when one starts firing, not every interval it goes on.
    private var firing: Set<String> = []
    /// Threads reported at the last scan (set, kind, PID, TID): reported again only after
    /// they were gone for a scan.
    private var reported: Set<String> = []
    /// IRQ number to device rule name, and the declared devices' vectors, as of the last scan.
    private var owner: [Int: String] = [:]
    private var inventory: [HostDevice] = []
    private(set) var metrics = IsolationMetrics()

    init(root: HostRoot, topology: Topology,
         devices: @escaping (HostRoot) -> DeviceLocality.Inventory = { DeviceLocality.read($0) }) {
        self.root = root
        self.topology = topology
        self.devices = devices
    }

    static func applies(_ policy: Policy) -> Bool { policy.host.isolation != nil || !policy.cpuReservations.isEmpty }

    /// The CPU sets of `policy`: each reservation's, then the isolated CPUs (declared, else the
    /// host's) when no reservation has exactly those.
    func watched(_ policy: Policy) -> [Watched] {
        var sets: [Watched] = policy.cpuReservations.map { reservation in
            let allowed = Set(policy.devices.filter { reservation.irqDevices.contains($0.name) }.flatMap { rule in
                inventory.filter { rule.match.holds(for: $0) }.flatMap { $0.irqs.map(\.irq) }
            })
            return Watched(cpus: reservation.cpus, reservation: "cpus.\(reservation.cpus.listString)", allowedIRQs: allowed,
                           workloads: reservation.workloads)
        }
        if let isolation = policy.host.isolation {
            var isolated = (isolation.isolated ?? IDSet()).union(isolation.nohzFull ?? IDSet())
            if isolated.isEmpty { isolated = topology.isolatedCPUs.union(topology.nohzFullCPUs) }
            if !isolated.isEmpty, !sets.contains(where: { $0.cpus == isolated }) {
                let allowed = sets.filter { !$0.cpus.intersection(isolated).isEmpty }.reduce(Set<Int>()) { $0.union($1.allowedIRQs) }
                sets.append(Watched(cpus: isolated, reservation: "host.isolation", allowedIRQs: allowed, workloads: []))
            }
        }
        return sets
    }

    /// One interval. `now` is monotonic seconds; `period` is `watch.isolation_period`;
    /// `members`: the tracked protected processes' workloads by PID.
    func sample(_ policy: Policy, now: Double, period: Double, members: [Int: String]) -> [Note] {
        guard Self.applies(policy) else { return [] }
        var notes: [Note] = []
        if lastScan.map({ now - $0 >= period }) ?? true {
            lastScan = now
            notes += scan(policy, members: members)
        }
        let sets = watched(policy)
        metrics.keep(sets.map(\.cpus.listString))
        // host.isolation with no isolated CPU declared or found: nothing to watch.
        guard !sets.isEmpty else { return notes }
        let table: InterruptTable
        do {
            table = try InterruptsReader.read(root)
        } catch {
            previous = nil
            return notes + [Note(kind: .unreadable, message: error.description)]
        }
        defer { previous = (table, now) }
        guard let previous else { return notes }
        let seconds = now - previous.time
        let window = InterruptWindow(before: previous.table, after: table, seconds: seconds)
        for reset in window.resets where sets.contains(where: { $0.cpus.contains(reset.cpu) }) {
            notes.append(Note(kind: .counterReset, message: "\(Self.name(reset, owner)) on CPU \(reset.cpu) restarted its count "
                              + "(the IRQ was freed and reused): not counted this interval"))
        }
        var nowFiring: Set<String> = []
        var events: [Note] = []
        for set in sets {
            let label = set.cpus.listString
            for delta in window.on(set.cpus) {
                let source: String
                switch delta.source {
                case let .irq(number): source = owner[number] ?? "undeclared"
                case let .named(name): source = name
                }
                let isNamed: Bool
                if case .named = delta.source { isNamed = true } else { isNamed = false }
                metrics.add(label, source, UInt64(delta.count), named: isNamed)
                guard case let .irq(number) = delta.source, !set.allowedIRQs.contains(number) else { continue }
                let key = "\(set.reservation) \(number) \(delta.cpu)"
                nowFiring.insert(key)
                guard !firing.contains(key) else { continue }
                let which = set.reservation == "host.isolation" ? "isolated" : "reserved"
                events.append(Note(
                    kind: .interrupt,
                    message: "a device interrupt on \(which) CPU \(delta.cpu): \(Self.name(delta, owner)) ×\(delta.count) in "
                        + "\(WatchEvent.number(seconds)) s (\(set.reservation))",
                    fields: [("reservation", set.reservation), ("cpu", String(delta.cpu)), ("source", source)],
                    figures: [("count", Double(delta.count)), ("seconds", seconds)]))
            }
        }
        firing = nowFiring
        return notes + Self.capped(events, "device interrupts")
    }

    /// `nvme0q2 (journal-disk)`, or `IRQ 35` without a handler name. Handler names are
    /// untrusted text, escaped; never a label.
    static func name(_ delta: InterruptDelta, _ owner: [Int: String]) -> String {
        guard case let .irq(number) = delta.source else { return DeviceChecks.untrusted(delta.source.description) }
        let actions = InterruptRow(source: delta.source, counts: [], detail: delta.detail).actions
        return (actions.map { DeviceChecks.untrusted($0) } ?? "IRQ \(number)") + (owner[number].map { " (\($0))" } ?? "")
    }

    static func capped(_ events: [Note], _ what: String) -> [Note] {
        guard events.count > maximumEvents, let first = events.first else { return events }
        return Array(events.prefix(maximumEvents)) + [Note(kind: first.kind, message: "and \(events.count - maximumEvents) more \(what) this sample")]
    }

    /// Every isolation period: the device inventory, the declared devices' vectors off their
    /// CPUs, every thread on the reserved CPUs.
    func scan(_ policy: Policy, members: [Int: String]) -> [Note] {
        metrics.scans += 1
        var notes: [Note] = []
        if !policy.devices.isEmpty {
            let read = devices(root)
            inventory = read.devices
            for problem in read.problems.prefix(Self.maximumEvents) {
                notes.append(Note(kind: .unreadable, message: "\(DeviceChecks.untrusted(problem.subject)): \(problem.error)"))
            }
        } else {
            inventory = []
        }
        owner = [:]
        var offPolicy: [String: Int] = [:]
        for rule in policy.devices {
            var seen: Set<Int> = []
            let cpus = rule.irqs.map { placement -> IDSet in
                switch placement.target {
                case let .cpus(cpus): return cpus
                case let .nodes(nodes): return topology.nodes.filter { nodes.contains($0.id) }.reduce(IDSet()) { $0.union($1.cpus) }
                }
            }
            var off = 0
            for device in inventory where rule.match.holds(for: device) {
                for vector in device.irqs where seen.insert(vector.irq).inserted {
                    if owner[vector.irq] == nil { owner[vector.irq] = rule.name }
                    if let cpus, let effective = vector.affinity.effective, !effective.isEmpty, !effective.isSubset(of: cpus) { off += 1 }
                }
            }
            if rule.irqs != nil { offPolicy[rule.name] = off }
        }
        metrics.devicesOffPolicy = offPolicy
        let sets = watched(policy).filter { !$0.workloads.isEmpty }
        guard !sets.isEmpty else { return notes }
        let scan: ThreadScan
        do {
            let own = Int(getpid())
            scan = try ThreadPlacementReader.read(root, pids: try ProcessReader(root: root).pids().filter { $0 != own })
        } catch {
            return notes + [Note(kind: .unreadable, message: error.description)]
        }
        let claims = WorkloadClaims(root: root)
        var verdicts: [Int: [String]] = [:]
        var now: Set<String> = []
        // Threads confined to the reserved CPUs first (the scheduler cannot move those away),
        // then in PID order: what the event cap keeps.
        var events: [(confined: Bool, note: Note)] = []
        var foreign: [String: [String: Int]] = [:]
        for set in sets {
            let label = set.cpus.listString
            var counts = ["allowed": 0, "last_cpu": 0]
            for thread in scan.threads where !thread.kernel {
                let allowed = thread.allowed ?? IDSet()
                let kind: String
                if !allowed.intersection(set.cpus).isEmpty { kind = "allowed" } else if set.cpus.contains(thread.lastCPU) { kind = "last_cpu" } else { continue }
                // A protected process is known without a read; any other is matched once per scan.
                let workloads: [String]
                if let protected = members[thread.pid] {
                    workloads = [protected]
                } else if let known = verdicts[thread.pid] {
                    workloads = known
                } else {
                    workloads = claims.workloads(claiming: thread.pid, among: policy.workloads.filter { set.workloads.contains($0.name) }).map(\.name)
                    verdicts[thread.pid] = workloads
                }
                guard !workloads.contains(where: set.workloads.contains) else { continue }
                counts[kind, default: 0] += 1
                let key = "\(set.reservation) \(kind) \(thread.pid) \(thread.tid) \(thread.startTime)"
                now.insert(key)
                guard !reported.contains(key) else { continue }
                let cpus = kind == "allowed" ? "allowed on reserved CPU\(allowed.intersection(set.cpus).count == 1 ? "" : "s") "
                    + allowed.intersection(set.cpus).listString : "last ran on reserved CPU \(thread.lastCPU)"
                events.append((!allowed.isEmpty && allowed.isSubset(of: set.cpus), Note(
                    kind: .foreignThread,
                    message: "PID \(thread.pid) (\(DeviceChecks.untrusted(thread.processComm))) thread \(thread.tid) \(cpus), "
                        + "outside \(set.workloads.joined(separator: ", ")) (\(set.reservation))",
                    fields: [("reservation", set.reservation), ("kind", kind), ("pid", String(thread.pid)), ("tid", String(thread.tid))])))
            }
            foreign[label] = counts
        }
        reported = now
        metrics.foreignThreads = foreign
        let ordered = events.filter(\.confined).map(\.note) + events.filter { !$0.confined }.map(\.note)
        return notes + Self.capped(ordered, "foreign threads")
    }
}

/// The isolation figures /metrics shows, bounded: labels are CPU lists from the policy,
/// device rule names, `undeclared`, and at most `maximumNamedSources` IPI/timer row names per
/// set (then `other`): never a PID, an IRQ number or a handler name.
struct IsolationMetrics: Equatable {
    /// Interrupts counted since watch started, by CPU set and source label.
    var interrupts: [String: [String: UInt64]] = [:]
    /// Foreign threads at the last scan, by CPU set and kind (allowed, last_cpu).
    var foreignThreads: [String: [String: Int]] = [:]
    /// Declared devices' vectors handled outside their `irqs:` CPUs, at the last scan.
    var devicesOffPolicy: [String: Int] = [:]
    /// Isolation scans since watch started.
    var scans = 0

    /// Drops the sets a reloaded policy no longer has; starts new ones at `undeclared` 0.
    mutating func keep(_ labels: [String]) {
        interrupts = interrupts.filter { labels.contains($0.key) }
        namedSources = namedSources.filter { labels.contains($0.key) }
        foreignThreads = foreignThreads.filter { labels.contains($0.key) }
        for label in labels where interrupts[label] == nil { interrupts[label] = ["undeclared": 0] }
    }

    /// The IPI/timer row names counted per set (the cap's tally).
    var namedSources: [String: Set<String>] = [:]

    mutating func add(_ label: String, _ source: String, _ count: UInt64, named: Bool) {
        var sources = interrupts[label] ?? [:]
        var key = source
        if named, !(namedSources[label]?.contains(source) ?? false) {
            if (namedSources[label]?.count ?? 0) >= IsolationWatch.maximumNamedSources {
                key = "other"
            } else {
                namedSources[label, default: []].insert(source)
            }
        }
        sources[key, default: 0] &+= count
        interrupts[label] = sources
    }
}
