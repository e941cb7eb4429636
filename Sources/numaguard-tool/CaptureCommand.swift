#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import NumaguardCore
import NumaguardHost
import NumaguardSnapshot

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Write the /proc and /sys files numaguard reads to a tar, to audit, inspect or snapshot elsewhere.",
        discussion: """
            Unpack the tar anywhere (tar -xf FILE.tar -C DIR) and give DIR as --host-root. Holds only what \
            numaguard's readers read; never process environments or memory contents. The archive is written \
            mode 0600 (command lines can carry secrets). Files that could not be read are listed in \
            numaguard-capture.json inside it. Exit codes: 0 complete; 3 some files could not be read; \
            64 usage; 71 the host could not be read; 73 --out could not be written. --out - writes the tar to \
            stdout; a FIFO or device (/dev/null) is written through, never replaced.
            """
    )

    @OptionGroup var host: HostOptions
    @Option(help: ArgumentHelp("The tar file to write (atomically; - for stdout).", valueName: "file.tar")) var out: String

    func run() throws {
        let now = SystemClock.now()
        let result: Capture.Result
        do {
            result = try Capture.run(root: host.root, toolVersion: Numaguard.version, takenAt: now.iso, epoch: now.epoch,
                                     excludingPID: host.root.isLive ? Int(getpid()) : nil)
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
        do {
            try OutputFile.write(result.archive, to: out, mode: 0o600)
        } catch {
            throw Terminal.fail(error.description, ExitStatus(error))
        }
        let manifest = result.manifest
        let skipped = manifest.skipped
        Terminal.printError("numaguard: captured \(manifest.files) files, \(manifest.symlinks) symlinks into \(out)"
                            + (skipped.isEmpty ? "" : "; \(skipped.count) could not be read (listed in \(Capture.manifestName))"))
        // Paths under /proc and /sys hold names others chose (a cgroup's, say): controls escaped
        // (an error quoting a file escaped that part already).
        for item in skipped.prefix(20) {
            Terminal.printError("numaguard: not captured: \(DiffText.controlsShown(item.path)): \(DiffText.controlsShown(item.error))")
        }
        if skipped.count > 20 { Terminal.printError("numaguard: ... and \(skipped.count - 20) more") }
        if !skipped.isEmpty { throw ExitCode(ExitStatus.incomplete.rawValue) }
    }
}
