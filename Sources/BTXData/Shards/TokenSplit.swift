import BTXStore
import Foundation

/// A domain corpus as token arrays: documents encoded, `endOfDocument` (EOS) after each, split into training and
/// validation by document hash (so the split never depends on document order).
public struct TokenSplit: Equatable, Sendable {
    /// Training tokens, documents in corpus order.
    public let train: [UInt32]
    /// Validation tokens, documents in corpus order.
    public let validation: [UInt32]
    /// Documents in each part.
    public let trainDocuments: Int, validationDocuments: Int

    /// Encodes `documents` and splits them. A document goes to validation when its content hash
    /// ranks among the lowest; documents are taken in hash order until validation holds
    /// `validationFraction` of the tokens, or `minValidationTokens` if more (e.g. a few hundred
    /// sequences), but never more than half the tokens.
    public init(documents: DocumentCollection, encoder: TokenEncoder, endOfDocument: UInt32,
                validationFraction: Double = 0.02, minValidationTokens: Int = 0) {
        var perDocument: [[UInt32]] = []
        perDocument.reserveCapacity(documents.count)
        var total = 0
        documents.bytes.withUnsafeBytes { all in
            var start = 0
            for end in documents.ends {
                var ids: [UInt32] = []
                encoder.encode(UnsafeRawBufferPointer(rebasing: all[start..<end]), into: &ids)
                ids.append(endOfDocument)
                total += ids.count
                perDocument.append(ids)
                start = end
            }
        }
        let keys = documents.bytes.withUnsafeBytes { all in
            documents.ends.indices.map { i -> UInt64 in
                let start = i == 0 ? 0 : documents.ends[i - 1]
                return BPEEncoder.hash(UnsafeRawBufferPointer(rebasing: all[start..<documents.ends[i]]))
            }
        }
        let target = min(max(Int(Double(total) * validationFraction), minValidationTokens), total / 2)
        var isValidation = [Bool](repeating: false, count: documents.count)
        var taken = 0
        for i in documents.ends.indices.sorted(by: { (keys[$0], $0) < (keys[$1], $1) }) {
            if taken >= target { break }
            if taken + perDocument[i].count > total / 2 { continue }
            isValidation[i] = true
            taken += perDocument[i].count
        }
        var train: [UInt32] = [], validation: [UInt32] = []
        train.reserveCapacity(total - taken)
        validation.reserveCapacity(taken)
        for (i, ids) in perDocument.enumerated() {
            if isValidation[i] { validation += ids } else { train += ids }
        }
        self.train = train
        self.validation = validation
        validationDocuments = isValidation.filter { $0 }.count
        trainDocuments = documents.count - validationDocuments
    }

    /// The narrowest store dtype for ids below `vocabSize`: u16 when it fits, else u32.
    public static func dtype(vocabSize: Int) -> ElementType { vocabSize <= 1 << 16 ? .u16 : .u32 }

    /// `tokens` as little-endian bytes of `dtype` (u16 or u32).
    public static func bytes(_ tokens: [UInt32], dtype: ElementType) -> Data {
        if dtype == .u16 {
            return tokens.map { UInt16(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { Data($0) }
        }
        return tokens.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
    }

    /// Tokens from little-endian `bytes` of `dtype` (u16 or u32).
    public static func tokens(_ bytes: Data, dtype: ElementType) -> [UInt32] {
        bytes.withUnsafeBytes { raw in
            if dtype == .u16 {
                return (0..<(raw.count / 2)).map { UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
            }
            return (0..<(raw.count / 4)).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
    }
}

extension TokenSplit {
    /// The tokens of a u16/u32 tensor in `store` (a "tokens" manifest's `train` or `validation`).
    public static func tokens(of entry: TensorEntry, in store: Store) throws -> [UInt32] {
        guard entry.dtype == .u16 || entry.dtype == .u32, entry.shape.count == 1 else {
            throw BatchError.badShape("token tensor must be 1-D u16 or u32, got \(entry.dtype.rawValue) \(entry.shape)")
        }
        // NOTE: the object's own (file-size-checked) length must match before allocating for the shape.
        let length = try store.objectLength(entry.object)
        guard length == entry.byteCount else {
            throw StoreError.shapeMismatch(shape: entry.shape, dtype: entry.dtype, expectedBytes: entry.byteCount, actualBytes: length)
        }
        var bytes = Data(count: entry.byteCount)
        try bytes.withUnsafeMutableBytes { try store.readTensor(entry, into: $0) }
        return tokens(bytes, dtype: entry.dtype)
    }
}
