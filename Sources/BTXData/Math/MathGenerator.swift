/// A deterministic generator of school-math problems with worked answers, in the spirit of
/// DeepMind's mathematics_dataset (Saxton et al., 2019): arithmetic, fractions, linear equations,
/// polynomial derivatives, gcd/lcm, sequences and word problems.
///
/// Problem i of seed s depends only on (s, i), so any slice can be regenerated alone.
public enum MathGenerator {
    /// The kinds of problem, drawn uniformly.
    public enum Kind: Int, CaseIterable, Sendable {
        case arithmetic, fractions, linearEquation, derivative, gcdLcm, sequence, wordProblem
    }

    /// `count` problems of `seed`, numbered from `start`.
    public static func generate(seed: UInt64, count: Int, start: Int = 0) -> [MathProblem] {
        (start..<(start + count)).map { problem(seed: seed, index: $0) }
    }

    /// Problem number `index` of `seed`.
    public static func problem(seed: UInt64, index: Int) -> MathProblem {
        var rng = CounterRandom(seed: seed, stream: UInt64(index))
        switch Kind(rawValue: rng.int(0...(Kind.allCases.count - 1)))! {
        case .arithmetic: return arithmetic(&rng)
        case .fractions: return fractions(&rng)
        case .linearEquation: return linearEquation(&rng)
        case .derivative: return derivative(&rng)
        case .gcdLcm: return gcdLcm(&rng)
        case .sequence: return sequence(&rng)
        case .wordProblem: return wordProblem(&rng)
        }
    }

    static func arithmetic(_ rng: inout CounterRandom) -> MathProblem {
        let a = rng.int(-99...999), b = rng.int(1...99), c = rng.int(2...19)
        switch rng.int(0...2) {
        case 0:
            return MathProblem(question: "What is \(a) + \(b) * \(c)?",
                               work: "\(b) * \(c) = \(b * c); \(a) + \(b * c) = \(a + b * c).", answer: "\(a + b * c)")
        case 1:
            return MathProblem(question: "Calculate (\(a) - \(b)) * \(c).",
                               work: "\(a) - \(b) = \(a - b); \(a - b) * \(c) = \((a - b) * c).", answer: "\((a - b) * c)")
        default:
            let q = a * c
            return MathProblem(question: "What is \(q) divided by \(c)?", work: "\(q) / \(c) = \(a).", answer: "\(a)")
        }
    }

    static func fractions(_ rng: inout CounterRandom) -> MathProblem {
        let x = Fraction(rng.int(1...12), rng.int(2...12)), y = Fraction(rng.int(1...12), rng.int(2...12))
        let add = rng.int(0...1) == 0
        let r = add ? x + y : x * y
        let op = add ? "+" : "*"
        let common = x.denominator * y.denominator
        let work = add
            ? "\(x.numerator)*\(y.denominator)/\(common) + \(y.numerator)*\(x.denominator)/\(common) = \(x.numerator * y.denominator + y.numerator * x.denominator)/\(common) = \(r)."
            : "(\(x.numerator)*\(y.numerator))/(\(x.denominator)*\(y.denominator)) = \(x.numerator * y.numerator)/\(common) = \(r)."
        return MathProblem(question: "Calculate \(x.numerator)/\(x.denominator) \(op) \(y.numerator)/\(y.denominator) in lowest terms.",
                           work: work, answer: r.description)
    }

    static func linearEquation(_ rng: inout CounterRandom) -> MathProblem {
        let x = rng.int(-20...20), a = rng.pick([-9, -7, -5, -4, -3, -2, 2, 3, 4, 5, 6, 7, 8, 9]), b = rng.int(-50...50)
        let c = a * x + b
        let letter = rng.pick(["x", "y", "n", "k", "t"])
        let lhs = b == 0 ? "\(a)*\(letter)" : "\(a)*\(letter) \(b < 0 ? "-" : "+") \(abs(b))"
        return MathProblem(question: "Solve \(lhs) = \(c) for \(letter).",
                           work: "\(a)*\(letter) = \(c) - (\(b)) = \(c - b), so \(letter) = \(c - b) / \(a) = \(x).",
                           answer: "\(x)")
    }

    static func derivative(_ rng: inout CounterRandom) -> MathProblem {
        let degree = rng.int(2...4)
        var coefficients = (0...degree).map { _ in rng.int(-9...9) }
        if coefficients[degree] == 0 { coefficients[degree] = rng.pick([-3, -2, 2, 3, 5]) }
        let derivative = (1...degree).map { coefficients[$0] * $0 }
        let p = Polynomial(coefficients), d = Polynomial(derivative)
        let steps = (1...degree).filter { coefficients[$0] != 0 }
            .map { "d/dx \(coefficients[$0])*x**\($0) = \(coefficients[$0] * $0)*x**\($0 - 1)" }
        return MathProblem(question: "Differentiate \(p) with respect to x.",
                           work: steps.joined(separator: "; ") + ".", answer: d.description)
    }

    static func gcdLcm(_ rng: inout CounterRandom) -> MathProblem {
        let common = rng.int(2...15), a = common * rng.int(2...20), b = common * rng.int(2...20)
        let g = Fraction.gcd(a, b)
        if rng.int(0...1) == 0 {
            return MathProblem(question: "What is the greatest common divisor of \(a) and \(b)?",
                               work: "\(a) = \(g)*\(a / g) and \(b) = \(g)*\(b / g) with \(a / g) and \(b / g) coprime.",
                               answer: "\(g)")
        }
        let l = a / g * b
        return MathProblem(question: "What is the least common multiple of \(a) and \(b)?",
                           work: "gcd(\(a), \(b)) = \(g), so lcm = \(a)*\(b)/\(g) = \(l).", answer: "\(l)")
    }

    static func sequence(_ rng: inout CounterRandom) -> MathProblem {
        let first = rng.int(-30...50)
        if rng.int(0...1) == 0 {
            let step = rng.pick([-9, -7, -5, -3, -2, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13])
            let terms = (0..<5).map { first + $0 * step }
            return MathProblem(question: "What is the next term in \(terms[0..<4].map(String.init).joined(separator: ", "))?",
                               work: "Each term adds \(step): \(terms[3]) + \(step) = \(terms[4]).", answer: "\(terms[4])")
        }
        let start = rng.int(1...6), ratio = rng.int(2...4)
        var terms = [start]
        for _ in 1..<5 { terms.append(terms.last! * ratio) }
        return MathProblem(question: "What comes next: \(terms[0..<4].map(String.init).joined(separator: ", "))?",
                           work: "Each term is multiplied by \(ratio): \(terms[3]) * \(ratio) = \(terms[4]).", answer: "\(terms[4])")
    }

    static func wordProblem(_ rng: inout CounterRandom) -> MathProblem {
        let name = rng.pick(["Alice", "Bob", "Chen", "Dara", "Emeka", "Fatima", "Goran", "Hana"])
        let thing = rng.pick(["apples", "books", "marbles", "stamps", "coins", "pencils"])
        let have = rng.int(5...60), more = rng.int(2...40), away = rng.int(1...(have + more))
        if rng.int(0...1) == 0 {
            let total = have + more - away
            return MathProblem(question: "\(name) has \(have) \(thing), gets \(more) more and gives away \(away). How many \(thing) does \(name) have now?",
                               work: "\(have) + \(more) = \(have + more); \(have + more) - \(away) = \(total).", answer: "\(total)")
        }
        let boxes = rng.int(2...12), each = rng.int(2...25)
        return MathProblem(question: "\(name) packs \(boxes) boxes with \(each) \(thing) in each. How many \(thing) is that?",
                           work: "\(boxes) * \(each) = \(boxes * each).", answer: "\(boxes * each)")
    }
}
