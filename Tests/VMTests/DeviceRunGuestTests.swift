import Foundation
import TestSupport
import XCTest

/// Parity of `numaguard run`'s device specifiers with numactl's, on real kernels with real PCIe
/// devices (q35, a virtio NIC behind a pxb-pcie root port of node 1, an NVMe controller on
/// node 0, a virtio NIC on pcie.0 whose firmware gives no locality): for each of -N -m -p -P -i
/// and each specifier, the probe's Cpus_allowed_list, Mems_allowed_list and numa_maps policy
/// are the same under both tools, or both refuse and numaguard says why. The deliberate
/// divergences (README, `run`) are pinned as such.
///
/// Needs run-guest.sh `--pci` (scripts/vm). Interface names come from sysfs in the guest,
/// never from probe order.
final class DeviceRunGuestTests: XCTestCase {
    /// A specifier and what it names: a node both tools bind to, or a refusal by both.
    struct Specifier {
        var name: String
        /// Shell text; `$ETH1` (the NIC under pci0000:20, node 1), `$ETHNONE` (under pcie.0).
        var text: String
        /// nil: both refuse.
        var node: Int?
    }

    static let specifiers: [Specifier] = [
        Specifier(name: "eth1", text: "netdev:$ETH1", node: 1),
        Specifier(name: "ethnone", text: "netdev:$ETHNONE", node: nil),
        Specifier(name: "ethnot", text: "!netdev:$ETH1", node: 0),
        Specifier(name: "eth1comma", text: "netdev:$ETH1,1", node: nil),
        Specifier(name: "nope", text: "netdev:nope", node: nil),
        // Never created (the guest has no 8021q module): both refuse the "." before any lookup.
        Specifier(name: "vlan", text: "netdev:$ETH1.100", node: nil),
        Specifier(name: "port", text: "pci:$PORT", node: 1),
        Specifier(name: "portshort", text: "pci:$PORTSHORT", node: 1),
        Specifier(name: "nvme", text: "block:nvme0n1", node: 0),
        Specifier(name: "devpath", text: "block:/dev/nvme0n1", node: nil),
        Specifier(name: "file", text: "file:/dev/nvme0n1", node: 0),
        Specifier(name: "tmpfile", text: "file:/tmp/x", node: nil),
        Specifier(name: "gateway", text: "ip:10.0.2.2", node: 1),
        // The guest's own address (set on $ETH1 by the script): the kernel routes it through lo
        // (the local table), which has no bus device, so both refuse, as for 127.0.0.1.
        Specifier(name: "address", text: "ip:10.0.2.15", node: nil),
        Specifier(name: "loopback", text: "ip:127.0.0.1", node: nil),
    ]

    /// The options and what each does with node N: (flag, extra numaguard flags, cpus, policy).
    static func expected(_ option: String, node: Int) -> (cpus: String, policy: String) {
        let cpus = node == 0 ? "0-1" : "2-3"
        switch option {
        case "-N": return (cpus, "default")
        case "-m": return ("0-3", "bind:\(node)")
        case "-p": return ("0-3", "prefer:\(node)")
        case "-P": return ("0-3", "prefer (many):\(node)")
        default: return ("0-3", "interleave:\(node)")
        }
    }

    static let options = ["-N", "-m", "-p", "-P", "-i"]

    static let script = #"""
        # ng NAME CMD...: keep stdout, stderr and exit status.
        ng() { name=$1; shift; "$@" >$OUT/$name.out 2>$OUT/$name.err; echo $? >$OUT/$name.rc; }
        probe_cmd='cat /proc/self/status /proc/self/numa_maps'
        compare() {
            name=$1 flags=$2 extra=$3 pre=$4
            $pre numaguard run $extra $flags -- sh -c "$probe_cmd" >$OUT/$name.ng 2>$OUT/$name.ng-err; echo $? >$OUT/$name.ng-rc
            $pre numactl $flags sh -c "$probe_cmd" >$OUT/$name.nc 2>$OUT/$name.nc-err; echo $? >$OUT/$name.nc-rc
        }
        [ -w /proc/sys/kernel/numa_balancing ] && echo 0 >/proc/sys/kernel/numa_balancing
        ETH1=; ETHNONE=
        for d in /sys/class/net/*; do
            n=${d##*/}
            case "$(readlink $d)" in
                *devices/pci0000:20/*) ETH1=$n ;;
                *devices/pci0000:00/*) ETHNONE=$n ;;
            esac
        done
        ENDPOINT=$(basename "$(readlink -f /sys/class/net/$ETH1/device/..)")
        PORT=$(basename "$(dirname "$(readlink -f /sys/class/net/$ETH1/device/..)")")
        PORTSHORT=${PORT#0000:}
        echo "$ETH1 $ETHNONE $ENDPOINT $PORT" >$OUT/names
        ip link set $ETH1 up; ip addr add 10.0.2.15/24 dev $ETH1
        : >/tmp/x
        echo +cpuset >/sys/fs/cgroup/cgroup.subtree_control
        mkdir /sys/fs/cgroup/high
        echo 2-3 >/sys/fs/cgroup/high/cpuset.cpus; echo 1 >/sys/fs/cgroup/high/cpuset.mems
        printf 'cg=$1; shift\necho $$ >/sys/fs/cgroup/$cg/cgroup.procs || exit 99\nexec "$@"\n' >/tmp/in-cgroup.sh

        """#

    static func matrix() -> String {
        var lines: [String] = []
        for option in options {
            let extra = option == "-i" ? "--allow-interleave" : ""
            for specifier in specifiers {
                lines.append("compare \(caseName(option, specifier.name)) \"\(option) \(specifier.text)\" \"\(extra)\" \"\"")
            }
            lines.append("compare \(caseName(option, "endpoint")) \"\(option) pci:$ENDPOINT\" \"\(extra)\" \"\"")
            lines.append("compare \(caseName(option, "mixed")) \"\(option) 0,netdev:$ETH1\" \"\(extra)\" \"\"")
        }
        lines.append("compare C-device \"-C netdev:$ETH1\" \"\" \"\"")
        lines.append("compare cgroup-m \"-m netdev:$ETH1\" \"\" \"sh /tmp/in-cgroup.sh high\"")
        return lines.joined(separator: "\n") + "\n"
    }

    static func caseName(_ option: String, _ name: String) -> String { "\(option.dropFirst())-\(name)" }

    func testParityOnLinux61() throws { try parity(.linux61) }
    func testParityOnLinux612() throws { try parity(.linux612) }
    func testParityOnLinuxRT() throws { try parity(.rt) }

    func parity(_ kernel: Guest.Kernel) throws {
        let guest = try Guest.boot(kernel, .twoNode, pci: "net@1,nvme@0,net@none", script: Self.script + Self.matrix())
        let names = try guest.text("names").split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(names.count, 4, "the guest found both NICs and the port: \(names)")
        guard names.count == 4 else { return }
        /// The specifier as the guest shell expanded it, which numaguard's message must name.
        func expanded(_ text: String) -> String {
            text.replacingOccurrences(of: "$ETHNONE", with: names[1]).replacingOccurrences(of: "$ETH1", with: names[0])
                .replacingOccurrences(of: "$PORTSHORT", with: String(names[3].dropFirst("0000:".count)))
                .replacingOccurrences(of: "$PORT", with: names[3])
        }
        FileHandle.standardError.write(Data(("parity on \(kernel.rawValue) (\(try guest.kernelRelease)): "
                                             + "case | numactl exit | numaguard exit | numaguard placement\n"
                                             + (try table(guest))).utf8))
        for option in Self.options {
            for specifier in Self.specifiers {
                let name = Self.caseName(option, specifier.name)
                if let node = specifier.node {
                    try assertSame(guest, name, Self.expected(option, node: node))
                } else {
                    try assertBothRefuse(guest, name, naming: "\(option) \(expanded(specifier.text))")
                }
            }
            // Divergence: pci: behind a bridge resolves in numaguard; numactl reads only root-bus devices.
            try assertDivergence(guest, Self.caseName(option, "endpoint"), Self.expected(option, node: 1))
            // Numbers before a device: {0, 1}.
            let mixed = Self.caseName(option, "mixed")
            switch option {
            case "-N": try assertSame(guest, mixed, ("0-3", "default"))
            case "-m": try assertSame(guest, mixed, ("0-3", "bind:0-1"))
            case "-P": try assertSame(guest, mixed, ("0-3", "prefer (many):0-1"))
            case "-i": try assertSame(guest, mixed, ("0-3", "interleave:0-1"))
            default: try assertBothRefuse(guest, mixed, naming: "-p 0,netdev:\(names[0])")   // -p takes one node
            }
        }
        try assertBothRefuse(guest, "C-device", naming: "netdev:\(names[0])")
        // Divergence: a device on node 1 inside a cpuset with mems=1 (numactl compares the node with the mems' weight).
        let ours = Placement(try guest.text("cgroup-m.ng"))
        XCTAssertEqual(try guest.text("cgroup-m.ng-rc"), "0\n", guest.peek("cgroup-m.ng-err"))
        XCTAssertEqual(ours.policies, ["bind:1"])
        XCTAssertEqual(ours.cpus, "2-3", "the cpuset's CPUs")
        XCTAssertEqual(ours.mems, "1", "the cpuset's node")
        XCTAssertNotEqual(try guest.text("cgroup-m.nc-rc"), "0\n", "numactl refuses a node at or above the cpuset's node count")
    }

    func assertSame(_ guest: Guest, _ name: String, _ expected: (cpus: String, policy: String),
                    file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try guest.text("\(name).ng-rc"), "0\n", "numaguard \(name): \(guest.peek("\(name).ng-err"))", file: file, line: line)
        XCTAssertEqual(try guest.text("\(name).nc-rc"), "0\n", "numactl \(name): \(guest.peek("\(name).nc-err"))", file: file, line: line)
        let ours = Placement(try guest.text("\(name).ng"))
        let theirs = Placement(try guest.text("\(name).nc"))
        XCTAssertEqual(ours, theirs, "\(name): numaguard run and numactl disagree", file: file, line: line)
        XCTAssertEqual(ours.cpus, expected.cpus, "\(name): Cpus_allowed_list", file: file, line: line)
        XCTAssertEqual(ours.policies, [expected.policy], "\(name): numa_maps policy", file: file, line: line)
    }

    /// Both refuse: numactl exits 1 (after its usage text), numaguard exits 125 (run's own
    /// failure) with one message that names the specifier as given, and the probe never ran.
    func assertBothRefuse(_ guest: Guest, _ name: String, naming specifier: String,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try guest.text("\(name).ng-rc"), "125\n", "numaguard \(name) must refuse", file: file, line: line)
        XCTAssertEqual(try guest.text("\(name).nc-rc"), "1\n", "numactl \(name) must refuse too", file: file, line: line)
        // numactl prints "<SPEC> is invalid" on stdout, then its usage on stderr; no probe output.
        XCTAssertFalse(try guest.text("\(name).nc").contains("Cpus_allowed_list"), "\(name): numactl ran the probe", file: file, line: line)
        let message = try guest.text("\(name).ng-err")
        XCTAssertTrue(message.hasPrefix("numaguard run: "), message, file: file, line: line)
        // A refusal names `-N netdev:eth9`; a malformed argument quotes it: `-N "netdev:eth1.100"`.
        let quoted = specifier.firstIndex(of: " ").map { space in
            "\(specifier[..<space]) \"\(specifier[specifier.index(after: space)...])\""
        }
        XCTAssertTrue(message.contains(specifier) || quoted.map(message.contains) == true,
                      "\(name): the message names \(specifier): \(message)", file: file, line: line)
        XCTAssertEqual(try guest.text("\(name).ng"), "", "\(name): the probe ran", file: file, line: line)
    }

    func assertDivergence(_ guest: Guest, _ name: String, _ expected: (cpus: String, policy: String),
                          file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try guest.text("\(name).ng-rc"), "0\n", "numaguard \(name): \(guest.peek("\(name).ng-err"))", file: file, line: line)
        XCTAssertNotEqual(try guest.text("\(name).nc-rc"), "0\n", "numactl \(name) refuses (a documented divergence)", file: file, line: line)
        let ours = Placement(try guest.text("\(name).ng"))
        XCTAssertEqual(ours.cpus, expected.cpus, file: file, line: line)
        XCTAssertEqual(ours.policies, [expected.policy], file: file, line: line)
    }

    /// Every case as observed, for the log: a changed oracle is visible without rerunning.
    func table(_ guest: Guest) throws -> String {
        var cases = Self.options.flatMap { option in
            (Self.specifiers.map(\.name) + ["endpoint", "mixed"]).map { Self.caseName(option, $0) }
        }
        cases += ["C-device", "cgroup-m"]
        return try cases.map { name in
            let ours = Placement(try guest.text("\(name).ng"))
            let placement = ours.cpus.map { "cpus \($0) mems \(ours.mems ?? "?") \(ours.policies.sorted().joined(separator: ","))" } ?? "-"
            let numactl = try guest.text("\(name).nc-rc").trimmingCharacters(in: .whitespacesAndNewlines)
            let numaguard = try guest.text("\(name).ng-rc").trimmingCharacters(in: .whitespacesAndNewlines)
            return "\(name) | \(numactl) | \(numaguard) | \(placement)\n"
        }.joined()
    }
}
