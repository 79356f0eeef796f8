/// BTXModel: Llama and mixture-of-experts layers with their backward passes, the loss, AdamW,
/// learning-rate schedules and sampling. Depends on BTXTensor only.
public enum BTXModelModule {}
