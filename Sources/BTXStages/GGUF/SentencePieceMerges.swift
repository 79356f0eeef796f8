/// The BPE merges a SentencePiece vocabulary implies, recovered from its scores as transformers does
/// for a GGUF "llama" vocabulary without merges (tokenization_utils_base.py `generate_merges` with
/// `vocab_scores`): every split of each token into two tokens of the vocabulary is a merge, ranked by
/// the token's score (highest first), then by the longer left part, then the longer right part;
/// splits of one token in the order of their parts' ids. This is the order in which llama.cpp's SPM
/// tokenizer merges (llama-vocab.cpp `llm_tokenizer_spm`: the adjacent pair whose result scores
/// highest).
///
/// NOTE: tokens are compared as Unicode scalar sequences, as Python compares strings (Swift's String
/// equality would merge canonically equivalent tokens).
enum SentencePieceMerges {
    /// The merges of `tokens` (by id) with `scores` (one per token).
    static func generate(tokens: [String], scores: [Double]) -> [(String, String)] {
        let spelled = tokens.map { $0.unicodeScalars.map(\.value) }
        var index: [[UInt32]: Int] = [:]   // a later duplicate wins, as in Python's dict comprehension
        for (id, token) in spelled.enumerated() { index[token] = id }
        var candidates: [Candidate] = []
        var seen = Set<[UInt32]>()
        for token in spelled where seen.insert(token).inserted {
            let score = scores[index[token]!]   // dict(zip(tokens, scores)): first position, last score
            var local: [Candidate] = []
            for cut in token.indices.dropFirst() {
                let left = Array(token[..<cut]), right = Array(token[cut...])
                guard let l = index[left], let r = index[right] else { continue }
                local.append(Candidate(left: l, right: r, score: score, leftLength: left.count, rightLength: right.count,
                                       order: 0))
            }
            local.sort { ($0.left, $0.right) < ($1.left, $1.right) }
            for var c in local {
                c.order = candidates.count
                candidates.append(c)
            }
        }
        // Python's sorted(reverse=True) keeps equal keys in their first order: `order` breaks ties.
        candidates.sort {
            if $0.score != $1.score { return $0.score > $1.score }
            if $0.leftLength != $1.leftLength { return $0.leftLength > $1.leftLength }
            if $0.rightLength != $1.rightLength { return $0.rightLength > $1.rightLength }
            return $0.order < $1.order
        }
        return candidates.map { (tokens[$0.left], tokens[$0.right]) }
    }

    /// One merge: the ids of its parts (the last id of each spelling), and its sort keys.
    private struct Candidate {
        let left: Int, right: Int
        let score: Double
        let leftLength: Int, rightLength: Int
        var order: Int
    }
}
