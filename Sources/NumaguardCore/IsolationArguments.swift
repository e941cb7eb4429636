/// What the kernel command line and irqbalance's own environment and arguments say about CPU
/// isolation. `/sys/devices/system/cpu/isolated` lists only the `domain` flavour of
/// `isolcpus=`, so `isolcpus=managed_irq,3` alone leaves it empty: the flags come from here.

/// `isolcpus=[flag,...,]LIST` as the kernel reads it (`housekeeping_isolcpus_setup`): leading
/// words of letters are flags (`nohz`, `domain`, `managed_irq`), each followed by a comma; the
/// rest is the CPU list. No flag means `domain`. An unknown flag makes the kernel ignore the
/// whole parameter (it logs "isolcpus: Error, unknown flag").
public struct IsolcpusArgument: Equatable, Sendable {
    public enum Flag: String, Sendable, CaseIterable {
        case nohz, domain
        case managedIRQ = "managed_irq"
    }

    /// The parameter as written, `isolcpus=` included.
    public var text: String
    /// The flags in force: empty when the kernel ignores the parameter.
    public var flags: Set<Flag>
    /// nil when the list does not parse or an unknown flag made the kernel ignore it.
    public var cpus: IDSet?
    /// Why the kernel ignores it, when it does.
    public var problem: String?

    public init(text: String, flags: Set<Flag>, cpus: IDSet?, problem: String? = nil) {
        self.text = text
        self.flags = flags
        self.cpus = cpus
        self.problem = problem
    }

    /// The last `isolcpus=` among the kernel's own parameters (each occurrence is handed to the
    /// kernel's setup in turn; the last one decides), or nil when there is none.
    public static func from(commandLine: String) -> IsolcpusArgument? {
        let words = BootArguments.words(commandLine).filter { !$0.isForInit && $0.key == "isolcpus" }
        return words.last.map { parse($0.text) }
    }

    /// One `isolcpus=...` word.
    public static func parse(_ word: String) -> IsolcpusArgument {
        var rest = Substring(word.drop { $0 != "=" }.dropFirst())
        var flags: Set<Flag> = []
        while let first = rest.utf8.first, (first | 0x20) >= 0x61, (first | 0x20) <= 0x7A {
            let name = rest.prefix { $0 != "," }
            guard let flag = Flag(rawValue: String(name)), rest.dropFirst(name.count).first == "," else {
                return IsolcpusArgument(text: word, flags: [], cpus: nil,
                                        problem: "unknown isolcpus flag \"\(name.prefix(64))\": the kernel ignores the whole parameter")
            }
            flags.insert(flag)
            rest = rest.dropFirst(name.count + 1)
        }
        if flags.isEmpty { flags = [.domain] }
        do {
            return IsolcpusArgument(text: word, flags: flags, cpus: try IDListParser.parse(rest, what: "isolcpus CPU list"))
        } catch {
            return IsolcpusArgument(text: word, flags: [], cpus: nil, problem: error.description + ": the kernel ignores the whole parameter")
        }
    }
}

/// The banned-CPU variables of a running irqbalance's environment (`/proc/PID/environ`):
/// when either is set and non-empty, irqbalance uses it and **skips its own detection** of
/// isolated and nohz_full CPUs. `IRQBALANCE_BANNED_CPUS` (a hex mask, deprecated) is looked at
/// first, as irqbalance does; only these two variables are parsed.
public struct IRQBalanceEnvironment: Equatable, Sendable {
    public enum Banned: Equatable, Sendable {
        /// `IRQBALANCE_BANNED_CPUS=` (hex mask) with the set, or nil when it does not parse.
        case mask(String, IDSet?)
        /// `IRQBALANCE_BANNED_CPULIST=` with the set, or nil when it does not parse.
        case list(String, IDSet?)

        public var variable: String {
            switch self {
            case .mask: "IRQBALANCE_BANNED_CPUS"
            case .list: "IRQBALANCE_BANNED_CPULIST"
            }
        }

        public var value: String {
            switch self {
            case let .mask(text, _), let .list(text, _): text
            }
        }

        public var cpus: IDSet? {
            switch self {
            case let .mask(_, set), let .list(_, set): set
            }
        }
    }

    /// nil: neither is set, so irqbalance bans the isolated and nohz_full CPUs itself.
    public var banned: Banned?

    public init(banned: Banned?) { self.banned = banned }

    /// environ is capped by the reader (256 KiB); a value longer than 64 KiB is kept cut,
    /// since no CPU set needs more.
    public static func parse(_ environ: some Collection<UInt8>) -> IRQBalanceEnvironment {
        var mask: String?
        var list: String?
        for entry in environ.split(separator: 0, omittingEmptySubsequences: true) {
            guard let equals = entry.firstIndex(of: 0x3D) else { continue }
            let name = entry[entry.startIndex..<equals]
            let value = String(decoding: entry[entry.index(after: equals)...].prefix(65536), as: UTF8.self)
            // getenv returns the first of a repeated name.
            if name.elementsEqual("IRQBALANCE_BANNED_CPUS".utf8), mask == nil {
                mask = value
            } else if name.elementsEqual("IRQBALANCE_BANNED_CPULIST".utf8), list == nil {
                list = value
            }
        }
        if let mask, !mask.isEmpty {
            return IRQBalanceEnvironment(banned: .mask(mask, try? IDListParser.parseMask(mask, what: "IRQBALANCE_BANNED_CPUS")))
        }
        if let list, !list.isEmpty {
            return IRQBalanceEnvironment(banned: .list(list, try? IDListParser.parse(list, what: "IRQBALANCE_BANNED_CPULIST")))
        }
        return IRQBalanceEnvironment(banned: nil)
    }
}

/// What a running irqbalance's command line asks that changes what it balances:
/// `-i/--banirq=N` (that IRQ is left alone; it does *not* turn off the detection of isolated
/// CPUs), `-m/--banmod=M` (a driver's IRQs are left alone), `-l/--policyscript=P` (a script
/// that may ban anything: unknowable), `-o/--oneshot` (balances once, then exits).
public struct IRQBalanceArguments: Equatable, Sendable {
    public var bannedIRQs: [Int] = []
    public var bannedModules: [String] = []
    public var policyScript: String?
    public var oneshot = false

    public init() {}

    /// getopt_long's rules for irqbalance's options: short options group (`-of`), a short
    /// option's value is the rest of its word or the next word, a long one's follows `=` or is
    /// the next word; `--` ends the options. Argument 0 (the program) is skipped.
    public static func parse(_ arguments: [String]) -> IRQBalanceArguments {
        var result = IRQBalanceArguments()
        // Options taking a value, by short and long name (irqbalance.c's getopt string).
        let valued: Set<Character> = ["i", "l", "m", "p", "s", "c", "t", "e", "h", "x"]
        let longNames = ["banirq": Character("i"), "policyscript": "l", "banmod": "m", "oneshot": "o", "powerthresh": "p",
                         "pid": "s", "deepestcache": "c", "interval": "t", "migrateval": "e", "hintpolicy": "h"]
        func apply(_ option: Character, _ value: String?) {
            switch option {
            case "i": if let value, let irq = Lex.decimal(value), irq <= 1_048_575 { result.bannedIRQs.append(irq) }
            case "m": if let value { result.bannedModules.append(String(value.prefix(256))) }
            case "l": if let value { result.policyScript = String(value.prefix(4096)) }
            case "o": result.oneshot = true
            default: break
            }
        }
        var index = 1
        // A command line is capped by its reader; this bounds the work on any list.
        let words = Array(arguments.prefix(4096))
        while index < words.count {
            let word = words[index]
            index += 1
            if word == "--" { break }
            if word.hasPrefix("--") {
                let body = word.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                guard let option = longNames[name] else { continue }
                if valued.contains(option) {
                    if body.contains("=") {
                        apply(option, String(body.drop { $0 != "=" }.dropFirst()))
                    } else if index < words.count {
                        apply(option, words[index])
                        index += 1
                    }
                } else {
                    apply(option, nil)
                }
            } else if word.hasPrefix("-"), word.count > 1 {
                var rest = word.dropFirst()
                while let option = rest.first {
                    rest = rest.dropFirst()
                    guard valued.contains(option) else {
                        apply(option, nil)
                        continue
                    }
                    if !rest.isEmpty {
                        apply(option, String(rest))
                    } else if index < words.count {
                        apply(option, words[index])
                        index += 1
                    }
                    break
                }
            }
        }
        return result
    }
}

extension IDSet {
    /// The kernel's hex mask spelling (`cpumask`, `smp_affinity`): 32-bit groups of 8 hex digits,
    /// most significant first, comma-separated; what a remediation tells root to write.
    public var kernelMask: String {
        let highest = members.last ?? 0
        let groups = highest / 32 + 1
        var words = [UInt32](repeating: 0, count: groups)
        for member in self { words[member / 32] |= 1 << UInt32(member % 32) }
        return words.reversed().map { word in
            let digits = String(word, radix: 16)
            return String(repeating: "0", count: 8 - digits.count) + digits
        }.joined(separator: ",")
    }
}
