// libFuzzer entry point for the pure parsers in Sources/NumaguardCore.
//
// Built by scripts/fuzz.sh, which compiles this file together with
// Sources/NumaguardCore/*.swift as one module (-module-name NumaguardCore), so no
// import is needed and nothing in Package.swift changes.
//
// Contract checked here (DESIGN.md "Testing"): every parser either returns a value or
// throws ParseError on any input; it never crashes or hangs. Where a parser has a real
// inverse (IDSet.listString, MemoryPolicy.kernelSpelling, a numa_maps line rebuilt from a
// Mapping), the round trip must give the same value. A violated property calls
// `violation`, which traps, so libFuzzer records the input as a crash.

#if canImport(Glibc)
import Glibc
#endif

/// Prints the property and the input to stderr, then traps, so libFuzzer saves the input.
/// (The message goes through fputs with write(2) rather than in fatalError's text: Swift 6.3.1 -O printed an
/// empty string for a conditionally built message in a `-> Never` function.)
@inline(never)
func violation(_ message: String, _ input: some StringProtocol) -> Never {
    let text = String(input)
    let shown = String(text.prefix(300))
    let more = text.count > 300 ? "..." : ""
    let report = "fuzz property violated: " + message + "\n  input: " + String(reflecting: shown) + more + "\n"
    _ = report.withCString { write(2, $0, strlen($0)) }
    fatalError("fuzz property violated")
}

/// A ParseError names a 1-based column inside its own (possibly truncated) input.
func checkError(_ error: ParseError, _ source: some StringProtocol) {
    guard let column = error.column else { return }
    if column < 1 { violation("ParseError column \(column) < 1 (\(error))", source) }
}

// MARK: - cpu/node lists and masks

func fuzzIDList(_ text: Substring) {
    let set: IDSet
    do {
        set = try IDListParser.parse(text)
    } catch {
        checkError(error, text)
        return
    }
    if let largest = set.members.last, largest > IDListParser.maximumMember {
        violation("member \(largest) above maximumMember accepted", text)
    }
    let spelled = set.listString
    do {
        let again = try IDListParser.parse(spelled)
        if again != set { violation("parse(listString) != set (\(spelled))", text) }
    } catch {
        violation("listString \"\(spelled)\" does not parse: \(error)", text)
    }
    if set.count != set.members.count { violation("count != members.count", text) }
    for member in set where !set.contains(member) { violation("iterated \(member) not contained", text) }
}

func fuzzMask(_ text: Substring) {
    let set: IDSet
    do {
        set = try IDListParser.parseMask(text)
    } catch {
        checkError(error, text)
        return
    }
    if let largest = set.members.last, largest > IDListParser.maximumMember {
        violation("mask member \(largest) above maximumMember accepted", text)
    }
    // A mask and its list spelling denote the same set.
    do {
        let again = try IDListParser.parse(set.listString)
        if again != set { violation("mask: parse(listString) != set", text) }
    } catch {
        violation("mask: listString does not parse: \(error)", text)
    }
    // Re-spell as a mask (32-bit groups, most significant first) and parse again.
    let rebuilt = maskString(set)
    do {
        let again = try IDListParser.parseMask(rebuilt)
        if again != set { violation("parseMask(maskString) != set (\(rebuilt))", text) }
    } catch {
        violation("maskString \"\(rebuilt)\" does not parse: \(error)", text)
    }
}

func maskString(_ set: IDSet) -> String {
    let groupCount = Swift.max(1, ((set.members.last ?? 0) >> 5) + 1)
    var groups = [UInt32](repeating: 0, count: groupCount)
    for member in set { groups[member >> 5] |= 1 << UInt32(member & 31) }
    return groups.reversed().map { group -> String in
        let hex = String(group, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }.joined(separator: ",")
}

// MARK: - memory policy

func fuzzPolicy(_ text: Substring) {
    let policy: MemoryPolicy
    do {
        policy = try MemoryPolicy.parse(text)
    } catch {
        checkError(error, text)
        return
    }
    let spelled = policy.kernelSpelling
    do {
        let again = try MemoryPolicy.parse(spelled)
        if again != policy { violation("parse(kernelSpelling) != policy (\(spelled))", text) }
    } catch {
        violation("kernelSpelling \"\(spelled)\" does not parse: \(error)", text)
    }
}

// MARK: - numa_maps

/// A numa_maps line in the kernel's order (show_numa_map) carrying everything Mapping keeps.
func numaMapsLine(_ mapping: Mapping) -> String {
    var line = String(mapping.address, radix: 16) + " " + mapping.policy.kernelSpelling
    if let file = mapping.file { line += " file=" + file }
    if mapping.heap { line += " heap" }
    if mapping.stack { line += " stack" }
    if mapping.huge { line += " huge" }
    func counter(_ name: String, _ value: Int) { line += " \(name)=\(value)" }
    counter("anon", mapping.anon)
    counter("dirty", mapping.dirty)
    if let active = mapping.active { counter("active", active) }
    counter("mapped", mapping.mapped)
    counter("mapmax", mapping.mapmax)
    counter("swapcache", mapping.swapcache)
    counter("writeback", mapping.writeback)
    for entry in mapping.nodePages { counter("N\(entry.node)", entry.pages) }
    if let size = mapping.pageSizeKiB { counter("kernelpagesize_kB", size) }
    return line
}

func fuzzNumaMaps(_ data: UnsafeBufferPointer<UInt8>, _ text: String, validUTF8: Bool) {
    fuzzUsualTokens(data, text)
    let mappings: [Mapping]
    do {
        mappings = try NumaMapsParser.parse(bytes: data)
    } catch {
        checkError(error, text)
        fuzzShapeTallyRefuses(data, error, text)
        // The String entry point must refuse the same input.
        if validUTF8, let accepted = try? NumaMapsParser.parse(text) {
            violation("parse(bytes:) refused but parse(String) accepted \(accepted.count) mappings", text)
        }
        return
    }
    if validUTF8 {
        do {
            let viaString = try NumaMapsParser.parse(text)
            if viaString != mappings { violation("parse(String) != parse(bytes:)", text) }
        } catch {
            violation("parse(bytes:) accepted but parse(String) threw \(error)", text)
        }
    }
    // Split on the byte 0x0A as the parser does ("\r\n" is one Character in Swift).
    let lines = data.split(separator: 0x0A, omittingEmptySubsequences: true).map {
        String(decoding: UnsafeBufferPointer(rebasing: $0), as: UTF8.self)
    }
    if validUTF8 && lines.count != mappings.count {
        violation("\(lines.count) non-empty lines but \(mappings.count) mappings", text)
    }
    for (index, mapping) in mappings.enumerated() {
        if validUTF8 {
            do {
                let single = try NumaMapsParser.parseLine(lines[index])
                if single != mapping { violation("parseLine differs from parse for line \(index + 1)", text) }
            } catch {
                violation("parseLine threw \(error) for a line parse accepted", text)
            }
        }
        let rebuilt = numaMapsLine(mapping)
        do {
            let again = try NumaMapsParser.parseLine(rebuilt)
            if again != mapping { violation("parseLine(rebuilt line) != mapping; rebuilt: \(rebuilt)", text) }
        } catch {
            violation("rebuilt line \"\(rebuilt)\" does not parse: \(error)", text)
        }
        _ = mapping.kind
    }
    fuzzTally(mappings, text)
    fuzzShapeTally(data, mappings, text)
}

/// The scanner's reader of usual tokens and its general loop must read every input alike:
/// the same mappings, or the same error (line, column, reason).
func fuzzUsualTokens(_ data: UnsafeBufferPointer<UInt8>, _ text: String) {
    func read(usual: Bool) -> Result<[Mapping], ParseError> {
        var scanner = NumaMapsScanner(keepsFilePaths: true)
        scanner.readsUsualTokens = usual
        var mappings: [Mapping] = []
        return Result { () throws(ParseError) in
            try scanner.scan(data) { mappings.append($0) }
            try scanner.finish { mappings.append($0) }
            return mappings
        }
    }
    switch (read(usual: true), read(usual: false)) {
    case let (.success(usual), .success(general)):
        if usual != general { violation("the usual-token reader and the general loop give different mappings", text) }
    case let (.failure(usual), .failure(general)):
        if usual.line != general.line || usual.column != general.column || usual.reason != general.reason {
            violation("the usual-token reader refused as \(usual), the general loop as \(general)", text)
        }
    case let (usual, general):
        violation("the usual-token reader gave \(usual), the general loop \(general)", text)
    }
}

/// The tally as `ProcessReader.tally` builds it (lines parsed into summaries, repeats handed to
/// the builder by shape, addresses not converted), the input fed in two pieces cut at `cut`.
/// Each piece is copied into its own allocation, so that a read past a piece's end (the token
/// template loads whole words) is one AddressSanitizer sees, not bytes of the next piece.
func shapeTally(_ data: UnsafeBufferPointer<UInt8>, cut: Int) -> Result<MemoryTally, ParseError> {
    var scanner = NumaMapsScanner(keepsFilePaths: false, keepsAddresses: false, keepsRecentMappings: false)
    var builder = MemoryTallyBuilder()
    let first = Array(data[..<cut]), second = Array(data[cut...])
    return Result { () throws(ParseError) in
        try first.withUnsafeBufferPointer { (piece) throws(ParseError) in try scanner.scan(piece, into: &builder) }
        try second.withUnsafeBufferPointer { (piece) throws(ParseError) in try scanner.scan(piece, into: &builder) }
        try scanner.finish(into: &builder)
        return builder.settled()
    }
}

/// That tally, whole and cut in two, must be the tally of every mapping parse gave.
func fuzzShapeTally(_ data: UnsafeBufferPointer<UInt8>, _ mappings: [Mapping], _ text: String) {
    var every = MemoryTally()
    for mapping in mappings { every.add(mapping) }
    for cut in [data.count, data.count / 3] {
        switch shapeTally(data, cut: cut) {
        case let .failure(error):
            violation("the tally's scan refused what parse accepted: \(error)", text)
        case let .success(tally):
            if tally != every { violation("the tally by shapes differs from adding every mapping (cut at \(cut))", text) }
        }
    }
}

/// What parse refused the tally's scan must refuse too, at the same line and column for the
/// same reason, whole and cut in two.
func fuzzShapeTallyRefuses(_ data: UnsafeBufferPointer<UInt8>, _ refused: ParseError, _ text: String) {
    for cut in [data.count, data.count / 3] {
        switch shapeTally(data, cut: cut) {
        case .success:
            violation("the tally's scan accepted what parse refused (\(refused.reason), cut at \(cut))", text)
        case let .failure(error):
            if error.line != refused.line || error.column != refused.column || error.reason != refused.reason {
                violation("the tally's scan refused otherwise: \(error) where parse said \(refused) (cut at \(cut))", text)
            }
        }
    }
}

/// The input with every line followed by itself with its digits turned (0 to 1 ... 9 to 0):
/// the same tokens but for their digits, which a tally's scanner reads by its token template
/// (learned from one line, it reads the other). Parse and the tally must agree on it as on
/// any input: the same tally, or the same refusal.
func fuzzTurnedDigits(_ data: UnsafeBufferPointer<UInt8>) {
    var turned: [UInt8] = []
    turned.reserveCapacity(2 * data.count + 2)
    for line in data.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(256) {
        turned.append(contentsOf: line)
        turned.append(0x0A)
        for byte in line { turned.append(byte &- 0x30 < 10 ? 0x30 + (byte &- 0x30 + 1) % 10 : byte) }
        turned.append(0x0A)
    }
    turned.withUnsafeBufferPointer { bytes in
        let text = String(decoding: bytes, as: UTF8.self)
        do throws(ParseError) {
            let mappings = try NumaMapsParser.parse(bytes: bytes)
            fuzzShapeTally(bytes, mappings, text)
        } catch {
            fuzzShapeTallyRefuses(bytes, error, text)
        }
    }
}

/// The byte arithmetic on what was parsed (issue 12: a parsed count once trapped in
/// Mapping.bytes): every accepted mapping's bytes fit exactly, and tallies of any number of
/// mappings, their totals and their renderings never trap. Each mapping is added several
/// times so sums that pass Int.max (saturation) are reached from small inputs too.
func fuzzTally(_ mappings: [Mapping], _ text: String) {
    var tally = MemoryTally()
    for mapping in mappings {
        var lineBytes = 0
        for entry in mapping.nodePages {
            if entry.node < 0 || entry.node > KernelArithmetic.maximumNode { violation("node \(entry.node) accepted", text) }
            let size = mapping.pageSizeKiB ?? 0
            let (pageBytes, sizeOverflow) = size.multipliedReportingOverflow(by: 1024)
            let (bytes, overflow) = entry.pages.multipliedReportingOverflow(by: pageBytes)
            if sizeOverflow || overflow { violation("N\(entry.node)=\(entry.pages) x \(size) kB accepted but overflows", text) }
            let (sum, sumOverflow) = lineBytes.addingReportingOverflow(bytes)
            if sumOverflow { violation("a mapping's bytes overflow", text) }
            lineBytes = sum
            if mapping.bytes(on: entry.node) < 0 { violation("negative bytes", text) }
        }
        _ = mapping.totalPages
        for _ in 0..<4 { tally.add(mapping) }
    }
    let everywhere = IDSet(0...3)
    for backing in MemoryTally.Backing.allCases {
        let total = tally.total(backing)
        if total < 0 { violation("negative total", text) }
        if tally.bytes(backing, outside: everywhere) > total { violation("a part above its total", text) }
        _ = Bytes.text(total)
    }
    for node in tally.nodes {
        for category in MemoryTally.Category.allCases {
            let bytes = tally.bytes(category, on: node)
            if bytes < 0 { violation("negative bytes on node \(node)", text) }
            _ = Bytes.text(bytes)
        }
    }
    _ = tally.remoteAnonymousShare(off: IDSet([0]))
    _ = tally.policies.map(\.bytes.saturatingSum)
}

// MARK: - path resolution inside a host root

/// RootedPath over a tree described by the input: the first line is the path to resolve,
/// each later `name=target` line makes `name` (a path from the root) a symlink. Whatever
/// the links, the walk ends (links bounded), and where it is never holds `.`, `..` or an
/// empty name, so nothing it opens is above the root. Resolving the result again, with no
/// links in it, lands on the same place without leaving the root.
func fuzzRootedPath(_ text: String) {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).prefix(64).makeIterator()
    guard let path = lines.next() else { return }
    var links: [String: Substring] = [:]
    while let line = lines.next() {
        guard let equals = line.firstIndex(of: "=") else { continue }
        links[String(line[..<equals])] = line[line.index(after: equals)...]
    }
    var walk = RootedPath(path)
    var steps = 0
    // Each step consumes a component; links add at most maximumTargetBytes / 2 + 1 each.
    let bound = path.utf8.count + RootedPath.maximumLinks * (RootedPath.maximumTargetBytes / 2 + 2) + 2
    while let step = walk.next() {
        steps += 1
        if steps > bound { violation("walk did not end after \(bound) steps", text) }
        guard case let .child(name, _) = step else { continue }
        // A `/` byte, not the Character: `/` followed by a combining mark is one Character.
        if name.isEmpty || name == "." || name == ".." || name.utf8.contains(0x2F) { violation("walked into \"\(name)\"", text) }
        let here = (walk.resolved + [name]).joined(separator: "/")
        if let target = links[here] {
            if case .failure = walk.follow(target) { return }
        } else {
            walk.descended()
        }
    }
    if walk.links > RootedPath.maximumLinks { violation("followed \(walk.links) links", text) }
    for name in walk.resolved where name.isEmpty || name == "." || name == ".." || name.utf8.contains(0x2F) {
        violation("resolved path holds \"\(name)\"", text)
    }
    var again = RootedPath(walk.path)
    while let step = again.next() {
        guard case .child = step else { violation("a resolved path climbs", text) }
        again.descended()
    }
    if again.path != walk.path || again.leftRoot { violation("resolving \"\(walk.path)\" again moved it", text) }
}

// MARK: - the other /proc and /sys parsers (crash-freedom only)

func fuzzOthers(_ text: String) {
    do {
        let stat = try TaskStatParser.parse(text)
        _ = stat.comm.count
    } catch { checkError(error, text) }
    let status = ProcStatus.parse(text)
    _ = status.name
    _ = status.uids
    do { _ = try status.cpusAllowed; _ = try status.memsAllowed } catch { checkError(error, text) }
    // A reader keeping a few keys gets exactly those of the whole table.
    let keys = ["Cpus_allowed_list", "Mems_allowed_list", "VmRSS", "Uid", "Name"]
    if ProcStatus.parse(text, keeping: keys).fields != status.fields.filter({ keys.contains($0.key) }) {
        violation("status keeping \(keys) differs from the whole table", text)
    }
    do {
        // Node totals are summed across nodes: many large real values saturate, never trap.
        let values = try MeminfoParser.parse(text)
        _ = Array(values.values).saturatingSum
        _ = (Array(values.values) + Array(values.values)).saturatingSum
        // The topology's two figures are the table's, and refused where it is refused.
        guard let totals = try? MeminfoParser.totals(text), totals.total == values["MemTotal"], totals.free == values["MemFree"] else {
            violation("meminfo totals differ from the table", text)
        }
    } catch {
        checkError(error, text)
        if (try? MeminfoParser.totals(text)) != nil { violation("meminfo totals read what the table refuses", text) }
    }
    do { _ = try status.kilobytes("VmRSS") } catch { checkError(error, text) }
    do { _ = try CounterFileParser.parse(text) } catch { checkError(error, text) }
    do { _ = try CgroupEntry.parse(text) } catch { checkError(error, text) }
    do { _ = try DistanceParser.parse(text) } catch { checkError(error, text) }
    do { _ = try BracketChoiceParser.parse(text) } catch { checkError(error, text) }
    do { _ = try Lex.number(text, what: "fuzz") } catch { checkError(error, text) }
    fuzzBootArguments(text)
}

/// The command line splitter loses nothing but the separating whitespace and one `--`,
/// and no word outside quotes holds whitespace.
func fuzzBootArguments(_ text: String) {
    let words = BootArguments.words(text)
    for word in words where word.text.isEmpty { violation("empty word", text) }
    let kept = words.map(\.text).joined().filter { !$0.isWhitespace }
    let all = text.filter { !$0.isWhitespace }
    if kept != all && kept.count + 2 != all.count { violation("words lost characters (\(kept.count) of \(all.count))", text) }
    for word in words where !word.text.contains("\"") && word.text.contains(where: \.isWhitespace) {
        violation("unquoted word with whitespace: \(word.text)", text)
    }
}

// MARK: - cgroup files

/// mountinfo, memory.numa_stat and cgroup.procs: a value or a ParseError, never a trap
/// (page products are checked), and what is accepted keeps the invariants the readers rely
/// on: absolute mount paths, a cgroup directory never climbing out of its mount, nodes
/// ascending and at most MAX_NUMNODES, v1 page counts exact multiples of the page size.
func fuzzCgroupFiles(_ text: String) {
    do {
        let mounts = try MountInfoParser.cgroupMounts(text)
        for mount in mounts {
            if !mount.mountPoint.hasPrefix("/") || !mount.root.hasPrefix("/") { violation("a relative mount path accepted", text) }
            for line in text.split(separator: "\n").prefix(4) {
                for word in line.split(separator: " ").prefix(8) where word.hasPrefix("/") {
                    guard let directory = mount.directory(of: String(word)) else { continue }
                    if !directory.hasPrefix(mount.mountPoint) { violation("directory \(directory) outside \(mount.mountPoint)", text) }
                    if directory.split(separator: "/").contains("..") { violation("directory \(directory) climbs", text) }
                }
            }
        }
    } catch { checkError(error, text) }
    for pageKiB in [4, 64] {
        do {
            let stat = try NumaStatParser.parse(text, pageKiB: pageKiB)
            if stat.counters.isEmpty || stat.counters.count > NumaStatParser.maximumCounters { violation("\(stat.counters.count) counters", text) }
            for counter in stat.counters.values {
                var previous = -1
                for (node, value) in counter.nodes {
                    if node <= previous || node > KernelArithmetic.maximumNode { violation("node \(node) after \(previous)", text) }
                    if value < 0 { violation("negative value", text) }
                    if stat.version == .v1 && value % (pageKiB * 1024) != 0 { violation("v1 bytes not whole pages", text) }
                    previous = node
                }
                _ = counter.nodes.map(\.value).saturatingSum
            }
        } catch { checkError(error, text) }
    }
    do {
        let ids = try CgroupProcsParser.parse(text)
        if ids.contains(where: { $0 <= 0 }) { violation("a non-positive process id accepted", text) }
    } catch { checkError(error, text) }
}

// MARK: - HTTP request heads

/// The /metrics request head parser: a complete head is stable under truncation to its own
/// length and under what follows it, its parts rebuild into a head that parses the same, a
/// refusal is final whatever follows, and nothing is waited for past the bound.
func fuzzHTTPHead(_ bytes: [UInt8], _ text: String) {
    let outcome = HTTPRequestHead.parse(bytes)
    switch outcome {
    case .incomplete:
        if bytes.count > HTTPRequestHead.maximumBytes { violation("incomplete past maximumBytes (\(bytes.count))", text) }
    case let .refused(refusal):
        if ![400, 431, 505].contains(refusal.status) { violation("refused with status \(refusal.status)", text) }
        if HTTPRequestHead.parse(bytes + [0x0A, 0x0A]) != outcome { violation("a refusal changed with bytes after it", text) }
    case let .complete(head):
        let length = head.length
        if length < 1 || length > min(bytes.count, HTTPRequestHead.maximumBytes) { violation("head length \(length) out of range", text) }
        if bytes[length - 1] != 0x0A { violation("head does not end in LF", text) }
        if HTTPRequestHead.parse(Array(bytes[..<length])) != outcome { violation("the head alone parses differently", text) }
        if HTTPRequestHead.parse(Array(bytes[..<(length - 1)])) != .incomplete { violation("the head less its last byte is not incomplete", text) }
        for part in [head.method, head.target, head.version] where part.isEmpty || part.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) {
            violation("a request line part with a space, a control or non-ASCII byte: \(String(reflecting: part))", text)
        }
        let rebuilt = Array("\(head.method) \(head.target) \(head.version)\r\n\r\n".utf8)
        let expected = HTTPRequestHead(method: head.method, target: head.target, version: head.version, length: rebuilt.count)
        if HTTPRequestHead.parse(rebuilt) != .complete(expected) { violation("the rebuilt request line does not parse the same", text) }
    }
}

// MARK: - the linear-time regex

/// Any pattern either compiles within the size limit or is refused with an offset inside it;
/// any text is then searched within the linear step bound (so a hostile pattern/text pair can
/// neither crash nor stall the matcher). The input is the pattern, a NUL (or the first
/// newline), then the text.
func fuzzRegex(_ data: UnsafeBufferPointer<UInt8>) {
    let separator = data.firstIndex(of: 0) ?? data.firstIndex(of: 0x0A) ?? data.count
    let pattern = String(decoding: UnsafeBufferPointer(rebasing: data[..<separator]), as: UTF8.self)
    let text = separator < data.count ? String(decoding: UnsafeBufferPointer(rebasing: data[(separator + 1)...]), as: UTF8.self) : ""
    // Compile work is held to its bound whether the pattern is accepted or refused.
    var work = 0
    defer {
        if work > LinearRegex.maximumCompileWork { violation("compile work \(work) above \(LinearRegex.maximumCompileWork)", pattern) }
    }
    let regex: LinearRegex
    do {
        _ = try RegexProgram.compile(RegexParser.parse(pattern), work: &work)
        regex = try LinearRegex(pattern)
    } catch {
        if error.offset < 0 || error.offset > pattern.unicodeScalars.count { violation("RegexError offset \(error.offset) outside the pattern", pattern) }
        return
    }
    if regex.compileWork != work { violation("compile work \(regex.compileWork), then \(work)", pattern) }
    if regex.programSize + regex.classRanges > LinearRegex.maximumProgramSize {
        violation("program of \(regex.programSize) instructions and \(regex.classRanges) class ranges accepted", pattern)
    }
    let scalars = Array(text.unicodeScalars)
    let result = regex.search(scalars)
    if result.steps > regex.stepBound(length: scalars.count) {
        violation("\(result.steps) steps over \(scalars.count) scalars with \(regex.programSize) instructions", pattern)
    }
    if result.comparisons > regex.comparisonBound(length: scalars.count) {
        violation("\(result.comparisons) class comparisons over \(scalars.count) scalars", pattern)
    }
    // An unanchored search finds what a search of a longer text containing it finds.
    if result.matched, !regex.search(Array("\u{1}".unicodeScalars) + scalars + Array("\u{1}".unicodeScalars)).matched,
       !pattern.contains("^"), !pattern.contains("$"), !pattern.contains("\\") {
        violation("matched the text but not the text with a prefix and suffix", pattern)
    }
}

// MARK: - /proc/interrupts and irqbalance's environment

/// /proc/interrupts: a table or a ParseError naming a line; parsed in two pieces it is the same
/// table as parsed whole; every row has at most a count per header column; the header is
/// ascending and at most 8192 columns; a detail is capped; a table's delta against itself is
/// empty, and against any other never traps (the counters wrap modulo 2^32).
func fuzzInterrupts(_ data: UnsafeBufferPointer<UInt8>, _ text: String) {
    var whole = InterruptsScanner()
    let table: InterruptTable
    do {
        try whole.scan(data)
        table = try whole.finish()
    } catch {
        checkError(error, text)
        if error.line == nil { violation("an interrupts error without a line", text) }
        return
    }
    if table.cpus.count > InterruptsParser.maximumColumns { violation("more columns than allowed", text) }
    if zip(table.cpus, table.cpus.dropFirst()).contains(where: { $0 >= $1 }) { violation("header not ascending", text) }
    for row in table.rows {
        if row.counts.isEmpty || row.counts.count > table.cpus.count { violation("a row with \(row.counts.count) counts", text) }
        if row.detail.unicodeScalars.count > InterruptsParser.maximumDetailBytes { violation("an uncapped detail", text) }
    }
    if !table.delta(since: table).isEmpty { violation("a delta against itself", text) }
    let shifted = InterruptTable(cpus: table.cpus.reversed(), rows: table.rows.map {
        InterruptRow(source: $0.source, counts: $0.counts.map { $0 &+ 0x8000_0000 }, detail: "") })
    _ = table.delta(since: shifted)
    // Two readings of one table: nothing fired, nothing reset, no CPU came or went.
    let still = InterruptWindow(before: table, after: table, seconds: 1)
    if !still.deltas.isEmpty || !still.resets.isEmpty || !still.wentOffline.isEmpty || !still.cameOnline.isEmpty {
        violation("a window against itself", text)
    }
    // Against a reading with other columns, counts and handlers: never a trap, and no count in
    // both lists.
    for seconds in [0.0, 1, 3600] {
        let window = InterruptWindow(before: shifted, after: table, seconds: seconds)
        let fired = Set(window.deltas.map { "\($0.source) \($0.cpu)" })
        if window.resets.contains(where: { fired.contains("\($0.source) \($0.cpu)") }) { violation("a count both fired and reset", text) }
    }
    let middle = data.count / 2
    var split = InterruptsScanner()
    do {
        try split.scan(UnsafeBufferPointer(rebasing: data[..<middle]))
        try split.scan(UnsafeBufferPointer(rebasing: data[middle...]))
        if try split.finish() != table { violation("parsed in two pieces, a different table", text) }
    } catch {
        violation("parsed whole but refused in two pieces: \(error)", text)
    }
}

/// irqbalance's environ and command line, and isolcpus=: never a trap; a banned set parsed
/// only from a non-empty value; isolcpus' list given exactly when no problem is reported, and
/// flags in force exactly then (domain when none is written).
func fuzzIRQBalanceEnviron(_ data: UnsafeBufferPointer<UInt8>, _ text: String) {
    let environment = IRQBalanceEnvironment.parse(data)
    if let banned = environment.banned, banned.value.isEmpty { violation("an empty banned value counted as set", text) }
    let arguments = IRQBalanceArguments.parse(data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
    if arguments.bannedIRQs.contains(where: { $0 > 1_048_575 }) { violation("an IRQ beyond the limit", text) }
    for word in text.split(whereSeparator: { $0 == " " || $0 == "\0" }).prefix(16) {
        let isolcpus = IsolcpusArgument.parse("isolcpus=" + word)
        if (isolcpus.cpus == nil) == (isolcpus.problem == nil) { violation("isolcpus: a list and a problem together, or neither", text) }
        if isolcpus.flags.isEmpty != (isolcpus.cpus == nil) { violation("isolcpus flags in force without a list, or a list without a flag", text) }
    }
    if let cpus = environment.banned?.cpus, (try? IDListParser.parseMask(cpus.kernelMask)) != cpus {
        violation("kernelMask does not read back", text)
    }
}

// MARK: - device references (issue 15)

/// Both grammars of a device reference: an accepted one respells as a text the same grammar
/// parses to the same value, and a name that becomes a path component is one.
func fuzzDeviceSpecifier(_ text: String) {
    for policy in [false, true] {
        let parsed = policy ? DeviceSpecifier.parse(policy: text) : DeviceSpecifier.parse(numactl: text)
        guard case let .success(specifier) = parsed else { continue }
        let again = policy ? DeviceSpecifier.parse(policy: specifier.description) : DeviceSpecifier.parse(numactl: specifier.description)
        guard case .success(specifier) = again else { violation("\(specifier) does not reparse to itself", text) }
        switch specifier {
        case let .netdev(name), let .block(name):
            if !DeviceNames.isSingleComponent(name) { violation("a device name that is not one path component", text) }
            if !policy, name.utf8.contains(0x2E) { violation("numactl's grammar took a dot", text) }
        case .file, .ip:
            if policy { violation("the policy grammar took file: or ip:", text) }
        case .pci: break
        }
    }
}

/// A PCI address parses only to a canonical sysfs name, which parses back to it.
func fuzzPCIAddress(_ text: String) {
    guard case let .success(address) = PCIAddress.parse(numactl: text) else { return }
    if PCIAddress(sysfsName: address.description) != address { violation("\(address) is not its sysfs name", text) }
    guard case .success(address) = PCIAddress.parse(numactl: address.description) else { violation("\(address) does not reparse", text) }
    if text.utf8.contains(0x78) || text.utf8.contains(0x58) { violation("an address with an x accepted", text) }
}

/// numactl's class-link rule: found exactly when the ERE matches (LinearRegex, a separate
/// engine, as the oracle), and what it finds is a slice of the input holding no `..`.
private let numactlClassLinkPattern = try? LinearRegex("/devices/pci[0-9a-fA-F:/]+\\.[0-9]+/")

func fuzzClassLink(_ text: String) {
    let found = NumactlClassLink.firstDevice(inLink: text)
    if let pattern = numactlClassLinkPattern, text.unicodeScalars.count <= 512, pattern.matches(text) != (found != nil) {
        violation("the scan and the ERE disagree (scan: \(found.map(String.init) ?? "nil"))", text)
    }
    guard let found else { return }
    if !found.hasPrefix("devices/pci") { violation("a match not starting at devices/pci", text) }
    if found.split(separator: "/").contains("..") { violation("a match with a .. component", text) }
    // Byte-wise: a combining mark after the slash would join it into another Character.
    let haystack = Array(text.utf8)
    let needle = Array(("/" + found + "/").utf8)
    let present = haystack.count >= needle.count
        && (0...(haystack.count - needle.count)).contains { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
    if !present { violation("a match that is not a slice of the input ending before a slash", text) }
}

// MARK: - entry point

/// scripts/fuzz.sh --target interrupts|irqbalance-environ: every execution to one property.
let fuzzOnly: String? = getenv("NUMAGUARD_FUZZ_ONLY").map { String(cString: $0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParsers(_ pointer: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = UnsafeBufferPointer(start: size == 0 ? nil : pointer, count: size)
    let text = String(decoding: data, as: UTF8.self)
    switch fuzzOnly {
    case "interrupts":
        fuzzInterrupts(data, text)
        return 0
    case "irqbalance-environ":
        fuzzIRQBalanceEnviron(data, text)
        return 0
    default: break
    }
    let validUTF8 = Array(text.utf8).elementsEqual(data)

    fuzzNumaMaps(data, text, validUTF8: validUTF8)
    fuzzTurnedDigits(data)
    // Whole input, then each line: sysfs files hold one value, but a line is how
    // numa_maps and status embed policies and lists.
    let whole = Substring(text)
    fuzzIDList(whole)
    fuzzMask(whole)
    fuzzPolicy(whole)
    for line in text.split(separator: "\n").prefix(64) where line.utf8.count != text.utf8.count {
        fuzzIDList(line)
        fuzzMask(line)
        fuzzPolicy(line)
        // The policy token of a numa_maps line.
        for word in line.split(separator: " ").dropFirst().prefix(1) { fuzzPolicy(word) }
    }
    fuzzOthers(text)
    fuzzCgroupFiles(text)
    fuzzRootedPath(text)
    fuzzHTTPHead(Array(data), text)
    fuzzRegex(data)
    fuzzAccounts(data, text)
    fuzzNSSwitch(text)
    fuzzLaunchArguments(data, text)
    fuzzInterrupts(data, text)
    fuzzIRQBalanceEnviron(data, text)
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(16) {
        let line = String(line)
        fuzzDeviceSpecifier(line)
        fuzzPCIAddress(line)
        fuzzClassLink(line)
        for prefix in ["netdev:", "pci:", "block:", "file:", "ip:"] { fuzzDeviceSpecifier(prefix + line) }
        fuzzPCIAddress(String(line.prefix(24)))
    }
    return 0
}
