/// How the MiX step turns N dense feed-forward blocks (each `[I]` wide) into MoE experts: the BTX
/// default and the two ablations of the paper (arXiv 2403.07816, §4.4, "split" and "blend").
///
/// Every layout builds an expert as the concatenation, along the intermediate dimension, of
/// *pieces*: chunk `c` of `C` (rows of `w1`/`w3`, columns of `w2`) of one dense model's FFN.
/// Because a SwiGLU FFN is a sum over its intermediate units, an expert made of pieces computes the
/// sum of those pieces' FFNs.
public enum MoEExpertLayout: Equatable, Sendable {
    /// Expert m is model m's whole FFN (BTX; N experts of width I).
    case whole
    /// Model m's FFN cut into C chunks: expert m·C + c is chunk c of model m (N·C experts of width I/C).
    case split(chunks: Int)
    /// Each model's FFN cut into C chunks; expert j is chunk j of every model, concatenated in model
    /// order (C experts of width N·I/C): no expert belongs to one domain. C = N keeps N experts of width I.
    case blend(chunks: Int)

    /// Chunks per dense FFN.
    public var chunks: Int {
        switch self {
        case .whole: return 1
        case let .split(c), let .blend(c): return c
        }
    }

    /// Experts per layer made from `models` dense models.
    public func experts(models n: Int) -> Int {
        switch self {
        case .whole: return n
        case let .split(c): return n * c
        case let .blend(c): return c
        }
    }

    /// Width (intermediate size) of every expert, from dense FFNs of width `I`.
    public func width(intermediate I: Int, models n: Int) -> Int {
        switch self {
        case .whole: return I
        case let .split(c): return I / c
        case let .blend(c): return n * I / c
        }
    }

    /// The pieces expert `e` is made of, in concatenation order: (dense model, chunk of `chunks`).
    public func pieces(expert e: Int, models n: Int) -> [(model: Int, chunk: Int)] {
        switch self {
        case .whole: return [(e, 0)]
        case let .split(c): return [(e / c, e % c)]
        case .blend: return (0..<n).map { ($0, e) }
        }
    }
}
