import BTXStore
import XCTest

final class BTXStoreModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(BTXStoreModule.self) }
}
