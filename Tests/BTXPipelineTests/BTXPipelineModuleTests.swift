import BTXPipeline
import XCTest

final class BTXPipelineModuleTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(BTXPipelineModule.self) }
}
