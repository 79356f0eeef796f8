import CBTXKernels
import Foundation

/// Fused softmax + cross-entropy over the vocabulary. Turns `logits[N, V]` into probabilities in
/// place, writes each row's loss `−log p[target]` to `losses[N]`, and returns their mean.
public func crossEntropyForward(_ losses: UnsafeMutablePointer<Float>, _ logits: UnsafeMutablePointer<Float>,
                                _ targets: UnsafePointer<Int32>, _ N: Int, _ V: Int, threads: Int = 1,
                                kernel: KernelBuild = .best) -> Float {
    // losses: [N];  logits: [N, V] (probabilities on return);  targets: [N]
    parallelFor(N, threads: threads, CrossEntropyForwardRow(losses: losses, logits: logits, targets: targets, V: V,
                                                            dloss: nil, isa: kernel.isa))
    var total = 0.0
    for n in 0..<N { total += Double(losses[n]) }
    return Float(total / Double(N))
}

/// Backward of `crossEntropyForward`, in place: `probs[N, V]` becomes
/// `dlogits = (probs − onehot(target)) · dloss`, where `dloss` is ∂L/∂(each row's loss)
/// (1/N for a mean over rows; divide further for gradient accumulation).
public func crossEntropyBackward(_ probs: UnsafeMutablePointer<Float>, _ targets: UnsafePointer<Int32>,
                                 dloss: Float, _ N: Int, _ V: Int, threads: Int = 1) {
    parallelFor(N, threads: threads, CrossEntropyBackwardRow(probs: probs, targets: targets, dloss: dloss, V: V))
}

/// Fused softmax + cross-entropy + backward, for training, where the probabilities themselves are
/// never needed: `logits[N, V]` becomes `dlogits = (softmax − onehot(target)) · dloss` in place and
/// each row's loss `−log p[target]` goes to `losses[N]`. Each row is finished while it is in cache
/// (one sweep of the block instead of `crossEntropyForward`'s then `crossEntropyBackward`'s). Returns Σ losses.
public func crossEntropyForwardBackward(_ losses: UnsafeMutablePointer<Float>, _ logits: UnsafeMutablePointer<Float>,
                                        _ targets: UnsafePointer<Int32>, dloss: Float, _ N: Int, _ V: Int,
                                        threads: Int = 1, kernel: KernelBuild = .best) -> Double {
    // losses: [N];  logits: [N, V] (dlogits on return);  targets: [N]
    parallelFor(N, threads: threads, CrossEntropyForwardRow(losses: losses, logits: logits, targets: targets, V: V,
                                                            dloss: dloss, isa: kernel.isa))
    var total = 0.0
    for n in 0..<N { total += Double(losses[n]) }
    return total
}

/// Row `n` of `crossEntropyForward` (`dloss` nil) or `crossEntropyForwardBackward`: the softmax
/// (C, `CBTXKernels/Softmax.c`) scaled by `dloss` in the same sweep, then the target's −dloss.
struct CrossEntropyForwardRow: ParallelKernel {
    let losses, logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, V: Int, dloss: Float?, isa: Int32

    func callAsFunction(_ n: Int) {
        let row = logits + n * V, t = Int(targets[n])
        let p = btx_softmax(row, V, t, dloss ?? 1, isa)
        // NOTE: the probability can underflow to 0 for a hopeless target; clamp so the loss stays finite.
        losses[n] = -Foundation.log(max(p, Float.leastNormalMagnitude))
        if let dloss { row[t] -= dloss }
    }
}

/// Row `n` of `crossEntropyBackward`.
struct CrossEntropyBackwardRow: ParallelKernel {
    let probs: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, dloss: Float, V: Int

    func callAsFunction(_ n: Int) {
        let row = probs + n * V
        var i = 0
        while i + 8 <= V { VectorMath.store(VectorMath.load(row, i) * dloss, row, i); i += 8 }
        while i < V { row[i] *= dloss; i += 1 }
        row[Int(targets[n])] -= dloss
    }
}
