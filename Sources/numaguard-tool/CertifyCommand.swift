#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardOutput
import NumaguardPolicy
import NumaguardReport

struct CertifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certify",
        abstract: "Pre-market gate: an audit plus a sampling window, written as a report to file.",
        discussion: """
            Reads the NUMA counters, waits --window, audits, reads them again: allocations that \
            missed a protected node and page migrations during the window are findings too; with \
            host.isolation or a CPU reservation, so are device interrupts on isolated or reserved CPUs \
            (from /proc/interrupts) and protected threads' involuntary context switches there. Writes \
            certificate.txt, certificate.json, certificate.junit.xml and certificate.sha256 (the JSON's \
            digest) into --out. Exit codes are the gate: 0 certified, 1 violations, 3 incomplete, \
            64 usage, 66 the policy or --launch-records missing or unreadable, 71 host unreadable, 73 --out or a \
            report file could not be written, 78 invalid policy.
            """
    )

    @OptionGroup var host: HostOptions
    @OptionGroup var judgement: JudgementOptions
    @Option(help: ArgumentHelp("Directory for the report files (created if missing).", valueName: "dir")) var out: String
    @Option(help: ArgumentHelp("Sampling window between the two counter readings, e.g. 10s.", valueName: "duration"))
    var window: String = "10s"

    func validate() throws {
        guard case let .success(seconds) = Quantity.seconds(window), seconds <= 3600 else {
            throw ValidationError("--window \"\(window)\" must be a duration up to 1h, e.g. 10s")
        }
    }

    func run() throws {
        let loaded = try PolicyFile.load(judgement.policy)
        let day = try SystemClock.day(judgement.today)
        guard case let .success(seconds) = Quantity.seconds(window) else { throw ValidationError("--window") }
        let root = host.root
        let records = try judgement.records()
        let report: AuditReport
        do {
            // The window's nodes include those the protected workloads' device references name.
            let placed = DeviceResolution.resolve(loaded.policy, HostStateReader.deviceNodes(loaded.policy, root: root)).policy
            // The audit's host state tells the window which IRQs are declared devices' and which
            // threads are the protected workloads'.
            report = try CertificationWindow(root: root, seconds: seconds).certify(policy: placed, today: day) {
                () throws(Auditor.Failure) in
                try Auditor.audit(root: root, policy: loaded, today: day, failOn: judgement.failOn, launchRecords: records)
            }
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
        try write(Certificate(toolVersion: Numaguard.version, certifiedAt: SystemClock.now().iso, windowSeconds: seconds, audit: report))
        if report.status != .success { throw ExitCode(report.status.rawValue) }
    }

    func write(_ certificate: Certificate) throws {
        do {
            // Written relative to the directory checked, never by path again: its path could be
            // swapped for someone else's directory between the check and the writes.
            let directory = try OutputFile.makeDirectory(out)
            defer { _ = close(directory) }
            func put(_ name: String, _ contents: String) throws(OutputError) {
                try OutputFile.write(contents, in: directory, name: name, path: "\(out)/\(name)")
            }
            let json = try JSONDocument.render(kind: .certificate, certificate)
            let digest = SHA256.hex(json)
            let status = certificate.audit.status == .success ? "CERTIFIED" : "NOT CERTIFIED"
            let header = "numaguard \(certificate.toolVersion) certify: \(status) (exit \(certificate.audit.status.rawValue))\n"
                + "window \(certificate.windowSeconds)s; report sha256:\(digest) (certificate.json)\n"
            try put("certificate.json", json)
            try put("certificate.sha256", "\(digest)  certificate.json\n")
            try put("certificate.txt", header + AuditText.render(certificate.audit))
            try put("certificate.junit.xml", JUnitRenderer.render(certificate.audit, timestamp: certificate.certifiedAt))
            FileHandleWriter.write(1, header + AuditText.render(certificate.audit, color: Terminal.wantsColor(1)))
        } catch let error as OutputError {
            throw Terminal.fail("cannot write the report to \(out): \(error)", ExitStatus(error))
        }
    }
}
