@testable import BTXData
import XCTest

final class MathGeneratorTests: XCTestCase {
    func testSameSeedGivesIdenticalProblemsAndAnyProblemCanBeMadeAlone() {
        let a = MathGenerator.generate(seed: 42, count: 200), b = MathGenerator.generate(seed: 42, count: 200)
        XCTAssertEqual(a, b)
        XCTAssertEqual(MathGenerator.generate(seed: 42, count: 10, start: 150), Array(a[150..<160]))
        XCTAssertNotEqual(MathGenerator.generate(seed: 43, count: 200), a)
    }

    func testEveryKindAppearsAndDocumentsHaveTheQuestionAnswerShape() {
        let problems = MathGenerator.generate(seed: 1, count: 700)
        XCTAssertGreaterThan(Set(problems.map(\.question)).count, 650)
        for p in problems {
            XCTAssertTrue(p.text.hasPrefix("Question: "))
            XCTAssertTrue(p.text.hasSuffix("Answer: \(p.answer)\n"))
            XCTAssertFalse(p.question.contains("\n") || p.work.contains("\n") || p.answer.contains("\n"))
        }
        let kinds = ["divided", "lowest terms", "Solve", "Differentiate", "common", "next", "How many"]
        for k in kinds { XCTAssertTrue(problems.contains { $0.question.contains(k) }, k) }
    }

    func testAnswersAreCorrect() {
        for p in MathGenerator.generate(seed: 9, count: 500) {
            if p.question.hasPrefix("Solve ") {
                // "Solve a*x + b = c for x." — substitute the answer back.
                let eq = p.question.dropFirst(6).split(separator: "=")
                let lhs = eq[0].trimmingCharacters(in: .whitespaces)
                let rhs = Int(eq[1].split(separator: " ")[0])!
                let parts = lhs.split(separator: " ")
                let a = Int(parts[0].split(separator: "*")[0])!
                let b = parts.count == 3 ? (parts[1] == "-" ? -1 : 1) * Int(parts[2])! : 0
                XCTAssertEqual(a * Int(p.answer)! + b, rhs, p.question)
            }
            if p.question.hasPrefix("What is the greatest common divisor of ") {
                let n = p.question.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .punctuationCharacters)) }
                XCTAssertEqual(Fraction.gcd(n[0], n[1]), Int(p.answer)!)
            }
        }
        XCTAssertEqual(Fraction(3, 4) + Fraction(5, 6), Fraction(19, 12))
        XCTAssertEqual((Fraction(2, 4) * Fraction(2, 1)).description, "1")
        XCTAssertEqual(Polynomial([5, -1, 0, 3]).description, "3*x**3 - x + 5")
        XCTAssertEqual(Polynomial([0, 0, -1]).description, "-x**2")
    }

    func testAnswerParserExtractsAndChecksTheAnswer() {
        let p = MathProblem(question: "What is 2 + 2?", work: "2 + 2 = 4.", answer: "4")
        XCTAssertEqual(MathProblem.extractAnswer(from: p.text), "4")
        XCTAssertTrue(p.isAnsweredCorrectly(by: "Work: 2 + 2 = 4.\nAnswer:  4 \nQuestion: junk"))
        XCTAssertFalse(p.isAnsweredCorrectly(by: "Work: 2 + 2 = 5.\nAnswer: 5\n"))
        XCTAssertFalse(p.isAnsweredCorrectly(by: "Answer: 44"))
        XCTAssertNil(MathProblem.extractAnswer(from: "no answer here"))
        XCTAssertNil(MathProblem.extractAnswer(from: "Answer:\n4"))
    }
}
