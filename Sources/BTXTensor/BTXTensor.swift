/// BTXTensor: the numeric kernels of btxpipe, each a forward/backward pair of free functions in the
/// llm.c style (outputs first, inputs next, sizes last; no allocation inside).
///
/// Shape notation used throughout (one letter, one meaning):
/// - `B` batch, `T` time (sequence length), `N` rows = B·T (or any gathered subset of rows)
/// - `C` channels (hidden size), `I` intermediate (feed-forward) size, `V` vocabulary
/// - `H` attention heads, `KVH` key/value heads (grouped-query attention), `D` head size = C / H
/// - `L` layers, `E` experts, `K` top-k
///
/// All matrices are row-major `Float` buffers; weights follow Hugging Face `nn.Linear`: `[out, in]`.
/// Backward functions *accumulate* into weight gradients (so gradient accumulation is free) and
/// say per argument whether an input gradient is overwritten or accumulated.
///
/// Threading: a kernel with a `threads` argument splits its work over `parallelFor`'s worker pool
/// as `ParallelKernel` values (no allocation); OpenBLAS itself runs single-threaded inside them.
public enum BTXTensorModule {}
