/// GPT-2's pre-tokenisation over UTF-8 bytes (btxpipe's own tokenizer and its trainer), so BPE
/// merges stay inside words: `SplitPattern.gpt2` with Unicode classes, exactly what `tokenizers`'
/// `ByteLevel(use_regex: true)` and llama.cpp's "gpt2" pre-tokenizer do.
///
/// NOTE: the input must be valid UTF-8 (`ScalarText.validUTF8` replaces invalid bytes first, as
/// Python's decoding does before `tokenizers` sees the text). Pure-ASCII pieces skip the scalar
/// decoding.
enum PreTokenizer {
    /// Calls `body(start, end)` (byte offsets) for each pre-token of `bytes`, in order; the pieces
    /// tile the input.
    static func split(_ bytes: UnsafeRawBufferPointer, _ body: (Int, Int) throws -> Void) rethrows {
        var offsets: [Int] = []
        let text = withUnsafeMutablePointer(to: &offsets) { ScalarText(utf8: bytes, offsets: $0) }
        try SplitPattern.gpt2.split(text) { start, end in try body(offsets[start], offsets[end]) }
    }
}
