import BTXData
import Foundation

/// The text the tokenizer reference tests encode: samples of the three default corpora (Python
/// stdlib code, FOLDOC, generated math) plus edge cases, and the binary format the reference scripts
/// (Tests/Fixtures/tokenizers/make_tokenizers.py, Tests/Fixtures/gguf/make_tokenizer_ggufs.py) read
/// documents from and write token ids to.
public enum ReferenceCorpora {
    /// Text every tokenizer must handle: accents, CJK, emoji, NBSP, dashes, superscripts, contractions,
    /// line ends, special tokens in the text, and invalid UTF-8.
    public static let edgeCases: [Data] = [
        "naïve café – Grüße, 東京 🙂  \t\r\n  spaced   out   text\n",
        "x² + y² = z²; 3.14159 and ½ — \u{00A0}NBSP\u{00A0}\u{00A0}here\u{3000}全角 ١٢٣ 12345678",
        "I'LL we'Ve 'S 's don't ſ'ſ \r\n\r\n\n  \n\t\n x",
        "e\u{301}t\u{e9} Å Å 한국어 Ελληνικά русский <|endoftext|>after</s>y<s> <|im_start|>user\n",
        "   ", "", "\n", "'", "🙂🙂🙂", "a\u{200B}b",
    ].map { Data($0.utf8) } + [Data([0x61, 0xFF, 0xFE, 0x62, 0xC3, 0x28, 0xE2, 0x82, 0x20, 0xF0, 0x9F, 0x99, 0x80, 0x27, 0x73]),
                                Data([0xE6, 0x9D, 0xB1, 0xE4, 0xBA])]

    /// The three default corpora, sampled, then the edge cases.
    public static func documents() throws -> [Data] {
        let code = try LocalSource(path: "/usr/lib/python3.11", include: ["*.py"]).documents(format: .text).sample(maxBytes: 250_000)
        let knowledge = try LocalSource(path: "/usr/share/dictd", include: ["foldoc.dict.dz"]).documents(format: .dictd)
            .sample(maxBytes: 250_000)
        let math = MathCorpus(seed: 1, maxBytes: 150_000, heldOutCount: 0).documents
        return [code, knowledge, math].flatMap { c in (0..<c.count).map { c[$0] } } + edgeCases
    }

    /// The documents, written to `dir`/docs.bin, and their first 400 KB as `dir`/train.txt (what the
    /// reference tokenizers are trained on).
    public static func prepare(in dir: URL) throws -> (documents: [Data], docs: URL, train: URL) {
        let documents = try documents()
        let docs = dir.appendingPathComponent("docs.bin")
        try write(documents, to: docs)
        let train = dir.appendingPathComponent("train.txt")
        var text = Data()
        for d in documents where text.count < 400_000 { text.append(d) }
        try text.write(to: train)
        return (documents, docs, train)
    }

    /// Per document: u32 LE length, then its bytes.
    public static func write(_ documents: [Data], to url: URL) throws {
        var out = Data()
        for d in documents {
            withUnsafeBytes(of: UInt32(d.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(d)
        }
        try out.write(to: url)
    }

    /// Per document: u32 LE count, then that many u32 LE ids.
    public static func readIds(_ url: URL, count: Int) throws -> [[UInt32]] {
        let data = [UInt8](try Data(contentsOf: url))
        func u32(_ at: Int) -> UInt32 { UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24 }
        var out: [[UInt32]] = [], at = 0
        while at < data.count {
            let n = Int(u32(at))
            out.append((0..<n).map { u32(at + 4 + 4 * $0) })
            at += 4 + 4 * n
        }
        return out
    }
}
