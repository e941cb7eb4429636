// The parsers `numaguard run` feeds with what a user or the host hands it: /etc/passwd and
// /etc/group (AccountFiles), getent's answers, /etc/nsswitch.conf (NSSwitch), and run's own
// command line (LaunchArguments and NumactlSet, pure files of NumaguardLaunch that
// scripts/fuzz.sh compiles into this module with NumaguardCore). Called from the entry point
// in ParsersFuzz.swift with every input. Contract: no crash, no hang, and the properties below.

// MARK: - passwd, group, getent

func fuzzAccounts(_ data: UnsafeBufferPointer<UInt8>, _ text: String) {
    let bytes = Array(data)
    // Keys drawn from the input itself, so matches happen: the first field of each of the
    // first lines, and the numbers in the third.
    var keys: [AccountKey] = [.name("root"), .uid(0)]
    for line in bytes.split(separator: 0x0A).prefix(4) {
        let fields = line.split(separator: 0x3A, omittingEmptySubsequences: false)
        if let name = fields.first.flatMap({ String(validating: $0, as: UTF8.self) }), let key = AccountKey(name) { keys.append(key) }
        if fields.count > 2, let uid = String(validating: fields[2], as: UTF8.self).flatMap(AccountKey.init) { keys.append(uid) }
    }
    for key in keys {
        if case let .name(name) = key {
            let bad = name.utf8.first == 0x2D || name.utf8.contains { $0 == 0x3A || $0 == 0x0A || $0 == 0 } || name.utf8.count > AccountFiles.maximumNameLength
            if bad { violation("AccountKey accepted the name \(name.debugDescription)", text) }
        }
        let match = AccountFiles.passwd(key, in: bytes)
        if let entry = match.entry {
            if entry.uid == UInt32.max || entry.gid == UInt32.max { violation("(uid_t)-1 accepted as an id", text) }
            switch key {
            case let .name(name): if entry.name != name { violation("asked \(name), got \(entry.name)", text) }
            case let .uid(uid): if entry.uid != uid { violation("asked uid \(uid), got \(entry.uid)", text) }
            }
            // The entry spelled as a passwd line parses back to itself, by name and by uid.
            let line = Array("\(entry.name):x:\(entry.uid):\(entry.gid)::/:/bin/sh\n".utf8)
            if AccountFiles.passwd(.name(entry.name), in: line).entry != entry { violation("passwd line round trip by name", text) }
            if AccountFiles.passwd(.uid(entry.uid), in: line).entry != entry { violation("passwd line round trip by uid", text) }
            if AccountFiles.getentPasswd(key, output: line) != entry { violation("getent passwd round trip", text) }
        }
        _ = AccountFiles.getentPasswd(key, output: bytes)
        guard case let .name(name) = key else { continue }
        do {
            let found = try AccountFiles.groups(of: name, primary: 4242, in: bytes)
            checkGroups(found.groups, primary: 4242, text)
        } catch {}
        do {
            checkGroups(try AccountFiles.initgroups(of: name, primary: 4242, getentOutput: bytes), primary: 4242, text)
        } catch {}
        // getent's own spelling of a result parses back to it.
        let groups: [UInt32] = [4242, 0, 7, UInt32.max - 1]
        let padded = name + String(repeating: " ", count: Swift.max(0, 21 - name.utf8.count))
        let spelled = Array((padded + groups.dropFirst().map { " \($0)" }.joined() + "\n").utf8)
        if (try? AccountFiles.initgroups(of: name, primary: 4242, getentOutput: spelled)) != groups {
            violation("initgroups round trip for \(name.debugDescription)", text)
        }
    }
}

func checkGroups(_ groups: [UInt32], primary: UInt32, _ text: String) {
    if groups.first != primary { violation("groups do not start with the primary group", text) }
    if Set(groups).count != groups.count { violation("a group listed twice", text) }
    if groups.count > AccountFiles.maximumGroups { violation("more than NGROUPS_MAX groups", text) }
    if groups.contains(UInt32.max) { violation("(gid_t)-1 accepted as a group", text) }
}

// MARK: - nsswitch.conf

func fuzzNSSwitch(_ text: String) {
    for database in ["passwd", "group"] {
        let line: NSSwitchLine
        do {
            line = try NSSwitch.line(for: database, in: text)
        } catch {
            if error.line < 1 { violation("NSSwitch error on line \(error.line)", text) }
            continue
        }
        if line.sources.isEmpty || line.sources.count > NSSwitch.maximumSources { violation("\(line.sources.count) sources", text) }
        if line.sources.contains(where: \.isEmpty) { violation("an empty source name", text) }
        if line.othersFirst && line.sources.first.map(NSSwitchLine.isLocal) == true { violation("othersFirst with files first", text) }
        // The line as numaguard prints it is a line that parses to the same sources.
        if !line.text.contains("(default") {
            do {
                let again = try NSSwitch.line(for: database, in: line.text)
                if again.sources != line.sources || again.text != line.text { violation("nsswitch round trip: \(line.text)", text) }
            } catch {
                violation("nsswitch text \(line.text.debugDescription) does not parse: \(error)", text)
            }
        }
    }
}

// MARK: - run's command line

/// argv as the kernel would hand it: NUL-separated byte strings (an argv element holds no NUL).
func fuzzLaunchArguments(_ data: UnsafeBufferPointer<UInt8>, _ text: String) {
    let arguments = data.split(separator: 0, omittingEmptySubsequences: false).prefix(64).map { RawArgument(bytes: Array($0)) }
    if let request = try? LaunchArguments.parse(arguments) {
        // The program and its arguments are the tail of argv, byte for byte.
        let tail = Array(arguments.suffix(request.command.count))
        if tail != request.command { violation("the command is not argv's tail byte for byte", text) }
        if request.command.isEmpty && !request.dryRun && !request.help && !request.show { violation("a launch with no program", text) }
        for set in [request.cpuNodes, request.physicalCPUs, request.memory?.nodes].compactMap({ $0 }) { checkNumactlSet(set, text) }
    }
    for argument in arguments.prefix(4) {
        let value = argument.text
        for kind in [NumactlSet.Kind.node, .cpu] {
            if let set = try? NumactlSet.parse(value, kind: kind, option: "-m") { checkNumactlSet(set, text) }
        }
    }
}

/// An accepted node or CPU list has no member past the bound and no number with a leading zero.
func checkNumactlSet(_ set: NumactlSet, _ text: String) {
    if let largest = set.ids.members.last, largest > IDListParser.maximumMember { violation("member \(largest) accepted", text) }
    var body = Substring(set.text)
    if body.hasPrefix("!") { body = body.dropFirst() }
    if body.hasPrefix("+") { body = body.dropFirst() }
    // A device runs to the end of the argument and is not a number: its text is the tail.
    if let device = set.device {
        if set.relative { violation("+ accepted with a device", text) }
        if set.kind == .cpu { violation("a CPU list accepted a device", text) }
        guard let start = body.firstIndex(where: { $0.isLetter }) else { violation("a device without its text", text) }
        if case .pci = device {} else if String(body[start...]) != device.description {
            violation("the device \(device) is not the argument's tail", text)
        }
        body = body[..<start]
    }
    for number in body.split(whereSeparator: { $0 == "," || $0 == "-" }) where number.count > 1 && number.hasPrefix("0") {
        violation("\(set.text.debugDescription) accepted with a leading zero", text)
    }
}
