import Foundation

/// tf-idf profiles of D domains over token ids (unigrams), for routing a context to the domain it
/// resembles: the BTM ensemble's `btm_weighting: tfidf` (the tf-idf domain similarity of the BTX
/// paper's BTM baseline, after Gururangan et al. 2023's c-BTM, which routes by tf-idf).
///
///     tf(t, d)  = count of token t in domain d's sample
///     idf(t)    = ln((1 + D) / (1 + df(t))) + 1     df(t) = domains whose sample contains t
///     profile_d = tf(·, d) · idf, L2-normalised
///
/// The idf is scikit-learn's smoothed form: a token found in every domain keeps weight 1 instead of
/// vanishing, so common tokens still count a little (with 3 domains plain ln(D/df) would zero most
/// of a small vocabulary). A context is scored by the cosine of its own tf·idf vector to each profile.
struct DomainTfIdf {
    /// Token ids are `0..<vocabularySize`; others are ignored.
    let vocabularySize: Int
    /// `[V]` inverse document frequency.
    let idf: [Double]
    /// `[D][V]` unit-length tf·idf vectors (all zeros for a domain with no tokens).
    let profiles: [[Double]]

    /// Profiles of `domains` (each a token sample) over `vocabularySize` token ids.
    init(domains: [[UInt32]], vocabularySize V: Int) {
        var tf = [[Double]](repeating: [Double](repeating: 0, count: V), count: domains.count)
        for (d, tokens) in domains.enumerated() {
            for t in tokens where Int(t) < V { tf[d][Int(t)] += 1 }
        }
        let D = Double(domains.count)
        let idf = (0..<V).map { t in
            let df = Double(tf.reduce(0) { $0 + ($1[t] > 0 ? 1 : 0) })
            return Foundation.log((1 + D) / (1 + df)) + 1
        }
        self.idf = idf
        profiles = tf.map { counts in
            let weighted = zip(counts, idf).map { $0 * $1 }
            let norm = weighted.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? weighted.map { $0 / norm } : weighted
        }
        vocabularySize = V
    }

    /// A deterministic sample of about `budget` tokens of `tokens`: 64 equally long blocks at evenly
    /// spaced offsets (all of `tokens` when it is no longer than `budget`), so that every part of a
    /// shard is represented, not just its first documents.
    static func sample(_ tokens: [UInt32], budget: Int) -> [UInt32] {
        guard tokens.count > budget else { return tokens }
        let blocks = min(64, budget), length = budget / blocks
        var out: [UInt32] = []
        out.reserveCapacity(blocks * length)
        for b in 0..<blocks {
            let start = b * (tokens.count - length) / max(1, blocks - 1)
            out += tokens[start..<(start + length)]
        }
        return out
    }

    /// An empty context to grow token by token.
    func context() -> Context { Context(self) }

    /// The tf·idf vector of a growing context and its dot products with every profile, updated in
    /// O(D) per token.
    struct Context {
        let tfidf: DomainTfIdf
        private var counts: [Double]
        private var dots: [Double]
        private var squaredNorm = 0.0

        init(_ tfidf: DomainTfIdf) {
            self.tfidf = tfidf
            counts = [Double](repeating: 0, count: tfidf.vocabularySize)
            dots = [Double](repeating: 0, count: tfidf.profiles.count)
        }

        /// Forgets every token.
        mutating func reset() {
            for i in counts.indices { counts[i] = 0 }
            for d in dots.indices { dots[d] = 0 }
            squaredNorm = 0
        }

        /// Adds one token (ids outside the vocabulary are ignored).
        mutating func add(_ token: Int32) {
            let t = Int(token)
            guard t >= 0 && t < counts.count else { return }
            let w = tfidf.idf[t]
            // component t goes from counts·w to (counts + 1)·w
            squaredNorm += (2 * counts[t] + 1) * w * w
            counts[t] += 1
            for d in dots.indices { dots[d] += w * tfidf.profiles[d][t] }
        }

        /// `out[d]` = cosine of the context to domain d (0 while the context is empty).
        func cosines(into out: inout [Double]) {
            let norm = squaredNorm.squareRoot()
            for d in dots.indices { out[d] = norm > 0 ? dots[d] / norm : 0 }
        }
    }
}
