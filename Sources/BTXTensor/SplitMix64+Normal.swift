import Foundation

extension SplitMix64 {
    /// A standard normal draw (Box–Muller on two uniforms; consumes exactly two outputs, so the
    /// stream position stays a simple function of how many draws were made).
    public mutating func nextNormal() -> Double {
        let u1 = max(nextUniform(), 0x1.0p-53), u2 = nextUniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}
