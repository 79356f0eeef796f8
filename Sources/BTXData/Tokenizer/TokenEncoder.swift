import Foundation

/// Text → token ids, the one interface the pipeline encodes through (btxpipe's `BPEEncoder` fast
/// path or `HFEncoder` for any supported `tokenizer.json`). Encoders cache: one per thread.
public protocol TokenEncoder: AnyObject {
    /// Appends the ids of `bytes` (UTF-8; invalid sequences are read as U+FFFD) to `out`, without
    /// BOS/EOS; added tokens in the text (e.g. `<|endoftext|>`) become their ids.
    func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt32])
}

extension TokenEncoder {
    /// The ids of `data` (no BOS/EOS).
    public func encode(_ data: Data) -> [UInt32] {
        var out = [UInt32]()
        out.reserveCapacity(data.count / 3)
        data.withUnsafeBytes { encode($0, into: &out) }
        return out
    }

    /// The ids of `text` (no BOS/EOS).
    public func encode(_ text: String) -> [UInt32] { encode(Data(text.utf8)) }
}
