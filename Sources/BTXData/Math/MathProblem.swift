import Foundation

/// One generated math problem: a question, a worked solution and a machine-checkable answer.
public struct MathProblem: Equatable, Codable, Sendable {
    /// The question, one line.
    public let question: String
    /// Worked steps leading to the answer, one line.
    public let work: String
    /// The exact answer string (an integer, a reduced fraction `p/q`, or a polynomial).
    public let answer: String

    /// A problem from its parts.
    public init(question: String, work: String, answer: String) {
        self.question = question
        self.work = work
        self.answer = answer
    }

    /// The training document: "Question: …\nWork: …\nAnswer: …\n".
    public var text: String { "\(prompt)Work: \(work)\nAnswer: \(answer)\n" }

    /// What a model is given at evaluation: the question line.
    public var prompt: String { "Question: \(question)\n" }

    /// The answer in generated text: what follows the first "Answer:" up to the end of its line,
    /// trimmed; nil when there is none.
    public static func extractAnswer(from generated: String) -> String? {
        guard let range = generated.range(of: "Answer:") else { return nil }
        let rest = generated[range.upperBound...]
        let line = rest.prefix { $0 != "\n" }
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Exact match of the answer extracted from `generated` against `answer`.
    public func isAnsweredCorrectly(by generated: String) -> Bool {
        MathProblem.extractAnswer(from: generated) == answer
    }
}
