/// An exact rational number kept in lowest terms with a positive denominator.
struct Fraction: Equatable, CustomStringConvertible {
    let numerator: Int, denominator: Int

    init(_ numerator: Int, _ denominator: Int) {
        precondition(denominator != 0, "zero denominator")
        let g = Fraction.gcd(numerator, denominator), sign = denominator < 0 ? -1 : 1
        self.numerator = sign * numerator / g
        self.denominator = sign * denominator / g
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (abs(a), abs(b))
        while y != 0 { (x, y) = (y, x % y) }
        return max(x, 1)
    }

    static func + (a: Fraction, b: Fraction) -> Fraction {
        Fraction(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator)
    }

    static func * (a: Fraction, b: Fraction) -> Fraction {
        Fraction(a.numerator * b.numerator, a.denominator * b.denominator)
    }

    /// "p/q", or just "p" when the denominator is 1.
    var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }
}
