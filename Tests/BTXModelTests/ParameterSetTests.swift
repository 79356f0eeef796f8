import BTXModel
import XCTest

final class ParameterSetTests: XCTestCase {
    func testLayoutUsesHuggingFaceNamesAndShapes() {
        let c = TinyModel.config()
        let p = TinyModel.parameters(c)
        XCTAssertEqual(p.entry("model.embed_tokens.weight")?.shape, [13, 12])
        XCTAssertEqual(p.entry("model.layers.1.self_attn.q_proj.weight")?.shape, [12, 12])
        XCTAssertEqual(p.entry("model.layers.1.self_attn.k_proj.weight")?.shape, [6, 12])  // 1 kv head × D 6
        XCTAssertEqual(p.entry("model.layers.0.mlp.down_proj.weight")?.shape, [12, 20])
        XCTAssertEqual(p.entry("model.layers.0.post_attention_layernorm.weight")?.decays, false)
        XCTAssertEqual(p.entry("lm_head.weight")?.shape, [13, 12])
        XCTAssertNil(TinyModel.parameters(TinyModel.config(tied: true)).entry("lm_head.weight"))
        XCTAssertEqual(p.entries.count, 1 + 2 * 9 + 2)
    }

    func testSetValuesRoundTripsAndRejectsUnknownNamesAndWrongShapes() throws {
        let p = TinyModel.parameters(TinyModel.config())
        let values = (0..<12).map(Float.init)
        try p.setValues("model.norm.weight", shape: [12], values)
        XCTAssertEqual(try p.values("model.norm.weight"), values)
        XCTAssertThrowsError(try p.setValues("model.nope", shape: [12], values)) {
            XCTAssertEqual($0 as? ModelError, .unknownParameter("model.nope"))
        }
        XCTAssertThrowsError(try p.setValues("model.norm.weight", shape: [3, 4], values)) {
            XCTAssertEqual($0 as? ModelError, .shapeMismatch(name: "model.norm.weight", expected: [12], actual: [3, 4]))
        }
    }

    func testInitialisationIsSeededAndHuggingFaceLike() {
        let c = TinyModel.config()
        XCTAssertEqual(TinyModel.parameters(c, seed: 5).flat, TinyModel.parameters(c, seed: 5).flat)
        XCTAssertNotEqual(TinyModel.parameters(c, seed: 5).flat, TinyModel.parameters(c, seed: 6).flat)
        let p = TinyModel.parameters(c)
        XCTAssertEqual(try p.values("model.norm.weight"), [Float](repeating: 1, count: 12))
        let w = try! p.values("model.layers.0.mlp.up_proj.weight")
        let std = (w.map { $0 * $0 }.reduce(0, +) / Float(w.count)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.004)
    }
}
