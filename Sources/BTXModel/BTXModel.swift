/// BTXModel: Llama (and, through the `FeedForwardLayer` seam, mixture-of-experts) layers with their
/// backward passes, the loss, AdamW, learning-rate schedules, training and sampling. Depends on
/// BTXTensor only: checkpoints leave as named float arrays (`ParameterSet`, `TrainingState`).
public enum BTXModelModule {}
