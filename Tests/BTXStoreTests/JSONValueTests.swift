import BTXStore
import XCTest

final class JSONValueTests: XCTestCase {
    func testParseAgreesWithJSONDecoderOnEveryKindOfValue() throws {
        let texts = [
            #"{"a": [1, -2, 3.5, 1e2, 1.0, -0.25e-3, 9223372036854775807, 1e300], "b": {"c": null, "d": true, "e": false}}"#,
            #"["plain", "esc \" \\ \/ \b \f \n \r \t", "\u00e9\u4e2d\ud83d\ude00", "ĠThe Ċ", ""]"#,
            #"  {"nested": [[[], {}], [{"x": "y"}]]}  "#, "42", #""just a string""#,
        ]
        for text in texts {
            let data = Data(text.utf8)
            XCTAssertEqual(try JSONValue.parse(data), try JSONDecoder().decode(JSONValue.self, from: data), text)
        }
    }

    func testParseRejectsMalformedText() {
        for text in ["", "{", "[1,]", #"{"a" 1}"#, #""unterminated"#, "tru", "1 2", #""\x""#, #""\ud800""#, "-", "{\"a\":1,}",
                     "01", "-01", "+1", ".5", "5.", "1e", "1e+", "1.e3", "--1", "1-2", "[1.5.2]", #"{"a":1,"a":2}"#,
                     #"{"b":{"a":1,"a":1}}"#] {
            XCTAssertThrowsError(try JSONValue.parse(Data(text.utf8)), text)
        }
    }

    func testCanonicalTextSortsKeysAndDropsWhitespace() throws {
        let value = try JSONValue.parse(Data(#"{ "b": [1, 2.5, "x\n"], "a": {"z": null, "y": true} }"#.utf8))
        XCTAssertEqual(value.canonicalText, #"{"a":{"y":true,"z":null},"b":[1,2.5,"x\n"]}"#)
    }

    func testEqualManifestsHashEqually() throws {
        let h = ObjectHash.of("x")
        let a = Manifest(kind: "model", tensors: ["w": TensorEntry(dtype: .f32, shape: [2, 3], object: h),
                                                   "v": TensorEntry(dtype: .bf16, shape: [3], object: h)])
        var b = Manifest(kind: "model")
        b.tensors["v"] = a.tensors["v"]
        b.tensors["w"] = a.tensors["w"]
        XCTAssertEqual(try a.canonicalData(), try b.canonicalData())
        let back = try JSONDecoder().decode(Manifest.self, from: try a.canonicalData())
        XCTAssertEqual(back, a)
    }

    func testObjectHashRejectsAnythingButLowercaseHex() {
        XCTAssertNil(ObjectHash(hex: "../etc/passwd"))
        XCTAssertNil(ObjectHash(hex: String(repeating: "A", count: 64)))
        XCTAssertNil(ObjectHash(hex: String(repeating: "a", count: 63)))
        XCTAssertNotNil(ObjectHash(hex: String(repeating: "a", count: 64)))
        XCTAssertEqual(ObjectHash.of("abc").hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
