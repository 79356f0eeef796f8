import Foundation

/// The math domain: generated problems as training documents plus a held-out set for
/// exact-match evaluation, both pure functions of (seed, size).
public struct MathCorpus: Sendable {
    /// One document per problem ("Question: …\nWork: …\nAnswer: …\n").
    public let documents: DocumentCollection
    /// Problems for evaluation whose questions never occur among the training documents.
    public let heldOut: [MathProblem]

    /// Training problems numbered from 0 until `maxBytes` of text, and `heldOutCount` problems
    /// from a separate stream of the same seed, leaving out any question seen in training.
    public init(seed: UInt64, maxBytes: Int, heldOutCount: Int) {
        var docs = DocumentCollection()
        var questions = Set<String>()
        var index = 0
        while true {
            let p = MathGenerator.problem(seed: seed, index: index)
            let text = Data(p.text.utf8)
            if docs.byteCount + text.count > maxBytes { break }
            docs.append(text)
            questions.insert(p.question)
            index += 1
        }
        var heldOut: [MathProblem] = []
        let heldOutSeed = CounterHash.hash(seed, 0x4845_4C44_4F55_54)  // "HELDOUT"
        var j = 0
        while heldOut.count < heldOutCount && j < heldOutCount * 4 {
            let p = MathGenerator.problem(seed: heldOutSeed, index: j)
            if !questions.contains(p.question) { heldOut.append(p) }
            j += 1
        }
        documents = docs
        self.heldOut = heldOut
    }

    /// The held-out problems as JSON Lines (`{"question":…,"work":…,"answer":…}` per line).
    public static func jsonLines(_ problems: [MathProblem]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var out = Data()
        for p in problems {
            out.append(try encoder.encode(p))
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Reads problems written by `jsonLines`.
    public static func problems(jsonLines data: Data) throws -> [MathProblem] {
        var number = 0
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            number += 1
            do { return try JSONDecoder().decode(MathProblem.self, from: Data(line)) } catch {
                throw CorpusError.badJSONLine(path: "held-out problems", line: number, why: "expected {question, work, answer}")
            }
        }
    }
}
