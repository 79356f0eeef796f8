import CBTXKernels
import Foundation

/// Causal multi-head attention with grouped-query heads (HF `LlamaAttention` after the
/// projections and RoPE): head `h` reads key/value head `h / (H / KVH)` (HF `repeat_kv`).
///
/// Query row `i` sits at position `Tk − Tq + i` and sees keys `0...Tk − Tq + i`, so the same kernel
/// serves training (`Tq == Tk`) and cached generation (a few new queries against the whole cache).
///
/// The kernel is blocked and fused (FlashAttention-2, Dao 2023; C in `CBTXKernels/Attention.c`):
/// per (batch, head) it walks 32-row query blocks against 64-key blocks with an online softmax, so no
/// `Tq × Tk` score matrix exists; it keeps each query row's log-sum-exp in `lse` (when given) for the
/// backward pass. (batch, head) items run in parallel, each on one thread in a fixed order, so the
/// result is bitwise the same for every thread count.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, _ lse: UnsafeMutablePointer<Float>?,
                             _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             _ B: Int, _ Tq: Int, _ Tk: Int, _ H: Int, _ KVH: Int, _ D: Int,
                             qStride: Int? = nil, kvStride: Int? = nil, scratch: AttentionScratch, threads: Int = 1,
                             kernel: KernelBuild = .best) {
    // out: [B, Tq, H, D] dense   lse: [B, H, Tq]
    // q:   [B, Tq, H, D]         k, v: [B, Tk, KVH, D]
    // (q, k, v rows `qStride` / `kvStride` apart: views into a fused [q|k|v])
    var shape = attentionShape(B, Tq, Tk, H, KVH, D, qStride: qStride, kvStride: kvStride)
    let workers = scratch.workers(for: B * H, threads: threads)
    withUnsafePointer(to: &shape) { s in
        parallelFor(workers, threads: workers,
                    AttentionForwardHeads(shape: s, out: out, lse: lse, q: q, k: k, v: v, scratch: scratch.pointer,
                                          scratchStride: scratch.floatsPerWorker, workers: workers, isa: kernel.isa))
    }
}

/// Backward of `attentionForward`: overwrites `dq`, `dk`, `dv` from `dout`, the forward pass's `out`
/// and `lse`, and its inputs (`Tq == Tk`: training). Items are (batch, kv head): the heads sharing a
/// kv head add into its dk/dv inside one item, in head order.
public func attentionBackward(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>,
                              _ dv: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                              _ out: UnsafePointer<Float>, _ lse: UnsafePointer<Float>,
                              _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                              _ B: Int, _ T: Int, _ H: Int, _ KVH: Int, _ D: Int,
                              qStride: Int? = nil, kvStride: Int? = nil, scratch: AttentionScratch, threads: Int = 1,
                              kernel: KernelBuild = .best) {
    // dq, q: [B, T, H, D] (rows qStride apart);  dk, dv, k, v: [B, T, KVH, D] (rows kvStride apart)
    // dout, out: [B, T, H, D] dense;  lse: [B, H, T]
    var shape = attentionShape(B, T, T, H, KVH, D, qStride: qStride, kvStride: kvStride)
    let workers = scratch.workers(for: B * KVH, threads: threads)
    withUnsafePointer(to: &shape) { s in
        parallelFor(workers, threads: workers,
                    AttentionBackwardGroups(shape: s, dq: dq, dk: dk, dv: dv, dout: dout, out: out, lse: lse, q: q, k: k,
                                            v: v, scratch: scratch.pointer, scratchStride: scratch.floatsPerWorker,
                                            workers: workers, isa: kernel.isa))
    }
}

func attentionShape(_ B: Int, _ Tq: Int, _ Tk: Int, _ H: Int, _ KVH: Int, _ D: Int,
                    qStride: Int?, kvStride: Int?) -> btx_attention_shape {
    precondition(Tq <= Tk && H % KVH == 0, "attention needs Tq ≤ Tk and H a multiple of KVH")
    return btx_attention_shape(B: B, Tq: Tq, Tk: Tk, H: H, KVH: KVH, D: D, qStride: qStride ?? H * D,
                               kvStride: kvStride ?? KVH * D, outStride: H * D, scale: 1 / Float(D).squareRoot())
}

/// Per-worker scratch of the attention kernels for one head size, allocated once (the kernels
/// themselves allocate nothing).
public final class AttentionScratch {
    let buffer: Buffer<Float>
    /// Floats per worker, and the most workers it has room for.
    let floatsPerWorker: Int, maxWorkers: Int
    var pointer: UnsafeMutablePointer<Float> { buffer.pointer }

    /// Room for `threads` workers at head size `headSize`.
    public init(headSize: Int, threads: Int) {
        floatsPerWorker = btx_attention_scratch_floats(headSize)
        maxWorkers = max(1, threads)
        buffer = Buffer(count: floatsPerWorker * maxWorkers)
    }

    /// Workers for `items` items on `threads` threads.
    func workers(for items: Int, threads: Int) -> Int {
        precondition(threads <= maxWorkers, "attention scratch sized for \(maxWorkers) threads, asked for \(threads)")
        return max(1, min(threads, items))
    }
}

/// Worker `w` of `attentionForward`: heads `w`, `w + workers`, … with its own scratch.
struct AttentionForwardHeads: ParallelKernel {
    let shape: UnsafePointer<btx_attention_shape>
    let out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>?, q, k, v: UnsafePointer<Float>
    let scratch: UnsafeMutablePointer<Float>, scratchStride: Int, workers: Int, isa: Int32

    func callAsFunction(_ w: Int) {
        let H = shape.pointee.H
        var bh = w
        while bh < shape.pointee.B * H {
            btx_attention_forward_head(shape, out, lse, q, k, v, bh / H, bh % H, scratch + w * scratchStride, isa)
            bh += workers
        }
    }
}

/// Worker `w` of `attentionBackward`: (batch, kv head) groups `w`, `w + workers`, … with its own scratch.
struct AttentionBackwardGroups: ParallelKernel {
    let shape: UnsafePointer<btx_attention_shape>
    let dq, dk, dv: UnsafeMutablePointer<Float>, dout, out, lse, q, k, v: UnsafePointer<Float>
    let scratch: UnsafeMutablePointer<Float>, scratchStride: Int, workers: Int, isa: Int32

    func callAsFunction(_ w: Int) {
        let KVH = shape.pointee.KVH
        var bg = w
        while bg < shape.pointee.B * KVH {
            btx_attention_backward_group(shape, dq, dk, dv, dout, out, lse, q, k, v, bg / KVH, bg % KVH,
                                         scratch + w * scratchStride, isa)
            bg += workers
        }
    }
}
