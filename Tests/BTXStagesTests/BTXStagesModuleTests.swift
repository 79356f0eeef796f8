import BTXStages
import XCTest

final class BTXStagesModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(BTXStagesModule.self) }
}
