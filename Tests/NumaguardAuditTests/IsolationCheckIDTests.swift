import NumaguardAudit
import NumaguardCore
import XCTest

/// The dotted IDs of the isolation checks: waivers, JUnit names and metric labels key on them,
/// and no IRQ number or PID is ever part of one.
final class IsolationCheckIDTests: XCTestCase {
    func testDottedIDs() {
        let cpus = IDSet(2...15)
        let table: [(CheckID, String)] = [
            (.isolation(.isolated), "host.isolation.isolated"), (.isolation(.nohzFull), "host.isolation.nohz_full"),
            (.isolation(.managedIRQ), "host.isolation.managed_irq"), (.isolation(.workqueue), "host.isolation.workqueue"),
            (.irqbalance(.running), "host.irqbalance.running"), (.irqbalance(.bannedCPUs), "host.irqbalance.banned_cpus"),
            (.cpuReservation(cpus: cpus, .threads), "cpus.2-15.reserve.threads"),
            (.cpuReservation(cpus: cpus, .lastCPU), "cpus.2-15.reserve.last_cpu"),
            (.cpuReservation(cpus: cpus, .kernelThreads), "cpus.2-15.reserve.kernel_threads"),
            (.cpuReservation(cpus: cpus, .irqs), "cpus.2-15.reserve.irqs"),
            (.cpuReservation(cpus: cpus, .workqueue), "cpus.2-15.reserve.workqueue"),
            (.cpuReservation(cpus: IDSet([1, 3, 5]), .read), "cpus.1,3,5.reserve.read"),
        ]
        for (id, dotted) in table { XCTAssertEqual(id.description, dotted) }
    }
}
