import BTXModel
import Foundation
import XCTest

final class LlamaConfigTests: XCTestCase {
    func decode(_ json: String) throws -> LlamaConfig {
        try JSONDecoder().decode(LlamaConfig.self, from: Data(json.utf8))
    }

    let hf = """
    {"architectures": ["LlamaForCausalLM"], "hidden_size": 576, "intermediate_size": 1536,
     "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152,
     "rope_theta": 100000.0, "rms_norm_eps": 1e-05, "max_position_embeddings": 8192,
     "tie_word_embeddings": true, "model_type": "llama", "hidden_act": "silu"}
    """

    func testDecodesHuggingFaceConfigJSONAndRoundTrips() throws {
        let c = try decode(hf)
        XCTAssertEqual(c.hiddenSize, 576)
        XCTAssertEqual(c.numKeyValueHeads, 3)
        XCTAssertEqual(c.headSize, 64)
        XCTAssertEqual(c.ropeTheta, 100_000)
        XCTAssertTrue(c.tieWordEmbeddings)
        let again = try JSONDecoder().decode(LlamaConfig.self, from: JSONEncoder().encode(c))
        XCTAssertEqual(again, c)
    }

    func testKeyValueHeadsDefaultToAttentionHeads() throws {
        let c = try decode("""
        {"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 5}
        """)
        XCTAssertEqual(c.numKeyValueHeads, 2)
    }

    func assertRejected(_ json: String, field: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decode(json), file: file, line: line) { error in
            guard case let ModelError.invalidConfig(f, _) = error else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(f, field, file: file, line: line)
            XCTAssertTrue("\(error)".contains(field), file: file, line: line)
        }
    }

    func testHeadsNotDividingWidthAreRejectedNamingTheField() {
        assertRejected(hf.replacingOccurrences(of: "\"num_attention_heads\": 9", with: "\"num_attention_heads\": 7"),
                       field: "num_attention_heads")
    }

    func testKeyValueHeadsNotDividingHeadsAreRejectedNamingTheField() {
        assertRejected(hf.replacingOccurrences(of: "\"num_key_value_heads\": 3", with: "\"num_key_value_heads\": 2"),
                       field: "num_key_value_heads")
    }

    func testZeroSizesAreRejectedNamingTheField() {
        assertRejected(hf.replacingOccurrences(of: "\"vocab_size\": 49152", with: "\"vocab_size\": 0"), field: "vocab_size")
        assertRejected(hf.replacingOccurrences(of: "\"num_hidden_layers\": 30", with: "\"num_hidden_layers\": 0"),
                       field: "num_hidden_layers")
        assertRejected(hf.replacingOccurrences(of: "\"intermediate_size\": 1536", with: "\"intermediate_size\": -1"),
                       field: "intermediate_size")
    }

    func testMissingRequiredKeyIsADecodingErrorNamingTheKey() {
        XCTAssertThrowsError(try decode("{\"hidden_size\": 8}")) { error in
            XCTAssertTrue("\(error)".contains("intermediate_size"), "\(error)")
        }
    }
}
