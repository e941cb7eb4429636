// libFuzzer entry point for the policy loader (Sources/NumaguardPolicy).
//
// Built by scripts/fuzz.sh (target "policy"), which compiles NumaguardCore, NumaguardPolicy
// (Core and the system's libyaml through Sources/CYAML only: the loader takes bytes, the file
// is read by NumaguardHost's InputFile), NumaguardHost, NumaguardReport, NumaguardSnapshot,
// NumaguardAudit and NumaguardEnforce as separate modules (the last five for the journal and
// snapshot readers, ReadersFuzz.swift), all with -sanitize=fuzzer,address, and links this file
// against them and libyaml. Nothing in Package.swift changes.
//
// Contract (issue 3: "a fuzz target for the policy loader"): any bytes make
// `PolicyLoader.load(_:file:)` either return a Policy or throw PolicyErrors; it never crashes
// or hangs, and bytes that are not UTF-8 never load. Beyond that, every diagnostic must be usable: a location inside (or just past)
// the text, a message, and a rendering that names it. A policy that loads must satisfy what
// the loader promises (version 1, unique workload names, reservations naming workloads).

import NumaguardCore
import NumaguardPolicy

#if canImport(Glibc)
import Glibc
#endif

@inline(never)
func violation(_ message: String, _ input: String) -> Never {
    let shown = String(input.prefix(300))
    let more = input.count > 300 ? "..." : ""
    let report = "fuzz property violated: " + message + "\n  input: " + String(reflecting: shown) + more + "\n"
    _ = report.withCString { write(2, $0, strlen($0)) }
    fatalError("fuzz property violated")
}

func check(_ bytes: [UInt8], _ text: String) {
    let policy: Policy
    do {
        // The commands' entry: bytes and a name (InputFile.read supplies the bytes there).
        let loaded = try PolicyLoader.load(bytes, file: "fuzz.yaml")
        if loaded.digest != SHA256.hex(bytes) { violation("digest is not the SHA-256 of the bytes", text) }
        policy = loaded.policy
    } catch {
        if error.diagnostics.isEmpty { violation("PolicyErrors without a diagnostic", text) }
        if error.diagnostics.count > PolicyLimits.maximumDiagnostics + 1 { violation("\(error.diagnostics.count) diagnostics kept", text) }
        // libyaml counts lines by \n, \r, \r\n and Unicode breaks; allow for all of them.
        let lineLimit = text.unicodeScalars.count + 2
        for diagnostic in error.diagnostics {
            if diagnostic.line < 1 || diagnostic.line > lineLimit || diagnostic.column < 1 {
                violation("diagnostic outside the text: \(diagnostic.line):\(diagnostic.column)", text)
            }
            if diagnostic.message.isEmpty { violation("diagnostic without a message", text) }
            if diagnostic.file != "fuzz.yaml" { violation("diagnostic names \(diagnostic.file)", text) }
            let rendered = diagnostic.description
            if !rendered.hasPrefix("fuzz.yaml:\(diagnostic.line):\(diagnostic.column): error: ") {
                violation("rendering does not start with the location: \(rendered.prefix(80))", text)
            }
        }
        _ = error.description
        return
    }
    if String(validating: bytes, as: UTF8.self) == nil { violation("bytes that are not UTF-8 loaded", text) }
    if policy.version != 1 { violation("loaded version \(policy.version)", text) }
    let names = policy.workloads.map(\.name)
    if Set(names).count != names.count { violation("duplicate workload names loaded: \(names)", text) }
    for reservation in policy.reservations {
        for name in reservation.workloads where !names.contains(name) {
            violation("reservation names undeclared workload \(name)", text)
        }
    }
    for workload in policy.workloads {
        if workload.match.isEmpty { violation("workload \(workload.name) matches everything", text) }
        if let comm = workload.match.comm, comm.utf8.count > 15 { violation("comm longer than 15 bytes loaded", text) }
        if let running = workload.running {
            if running.minimum < 0 { violation("negative running count", text) }
            if let maximum = running.maximum, maximum < running.minimum { violation("running max below min loaded", text) }
        }
        if let memory = workload.memory {
            if let share = memory.maxRemote, !(0...1).contains(share) { violation("max_remote \(share) outside 0...1", text) }
            if memory.mode.isInterleave && !memory.allowInterleave { violation("interleave loaded without allow_interleave", text) }
        }
    }
    for rule in policy.host.headroom {
        switch rule.minFree {
        case let .bytes(bytes): if bytes < 0 { violation("negative headroom", text) }
        case let .percent(share): if !(0...100).contains(share) { violation("headroom share \(share)", text) }
        case let .protectedMultiple(factor): if !(factor > 0 && factor.isFinite) { violation("headroom multiple \(factor)", text) }
        }
    }
    if let watch = policy.watch {
        let bounds = DurationLimits.watchInterval
        if !(watch.intervalSeconds >= bounds.minimum && watch.intervalSeconds <= bounds.maximum) {
            violation("watch interval \(watch.intervalSeconds)", text)
        }
        if let period = watch.numaMapsPeriodSeconds, period < DurationLimits.numaMapsPeriod.minimum { violation("numa_maps_period \(period)", text) }
        if let dwell = watch.dwellSeconds, dwell < DurationLimits.dwell.minimum { violation("dwell \(dwell)", text) }
    }
    if policy.workloads.count > PolicyLimits.maximumListItems { violation("\(policy.workloads.count) workloads loaded", text) }
    for workload in policy.workloads {
        if let pattern = workload.match.cmdline, (try? LinearRegex(pattern)) == nil { violation("cmdline pattern loaded that does not compile", text) }
    }
    // devices: unique names of the ID-safe shape, no empty match, a coherent count; references
    // only of the kinds a policy may hold (file: and ip: are run-only).
    let devices = policy.devices.map(\.name)
    if Set(devices).count != devices.count { violation("duplicate device names loaded: \(devices)", text) }
    for rule in policy.devices {
        let safe = (1...64).contains(rule.name.utf8.count) && rule.name.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F
        }
        if !safe { violation("device name \(rule.name) loaded", text) }
        if rule.match.isEmpty { violation("device \(rule.name) matches everything", text) }
        if let interface = rule.match.interface, interface.utf8.count > 15 || interface.contains("/") { violation("interface \(interface) loaded", text) }
        if let maximum = rule.count.maximum, maximum < rule.count.minimum { violation("device count max below min loaded", text) }
    }
    for workload in policy.workloads {
        for device in workload.deviceReferences {
            switch device {
            case .netdev(let name): if name.isEmpty || name.utf8.count > 15 || name.contains("/") { violation("netdev \(name) loaded", text) }
            case .block(let name): if name.isEmpty || name.contains("/") { violation("block \(name) loaded", text) }
            case .pci: break
            case .file, .ip: violation("run-only reference \(device) loaded", text)
            }
        }
    }
    // Two spellings of one node cannot both have been kept: the mapping has one entry per node.
    if let topology = policy.host.topology, topology.cpus.keys.contains(where: { $0 < 0 }) { violation("negative node key", text) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    check(bytes, text)
    // The journal and snapshot readers (Fuzz/ReadersFuzz.swift) take the same input.
    checkJournal(bytes, text)
    checkSnapshot(bytes, text)
    // And attribute's telemetry and series readers (Fuzz/TelemetryFuzz.swift).
    checkTelemetry(bytes, text)
    return 0
}
