import NumaguardCore
import XCTest

/// isolcpus= flags as the kernel reads them, and irqbalance's banned-CPU environment and
/// command line as irqbalance reads them.
final class IsolationArgumentsTests: XCTestCase {
    func testIsolcpusFlags() {
        let plain = IsolcpusArgument.from(commandLine: "ro quiet isolcpus=2-15 nohz_full=2-15")
        XCTAssertEqual(plain?.flags, [.domain], "no flag means domain")
        XCTAssertEqual(plain?.cpus, IDSet(2...15))
        let managed = IsolcpusArgument.from(commandLine: "isolcpus=managed_irq,3")
        XCTAssertEqual(managed?.flags, [.managedIRQ], "managed_irq alone: no domain, so isolated stays empty")
        XCTAssertEqual(managed?.cpus, IDSet([3]))
        let all = IsolcpusArgument.parse("isolcpus=nohz,domain,managed_irq,2-3,8")
        XCTAssertEqual(all.flags, [.nohz, .domain, .managedIRQ])
        XCTAssertEqual(all.cpus, IDSet([2, 3, 8]))
        XCTAssertNil(all.problem)
        let unknown = IsolcpusArgument.parse("isolcpus=fast,2")
        XCTAssertNil(unknown.cpus)
        XCTAssertEqual(unknown.flags, [], "the kernel ignores the whole parameter: no flag is in force")
        XCTAssertEqual(IsolcpusArgument.parse("isolcpus=managed_irq,2-x").flags, [])
        XCTAssertTrue(unknown.problem?.contains("unknown isolcpus flag \"fast\"") == true)
        XCTAssertNil(IsolcpusArgument.parse("isolcpus=managed_irq").cpus, "a flag without its comma is not a flag")
        XCTAssertNil(IsolcpusArgument.parse("isolcpus=2-x").cpus)
        XCTAssertEqual(IsolcpusArgument.from(commandLine: "isolcpus=1 isolcpus=managed_irq,2")?.cpus, IDSet([2]), "the last one decides")
        XCTAssertNil(IsolcpusArgument.from(commandLine: "ro -- isolcpus=2"), "after -- it is init's")
        XCTAssertNil(IsolcpusArgument.from(commandLine: "ro quiet"))
    }

    func testIRQBalanceEnvironment() {
        func environ(_ entries: String...) -> [UInt8] { Array(entries.joined(separator: "\0").utf8) + [0] }
        XCTAssertNil(IRQBalanceEnvironment.parse(environ("PATH=/bin", "HOME=/")).banned, "detection stays on")
        XCTAssertNil(IRQBalanceEnvironment.parse(environ("IRQBALANCE_BANNED_CPULIST=")).banned, "empty is unset")
        let list = IRQBalanceEnvironment.parse(environ("X=1", "IRQBALANCE_BANNED_CPULIST=2-7", "IRQBALANCE_BANNED_CPULIST=9"))
        XCTAssertEqual(list.banned, .list("2-7", IDSet(2...7)), "the first of a repeated name, as getenv")
        let mask = IRQBalanceEnvironment.parse(environ("IRQBALANCE_BANNED_CPULIST=1", "IRQBALANCE_BANNED_CPUS=0000ff00"))
        XCTAssertEqual(mask.banned?.variable, "IRQBALANCE_BANNED_CPUS", "the mask is looked at first")
        XCTAssertEqual(mask.banned?.cpus, IDSet(8...15))
        let broken = IRQBalanceEnvironment.parse(environ("IRQBALANCE_BANNED_CPULIST=two"))
        XCTAssertEqual(broken.banned, .list("two", nil))
        XCTAssertNil(IRQBalanceEnvironment.parse([0, 0, 0x3D, 0]).banned)
        XCTAssertNil(IRQBalanceEnvironment.parse(Array("IRQBALANCE_BANNED_CPULIS=1".utf8)).banned)
    }

    func testIRQBalanceCommandLine() {
        let parsed = IRQBalanceArguments.parse(["/usr/sbin/irqbalance", "--foreground", "-i", "45", "--banirq=51", "-i60",
                                                "--banmod", "nvme", "-mmlx5_core", "--policyscript=/etc/ib.sh", "-o"])
        XCTAssertEqual(parsed.bannedIRQs, [45, 51, 60])
        XCTAssertEqual(parsed.bannedModules, ["nvme", "mlx5_core"])
        XCTAssertEqual(parsed.policyScript, "/etc/ib.sh")
        XCTAssertTrue(parsed.oneshot)
        let grouped = IRQBalanceArguments.parse(["irqbalance", "-foi", "7", "-t", "-i", "--", "-i", "9"])
        XCTAssertTrue(grouped.oneshot)
        XCTAssertEqual(grouped.bannedIRQs, [7], "-t takes -i as its value; after -- nothing is an option")
        XCTAssertEqual(IRQBalanceArguments.parse(["irqbalance", "-l", "/x", "--oneshot"]).policyScript, "/x")
        XCTAssertEqual(IRQBalanceArguments.parse(["irqbalance", "--banirq"]).bannedIRQs, [], "a value missing at the end")
        XCTAssertEqual(IRQBalanceArguments.parse(["irqbalance", "-i", "x", "-i", "99999999"]).bannedIRQs, [])
    }

    func testKernelMaskSpelling() {
        XCTAssertEqual(IDSet(0...31).kernelMask, "ffffffff")
        XCTAssertEqual(IDSet([0, 33]).kernelMask, "00000002,00000001")
        XCTAssertEqual(IDSet().kernelMask, "00000000")
        XCTAssertEqual(try IDListParser.parseMask(IDSet([3, 40, 64]).kernelMask), IDSet([3, 40, 64]))
    }
}
