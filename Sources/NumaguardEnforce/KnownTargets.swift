import NumaguardCore
import NumaguardHost

/// What apply and undo may write, decided by numaguard and never by a file.
///
/// A saved plan and the journal are files: whoever can edit one could otherwise name any
/// path for root to write (a knob's `path`, a persist action's `file`). So a knob is rebuilt
/// from its NAME against the set numaguard manages, and its recorded path and kind must be
/// exactly the rebuilt ones; the only file apply writes or removes is the sysctl.d drop-in,
/// and its contents may only set the sysctls numaguard manages.
public enum KnownTargets {
    /// The one file `apply --persist` writes and undo restores.
    public static let dropIn = "/etc/sysctl.d/90-numaguard.conf"

    /// The sysctls the planner sets (Planning.add) and persists (Planner.dropIn).
    public static let sysctls = ["kernel.numa_balancing", "vm.zone_reclaim_mode"]

    /// The most bytes of a CPU list written to an IRQ: 8192 CPUs spelled one by one stay far
    /// below it, and a procfs write takes one page.
    public static let maximumCPUListBytes = 4096

    /// The knob numaguard means by `name`, nil for a name it does not manage:
    /// a managed sysctl, `transparent_hugepage.enabled`,
    /// `nodeN.hugepages-SIZEkB.nr_hugepages` with N and SIZE decimal (as the planner spells them), or
    /// `irq.N.smp_affinity_list` with N decimal, without a leading zero, at most 1,048,575.
    public static func knob(named name: String) -> Knob? {
        if sysctls.contains(name) { return .sysctl(name) }
        if name == Knob.transparentHugepage.name { return .transparentHugepage }
        if let irq = irqKnob(named: name) { return irq }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard name.utf8.count <= 96, parts.count == 3, parts[2] == "nr_hugepages",
              parts[0].hasPrefix("node"), parts[1].hasPrefix("hugepages-"), parts[1].hasSuffix("kB"),
              let node = Lex.decimal(parts[0].dropFirst(4)),
              let size = Lex.decimal(parts[1].dropFirst("hugepages-".count).dropLast(2)) else { return nil }
        let rebuilt = Knob.hugePages(node: node, sizeKiB: size)
        // "node007" or "+1" would rebuild to another spelling: only the planner's own is accepted.
        return rebuilt.name == name ? rebuilt : nil
    }

    /// `irq.N.smp_affinity_list`, rebuilt from N: `irq.01.…`, `irq.+5.…` or `irq.5/../../x.…` never
    /// rebuild to the same name, so only the planner's own spelling names a file.
    static func irqKnob(named name: String) -> Knob? {
        let prefix = "irq.", suffix = ".smp_affinity_list"
        guard name.utf8.count <= 64, name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let number = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard let irq = Lex.decimal(number), irq <= IRQAffinityReader.maximumIRQ else { return nil }
        let rebuilt = Knob.irqAffinity(irq: irq)
        return rebuilt.name == name ? rebuilt : nil
    }

    /// Why `knob` is not one numaguard writes; nil when it is exactly a known knob.
    public static func refusal(_ knob: Knob) -> String? {
        guard let known = Self.knob(named: knob.name) else {
            return "\(knob.name) is not a kernel setting numaguard manages; nothing written"
        }
        guard known == knob else {
            return "\(knob.name) is recorded with path /\(knob.path) (\(knob.kind.rawValue)); numaguard writes it at /\(known.path) "
                + "(\(known.kind.rawValue)) only; nothing written"
        }
        return nil
    }

    /// Why `value` is not one numaguard writes to `knob`: a number for sysctls and huge page
    /// pools (at most 20 digits), one of THP's choices for `transparent_hugepage.enabled`, a
    /// non-empty CPU list in its canonical spelling (at most 4096 bytes) for an IRQ.
    public static func refusal(_ knob: Knob, value: String) -> String? {
        let valid = switch knob.kind {
        case .sysctl, .number: !value.isEmpty && value.utf8.count <= 20 && value.utf8.allSatisfy(Lex.isDigit)
        case .choice: ["always", "madvise", "never"].contains(value)
        case .irqAffinity: !value.isEmpty && value.utf8.count <= maximumCPUListBytes && Knob.cpuList(value) == value
        }
        return valid ? nil : "\(knob.name) does not take \"\(value.prefix(64))\" from numaguard; nothing written"
    }

    /// Why `path` with `contents` is not the drop-in numaguard writes; nil when it is: the
    /// drop-in path (`dropIn` unless a test names another) and, when there are contents, only
    /// comments, blank lines and `name = value` lines for the managed sysctls, with a plain
    /// value (digits, letters, `-`, `_`).
    public static func refusal(file path: String, contents: String?, dropIn: String = dropIn) -> String? {
        guard path == dropIn else { return "\(path) is not numaguard's drop-in \(dropIn); nothing written" }
        guard let contents else { return nil }
        for (index, line) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = Lex.trimmed(line)
            if text.isEmpty || text.hasPrefix("#") { continue }
            let sides = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = sides.first.map { String(Lex.trimmed($0)) } ?? ""
            let value = sides.count == 2 ? Lex.trimmed(sides[1]) : ""
            let plain = !value.isEmpty && value.utf8.count <= 64
                && value.utf8.allSatisfy { Lex.isDigit($0) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
            guard sysctls.contains(name), plain else {
                return "\(path): line \(index + 1) is not a setting numaguard persists (\(sysctls.joined(separator: ", "))); nothing written"
            }
        }
        return nil
    }
}
