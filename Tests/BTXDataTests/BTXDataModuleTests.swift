import BTXData
import XCTest

final class BTXDataModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(BTXDataModule.self) }
}
