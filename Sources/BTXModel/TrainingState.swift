/// A training run's complete state as named float arrays and integer scalars, ready to be saved
/// as a checkpoint (the `train` stage stores each array as a tensor) and restored bit for bit.
///
/// Names: parameters by their HF names; AdamW moments as `optimizer.exp_avg.<name>` and
/// `optimizer.exp_avg_sq.<name>` (PyTorch's names); scalars `step` (optimizer steps done),
/// `tokens_seen`, `rng_state` (the run generator's state as a two's-complement Int64 bit pattern).
public struct TrainingState: Equatable {
    /// One named array.
    public struct Tensor: Equatable {
        /// HF-style shape.
        public var shape: [Int]
        /// Row-major values.
        public var values: [Float]

        public init(shape: [Int], values: [Float]) {
            self.shape = shape
            self.values = values
        }
    }

    /// Named arrays.
    public var tensors: [String: Tensor]
    /// Named integers.
    public var scalars: [String: Int]

    public init(tensors: [String: Tensor] = [:], scalars: [String: Int] = [:]) {
        self.tensors = tensors
        self.scalars = scalars
    }

    /// Prefix of the first-moment arrays.
    public static let firstMomentPrefix = "optimizer.exp_avg."
    /// Prefix of the second-moment arrays.
    public static let secondMomentPrefix = "optimizer.exp_avg_sq."
}

extension ParameterSet {
    /// Adds every tensor to `state.tensors` under `prefix + name`.
    func export(into state: inout TrainingState, prefix: String = "") {
        for e in entries {
            state.tensors[prefix + e.name] = TrainingState.Tensor(
                shape: e.shape, values: Array(UnsafeBufferPointer(start: storage + e.offset, count: e.count)))
        }
    }

    /// Throws if `state` lacks one of these tensors under `prefix + name` or has it misshapen.
    func check(_ state: TrainingState, prefix: String = "") throws {
        for e in entries {
            guard let t = state.tensors[prefix + e.name] else { throw ModelError.missingParameter(prefix + e.name) }
            guard t.shape == e.shape, t.values.count == e.count else {
                throw ModelError.shapeMismatch(name: prefix + e.name, expected: e.shape, actual: t.shape)
            }
        }
    }

    /// Overwrites every tensor from `state.tensors[prefix + name]` (call `check` first).
    func restore(from state: TrainingState, prefix: String = "") throws {
        for e in entries {
            guard let t = state.tensors[prefix + e.name] else { throw ModelError.missingParameter(prefix + e.name) }
            try setValues(e.name, shape: t.shape, t.values)
        }
    }
}
