import BTXTensor

/// The feed-forward half of a decoder block: the seam where a mixture of experts replaces the
/// dense SwiGLU MLP. An implementation owns the activations its backward pass needs for up to
/// `maxRows` rows and reads/writes its weights and gradients through the model's `ParameterSet`s.
public protocol FeedForwardLayer: AnyObject {
    /// `out[N, C] += FFN(inp[N, C])` (added: `out` holds the residual stream). Keeps what
    /// `backward` needs for these rows.
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int)
    /// `dinp[N, C] = ∂L/∂inp` (overwritten) given `dout[N, C] = ∂L/∂out`, for the rows of the last
    /// `forward`; adds the weight gradients. `lossScale` is the weight of this micro-batch's loss
    /// (1 / gradient-accumulation steps): a layer with an auxiliary loss scales that loss's
    /// gradient by it (`dout` already carries it).
    func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                  _ inp: UnsafePointer<Float>, _ N: Int, lossScale: Float)
    /// The layer's own loss term from the last `forward`, already weighted (e.g. a mixture of
    /// experts' load-balancing loss × its coefficient); 0 for a dense layer.
    var auxiliaryLoss: Float { get }
    /// `forward` again on the rows of the last `forward`, just before `backward`, to refill the
    /// buffers it keeps (activation recomputation, when layers share them: `KeptActivations`).
    /// It must compute exactly what the first call did and record nothing new: a layer that draws
    /// noise draws the same noise, one that counts routing does not count twice.
    func replayForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int)
}

extension FeedForwardLayer {
    public var auxiliaryLoss: Float { 0 }
    public func replayForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int) { forward(out, inp, N) }
}

/// Where feed-forward layers get the buffers they keep from `forward` for `backward`: each layer
/// its own, or, with activation recomputation (`shared`), one buffer per name for all layers of a
/// model (each layer's forward pass is replayed just before its backward pass, so the layers take
/// turns). Allocated at model construction only.
public final class KeptActivations {
    /// Whether layers share their kept buffers.
    public let shared: Bool
    private var buffers: [String: AnyObject] = [:]

    /// Per-layer buffers (`shared` false), or one per name for all layers.
    public init(shared: Bool = false) { self.shared = shared }

    /// A buffer of at least `count` elements for what a layer keeps under `name`: a new one, or
    /// the shared one when it is large enough. (A later, larger request gets a buffer of its own
    /// that later layers then share: correct, only less saving. MoE layers ask for their largest
    /// size first: the only wider layer is sample-top-1's soft layer 0.)
    public func buffer<T: Numeric>(_ name: String, count: Int) -> Buffer<T> {
        guard shared else { return Buffer(count: count) }
        if let kept = buffers[name] as? Buffer<T>, kept.count >= count { return kept }
        let made = Buffer<T>(count: count)
        buffers[name] = made
        return made
    }
}

/// Scratch shared by the feed-forward layers of one model (used within one call, never kept
/// between calls): `hidden` and `dhidden`, `[maxRows, I]` each.
public final class FeedForwardScratch {
    /// Scratch for the gated hidden activations.
    public let hidden: Buffer<Float>
    /// Scratch for their gradient (nil in a model built for inference only).
    public let dhidden: Buffer<Float>?

    /// Allocates scratch for up to `rows` rows of width `width` (the largest intermediate size).
    public init(rows: Int, width: Int, training: Bool) {
        hidden = Buffer(count: rows * width)
        dhidden = training ? Buffer(count: rows * width) : nil
    }
}

/// Builds the feed-forward layer of block `layer` (dense SwiGLU for Llama).
public typealias FeedForwardFactory = (_ layer: Int, _ context: FeedForwardContext) throws -> FeedForwardLayer

/// What a feed-forward layer is built from.
public struct FeedForwardContext {
    /// The model's architecture.
    public let config: LlamaConfig
    /// Parameters (weights are read through pointers into this set).
    public let parameters: ParameterSet
    /// Gradients with the same layout, or nil for inference.
    public let gradients: ParameterSet?
    /// Rows per call at most (B·T).
    public let maxRows: Int
    /// Scratch shared between layers.
    public let scratch: FeedForwardScratch
    /// Threads for the element-wise kernels.
    public let threads: Int
    /// Tensors that get no gradient (their weight-gradient products are skipped).
    public let frozen: Set<String>
    /// The model's counter of backward matrix products.
    public let gemms: GEMMCounter
    /// Where layers allocate what they keep for backward (shared between layers with recomputation).
    public let kept: KeptActivations

    /// A context for layers over `parameters` (and `gradients`, nil for inference).
    public init(config: LlamaConfig, parameters: ParameterSet, gradients: ParameterSet?, maxRows: Int,
                scratch: FeedForwardScratch, threads: Int, frozen: Set<String> = [], gemms: GEMMCounter = GEMMCounter(),
                kept: KeptActivations = KeptActivations()) {
        (self.config, self.parameters, self.gradients, self.maxRows) = (config, parameters, gradients, maxRows)
        (self.scratch, self.threads, self.frozen, self.gemms, self.kept) = (scratch, threads, frozen, gemms, kept)
    }
}

extension FeedForwardContext {
    /// Where tensor `name`'s gradient goes: nil in inference or when the tensor is frozen.
    public func gradient(_ name: String) -> UnsafeMutablePointer<Float>? {
        gradients?.gradientPointer(name, frozen: frozen)
    }

    /// Throws unless `parameters` has tensor `name` with exactly `shape` (call for every tensor a
    /// layer reads, so that a bad checkpoint fails with a typed error, not a crash).
    public func require(_ name: String, shape: [Int]) throws {
        guard let e = parameters.entry(name) else { throw ModelError.missingParameter(name) }
        guard e.shape == shape else { throw ModelError.shapeMismatch(name: name, expected: shape, actual: e.shape) }
    }
}
