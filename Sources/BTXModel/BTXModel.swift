/// BTXModel: Llama (and, through the `FeedForwardLayer` seam, mixture-of-experts) layers with their
/// backward passes, the loss, AdamW, learning-rate schedules, training and sampling. Depends on
/// BTXTensor only: checkpoints leave as named float arrays (`ParameterSet`, `TrainingState`).
///
/// How the pieces fit:
/// - `LlamaConfig` (HF `config.json` keys, validated on decode) → `LlamaParameters.layout(config)`
///   gives the HF tensor names and shapes → `ParameterSet(layout:)` holds them in one contiguous
///   allocation (`pointer(name)`, `values(name)`, `setValues(name, shape:, values)`), seeded by
///   `LlamaParameters.initialize(_:seed:)`.
/// - `LlamaModel(config:parameters:batchSize:sequenceLength:training:threads:feedForward:)` owns all
///   activations; `forward(sequences:)` (B×(T+1) tokens → mean cross-entropy), `backward(lossScale:)`
///   (adds into `gradients`), `forward(inputs:)` / `forward(appending:at:)` (logits; KV cache).
/// - Each block's feed-forward half is a `FeedForwardLayer` made by a `FeedForwardFactory` from a
///   `FeedForwardContext`; the dense one is `DenseFeedForward`, built on `SwiGLUMLP`, which runs on
///   any pointer + row count (a mixture of experts runs it per expert on gathered rows). A layer's
///   extra tensors enter the layout through `LlamaParameters.layout(config, feedForward:)`.
/// - `Trainer(model:hyper:)` runs steps (`trainStep`, `train`) from a `BatchSource`, with `AdamW`,
///   `GradientNorm` clipping and `LearningRateSchedule`; `exportState()` / `restore(_:)` give a
///   `TrainingState` for checkpoints. `TextGenerator` samples with `SamplingParameters`.
public enum BTXModelModule {}
