@testable import NumaguardWatch
import XCTest

final class RegimeMachineTests: XCTestCase {
    func testPlaceholder() {}
}
