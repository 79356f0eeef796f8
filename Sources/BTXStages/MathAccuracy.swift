import BTXData
import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// Math exact-match accuracy: the model answers held-out generated problems greedily ("Question: …\n"
/// → "Work: …\nAnswer: …\n") and the extracted answer is compared with the known one.
enum MathAccuracy {
    /// `{"correct", "total", "accuracy"}` over the first `math_problems` held-out problems of the `math`
    /// input, or nil when the stage has no `math` input or asks for 0 problems.
    static func measure(_ context: StageContext, model: EvaluatedModel) throws -> JSONValue? {
        let count = try context.params.int("math_problems", default: 50)
        guard count > 0, let math = context.inputs["math"] else { return nil }
        guard let object = math.objects["held_out"] else {
            throw StageError.failed("input 'math' has no 'held_out' problems object")
        }
        let problems = Array(try MathCorpus.problems(jsonLines: try context.store.object(object)).prefix(count))
        let (tokenizer, _) = try ModelTokenizer.load(context)
        guard let eos = tokenizer.eos.map({ Int32(bitPattern: $0) }) else {
            throw StageError.failed("input 'tokenizer': no end-of-sequence token to start the math prompts with")
        }
        let encoder = tokenizer.makeEncoder()
        let maxNew = try context.params.int("max_new_tokens", default: 48)
        var correct = 0
        for (i, problem) in problems.enumerated() {
            try context.checkCancelled()
            let prompt = [eos] + encoder.encode(problem.prompt).map { Int32(bitPattern: $0) }
            // NOTE: a prompt that leaves no room to answer within the model's context counts as wrong.
            let room = min(maxNew, model.maxContext - prompt.count)
            guard room > 0 else { continue }
            let answer = try model.generate(prompt: prompt, maxNewTokens: room, stop: [eos]) {
                Self.answerLineEnded(tokenizer, $0)
            }
            let text = String(decoding: tokenizer.decode(answer.map { UInt32(bitPattern: $0) }), as: UTF8.self)
            if problem.isAnsweredCorrectly(by: text) { correct += 1 }
            if i < 3 { context.log("math: \(problem.question) → \(text.replacingOccurrences(of: "\n", with: " | ")) (expected \(problem.answer))") }
        }
        context.log("math: \(correct)/\(problems.count) exact answers")
        return ["correct": .int(Int64(correct)), "total": .int(Int64(problems.count)),
                "accuracy": .double(problems.isEmpty ? 0 : Double(correct) / Double(problems.count))]
    }

    /// True once the generated tokens contain "Answer:" followed by a line end.
    static func answerLineEnded(_ tokenizer: HFTokenizer, _ tokens: [Int32]) -> Bool {
        let bytes = tokens.flatMap { tokenizer.bytes(of: UInt32(bitPattern: $0)) }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let range = text.range(of: "Answer:") else { return false }
        return text[range.upperBound...].contains("\n")
    }
}
