/// A polynomial in x with integer coefficients (index = power), printed the way the math problems
/// write it: highest power first, `3*x**2 - x + 5`, zero terms left out.
struct Polynomial: CustomStringConvertible {
    let coefficients: [Int]

    init(_ coefficients: [Int]) { self.coefficients = coefficients }

    var description: String {
        var text = ""
        for power in stride(from: coefficients.count - 1, through: 0, by: -1) where coefficients[power] != 0 {
            let c = coefficients[power]
            let magnitude = abs(c)
            let body: String
            switch power {
            case 0: body = "\(magnitude)"
            case 1: body = magnitude == 1 ? "x" : "\(magnitude)*x"
            default: body = magnitude == 1 ? "x**\(power)" : "\(magnitude)*x**\(power)"
            }
            if text.isEmpty { text = (c < 0 ? "-" : "") + body }
            else { text += (c < 0 ? " - " : " + ") + body }
        }
        return text.isEmpty ? "0" : text
    }
}
