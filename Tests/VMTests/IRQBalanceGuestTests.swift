import Foundation
import TestSupport
import XCTest

/// `host.irqbalance.*` against a real irqbalance on a real isolated CPU: the 6.1, 6.12 and RT 2-node guests
/// (4 CPUs) booted with `isolcpus=domain,managed_irq,3 nohz_full=3`. irqbalance runs three
/// ways while `numaguard audit` judges it, and irqbalance itself says what it banned: its
/// `--debug` log ends with `Banned CPUs: MASK` (stdout to a file is block-buffered, so the
/// line is read after SIGTERM, on which irqbalance leaves its main loop and exits cleanly).
/// (a) `IRQBALANCE_BANNED_CPULIST=2`: its isolcpus/nohz_full detection is off, CPU 3 is not
/// banned, and `banned_cpus` fails naming CPU 3; (b) no variable: it bans isolated ∪ nohz_full
/// (CPU 3) and the check passes; (c) `running: false` while it runs: `running` fails.
/// The image carries irqbalance from the host or from Debian's package (scripts/vm/
/// build-initramfs.sh); without it this test fails under CI=true and is skipped elsewhere.
final class IRQBalanceGuestTests: XCTestCase {
    static let append = "isolcpus=domain,managed_irq,3 nohz_full=3"

    static let script = #"""
        if ! command -v irqbalance >/dev/null 2>&1; then echo absent >$OUT/irqbalance; exit 0; fi
        echo present >$OUT/irqbalance
        mkdir -p /run/irqbalance
        cat /sys/devices/system/cpu/isolated >$OUT/isolated
        cat >/tmp/running.yaml <<'EOF'
        version: 1
        host:
          isolation: {isolated: "3"}
          irqbalance: {running: true}
        EOF
        sed 's/running: true/running: false/' /tmp/running.yaml >/tmp/stopped.yaml
        audit() { numaguard audit --policy "$2" --format json >$OUT/$1.json 2>$OUT/$1.err; echo $? >$OUT/$1.status; }
        # balance NAME [VAR=VALUE]: irqbalance in the background; waits (bounded) until it has
        # exec'd and bound its socket (/run/irqbalance file, else abstract): past its set-up.
        balance() {
            name=$1; shift
            ( exec env "$@" irqbalance --foreground --debug >$OUT/$name.log 2>&1 ) &
            pid=$!
            echo $pid >$OUT/$name.pid
            i=0
            until [ "$(cat /proc/$pid/comm 2>/dev/null)" = irqbalance ] && grep -q "irqbalance$pid.sock" /proc/net/unix; do
                kill -0 $pid 2>/dev/null || { echo "irqbalance ($name) exited:"; cat $OUT/$name.log; exit 1; }
                i=$((i+1)); [ $i -gt 600 ] && { echo "irqbalance ($name) not set up after 600 polls"; cat $OUT/$name.log; exit 1; }
                sleep 0.1
            done
        }
        # stop NAME: SIGTERM, and irqbalance's exit status (its stdout is flushed on the way out).
        stop() {
            pid=$(cat $OUT/$1.pid)
            kill -0 $pid 2>/dev/null || { echo "irqbalance ($1) exited early:"; cat $OUT/$1.log; exit 1; }
            kill -TERM $pid
            wait $pid; echo $? >$OUT/$1.exit
        }
        balance banned IRQBALANCE_BANNED_CPULIST=2
        audit banned /tmp/running.yaml
        audit stopped /tmp/stopped.yaml
        stop banned
        balance detected
        audit detected /tmp/running.yaml
        stop detected
        """#

    func testLinux61BannedCPUsOfARunningIRQBalance() throws { try check(.linux61) }
    func testLinux612BannedCPUsOfARunningIRQBalance() throws { try check(.linux612) }
    func testRTBannedCPUsOfARunningIRQBalance() throws { try check(.rt) }

    private func check(_ kernel: Guest.Kernel) throws {
        let guest = try Guest.boot(kernel, .twoNode, append: Self.append, script: Self.script)
        guard try guest.text("irqbalance").trimmingCharacters(in: .whitespacesAndNewlines) == "present" else {
            let message = "the guest image has no /bin/irqbalance: scripts/vm/build-initramfs.sh takes the host's or downloads "
                + "Debian's package (apt-get download irqbalance; its libraries from scripts/setup.sh --test). The harness said:\n"
                + guest.harnessLog
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail(message)
                return
            }
            throw XCTSkip(message)
        }
        XCTAssertEqual(try guest.text("isolated").trimmingCharacters(in: .whitespacesAndNewlines), "3")

        // (a) IRQBALANCE_BANNED_CPULIST=2: irqbalance bans CPU 2 only, and the audit says CPU 3 is not banned.
        let banned = try pid(guest, "banned")
        XCTAssertEqual(try irqbalanceBanned(guest, "banned"), [2], "irqbalance's own word")
        XCTAssertEqual(try status(guest, "banned"), "1", (try? guest.text("banned.json")) ?? "")
        let bannedCPUs = try finding(guest, "banned", "host.irqbalance.banned_cpus")
        XCTAssertEqual(bannedCPUs["outcome"] as? String, "fail")
        XCTAssertEqual(bannedCPUs["pid"] as? Int, banned)
        XCTAssertEqual(bannedCPUs["subject"] as? String, "irqbalance (PID \(banned))")
        XCTAssertEqual(bannedCPUs["actual"] as? String,
                       "IRQBALANCE_BANNED_CPULIST=2 set: its isolcpus/nohz_full detection is off; 3 not banned")
        XCTAssertTrue((bannedCPUs["remediation"] as? String ?? "").hasPrefix("set IRQBALANCE_BANNED_CPULIST=2-3 "), "\(bannedCPUs)")
        let runningA = try finding(guest, "banned", "host.irqbalance.running")
        XCTAssertEqual(runningA["outcome"] as? String, "pass")
        XCTAssertEqual(runningA["actual"] as? String, "running: PID \(banned)")
        XCTAssertEqual(try finding(guest, "banned", "host.isolation.isolated")["outcome"] as? String, "pass")

        // (c) running: false while it runs: running fails; banned CPUs are not judged then.
        XCTAssertEqual(try status(guest, "stopped"), "1", (try? guest.text("stopped.json")) ?? "")
        let runningC = try finding(guest, "stopped", "host.irqbalance.running")
        XCTAssertEqual(runningC["outcome"] as? String, "fail")
        XCTAssertEqual(runningC["expected"] as? String, "no irqbalance running")
        XCTAssertEqual(runningC["actual"] as? String, "running: PID \(banned)")
        XCTAssertNil(try findings(guest, "stopped").first { $0["check"] as? String == "host.irqbalance.banned_cpus" })

        // (b) no variable: irqbalance's detection bans isolated ∪ nohz_full (CPU 3); the check passes.
        let detected = try pid(guest, "detected")
        XCTAssertEqual(try irqbalanceBanned(guest, "detected"), [3], "irqbalance's own word")
        XCTAssertEqual(try status(guest, "detected"), "0", (try? guest.text("detected.json")) ?? "")
        let detectedCPUs = try finding(guest, "detected", "host.irqbalance.banned_cpus")
        XCTAssertEqual(detectedCPUs["outcome"] as? String, "pass")
        XCTAssertEqual(detectedCPUs["pid"] as? Int, detected)
        XCTAssertEqual(detectedCPUs["actual"] as? String,
                       "no IRQBALANCE_BANNED_* set: it bans the isolated and nohz_full CPUs (3); bans 3")
    }

    private func status(_ guest: Guest, _ name: String) throws -> String {
        try guest.text("\(name).status").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func pid(_ guest: Guest, _ name: String) throws -> Int {
        try XCTUnwrap(Int(try guest.text("\(name).pid").trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    private func findings(_ guest: Guest, _ name: String) throws -> [[String: Any]] {
        let err = (try? guest.text("\(name).err")) ?? ""
        return try XCTUnwrap(try guest.json("\(name).json")["findings"] as? [[String: Any]], err)
    }

    private func finding(_ guest: Guest, _ name: String, _ check: String) throws -> [String: Any] {
        let all = try findings(guest, name)
        return try XCTUnwrap(all.first { $0["check"] as? String == check }, "\(check) in \(name): \(all.compactMap { $0["check"] })")
    }

    /// The CPUs of irqbalance's last `Banned CPUs: MASK` line (cputree.c; MASK in the kernel's
    /// comma-separated 32-bit hex words, most significant first).
    private func irqbalanceBanned(_ guest: Guest, _ name: String) throws -> Set<Int> {
        let log = try guest.text("\(name).log")
        XCTAssertEqual(try guest.text("\(name).exit").trimmingCharacters(in: .whitespacesAndNewlines), "0", "irqbalance's exit: \(log)")
        let line = try XCTUnwrap(log.split(separator: "\n").last { $0.hasPrefix("Banned CPUs: ") }, "no Banned CPUs line in: \(log)")
        var cpus: Set<Int> = []
        for (index, word) in line.dropFirst("Banned CPUs: ".count).split(separator: ",").reversed().enumerated() {
            let bits = try XCTUnwrap(UInt32(word.trimmingCharacters(in: .whitespaces), radix: 16), String(line))
            for bit in 0..<32 where bits & (1 << UInt32(bit)) != 0 { cpus.insert(index * 32 + bit) }
        }
        return cpus
    }
}
