import BTXModel
import XCTest

final class BTXModelModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(BTXModelModule.self) }
}
