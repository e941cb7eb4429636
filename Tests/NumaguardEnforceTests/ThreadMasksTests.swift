import NumaguardCore
import NumaguardEnforce
import XCTest

/// The journal's per-thread masks: compacted by equal masks, read back exactly, and any
/// other text (a journal is a file) refused rather than guessed.
final class ThreadMasksTests: XCTestCase {
    func testGroupsByMaskAndReadsBack() {
        let masks = ThreadMasks([812: IDSet([0, 1]), 813: IDSet([0, 1]), 814: IDSet([0, 1]), 820: IDSet([0, 1]), 816: IDSet([0, 1, 4]),
                                 4_194_304: IDSet([7])])
        XCTAssertEqual(masks.text, "812-814,820=0-1 816=0-1,4 4194304=7")
        XCTAssertEqual(ThreadMasks.parse(masks.text), masks)
    }

    func testAnythingElseIsRefused() {
        for bad in ["", "812", "812=", "=0-1", "812=0-1 812=2", "812-810=1", "4194305=1", "812=0-1  813=1", "812=0-1\n813=1", "812=0-1,",
                    "a=1", "812=0-1=2", "0-4194304=1", " 812=1"] {
            XCTAssertNil(ThreadMasks.parse(bad), bad)
        }
        XCTAssertNil(ThreadMasks.parse(String(repeating: "1", count: ThreadMasks.maximumBytes + 1)))
    }
}
