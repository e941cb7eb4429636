import ArgumentParser
import NumaguardCore
import NumaguardPolicy

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, describe or create policy files.",
        subcommands: [Check.self, Schema.self]
    )

    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the policy language's JSON Schema (also in policies/numaguard-policy.schema.json).")

        func run() throws {
            FileHandleWriter.write(1, PolicySchema.json)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a policy file: every mistake with file:line:col; exit 0 valid, 78 invalid.")

        @Argument(help: ArgumentHelp("The policy file.", valueName: "file")) var file: String

        func run() throws {
            let loaded = try PolicyFile.load(file)
            let policy = loaded.policy
            FileHandleWriter.write(1, "\(file): valid (sha256:\(loaded.digest)); \(policy.workloads.count) workload\(policy.workloads.count == 1 ? "" : "s"), "
                + "\(policy.reservations.count) reservation\(policy.reservations.count == 1 ? "" : "s"), \(policy.waivers.count) waiver\(policy.waivers.count == 1 ? "" : "s")\n")
        }
    }
}
