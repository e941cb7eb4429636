import ArgumentParser
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import NumaguardView

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, describe or create policy files.",
        subcommands: [Check.self, Schema.self, Init.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a policy describing the host and the named processes as they are placed now.",
            discussion: "It declares the kernel knobs, the topology, the CPU isolation the kernel was booted with, and the NICs, NVMe "
                + "controllers and GPUs by PCI address on their node (a device reporting numa_node -1 as a comment). The output is "
                + "deterministic, and auditing the same host against it passes (exit 0).")

        @OptionGroup var host: HostOptions
        @Option(name: .customLong("workload"), help: ArgumentHelp(
            "A workload to declare, as NAME=COMM (its processes' comm). Repeatable.", valueName: "name=comm"))
        var workloads: [String] = []
        @Option(help: ArgumentHelp("Write the policy here (atomically) instead of to stdout.", valueName: "file"))
        var out: String?

        func validate() throws {
            for spec in workloads where !spec.contains("=") || spec.hasPrefix("=") || spec.hasSuffix("=") {
                throw ValidationError("--workload \"\(spec)\" must be NAME=COMM")
            }
        }

        func run() throws {
            let request = PolicyInit.Request(workloads: workloads.map { spec in
                let parts = spec.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), String(parts[1]))
            })
            let text: String
            do {
                text = try PolicyInit.generate(root: host.root, request: request)
            } catch {
                throw Terminal.fail(error.description, ExitStatus(error))
            }
            guard let out else { return FileHandleWriter.write(1, text) }
            do {
                try OutputFile.write(text, to: out)
            } catch {
                throw Terminal.fail(error.description, ExitStatus(error))
            }
        }
    }

    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the policy language's JSON Schema (also in policies/numaguard-policy.schema.json).")

        func run() throws {
            FileHandleWriter.write(1, PolicySchema.json)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a policy file: every mistake with file:line:col; exit 0 valid, 78 invalid, 66 unreadable.")

        @Argument(help: ArgumentHelp("The policy file.", valueName: "file")) var file: String

        /// The same code as the front's and FastPath's (QuickCommand): `policy check -- FILE`
        /// and the like reach it through ArgumentParser.
        func run() throws {
            let status = PolicyCheck.run(file)
            if status != ExitStatus.success.rawValue { throw ExitCode(status) }
        }
    }
}
