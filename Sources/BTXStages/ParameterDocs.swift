/// One-line documentation of stage parameters, for `btxpipe kinds`: by parameter name (the names mean
/// the same in every kind that reads them), with `kind.name` entries where a kind uses a name its own way.
///
/// NOTE: kept beside the catalog rather than in each stage file so that the table reads in one place;
/// a parameter without an entry is listed without a doc line.
public enum ParameterDocs {
    /// The doc line of `parameter` of `kind`, if any.
    public static func line(kind: String, parameter: String) -> String? {
        byKind["\(kind).\(parameter)"] ?? shared[parameter]
    }

    private static let byKind: [String: String] = [
        "text.text": "the text the stage outputs",
        "text.steps": "checkpointed steps to take (for resume tests)",
        "concat.steps": "checkpointed steps to take (for resume tests)",
        "fetch.domain": "the domain's name (what tokens, experts and reports call it)",
        "fetch.path": "local directory or file to read (give path or url)",
        "fetch.url": "https URL of one file, pinned by sha256 (give path or url)",
        "math-problems.domain": "the domain's name",
        "math-problems.seed": "seed of the problem generator",
        "math-problems.held_out": "problems kept apart to measure exact-match accuracy",
        "btm.mode": "how the experts are combined (average: parameter averaging)",
        "btm.weights": "one weight per expert for the average (default uniform)",
        "mix.weights": "one weight per expert for averaging the non-FFN tensors (default uniform)",
        "train.weights": "sampling weight of each data input (default uniform)",
        "finetune.weights": "sampling weight of each data input (default uniform)",
        "import.format": "checkpoint format (hf: a Hugging Face safetensors directory; gguf: a llama.cpp GGUF file)",
        "import.path": "the checkpoint directory (hf) or .gguf file",
        "import.revision": "a label for the checkpoint's revision, kept in the manifest",
        "init.config": "the Llama config (hidden_size, num_hidden_layers, …), e.g. ${models.s}",
        "upcycle.experts": "how many copies of the seed's feed-forward block become experts",
        "evaluate.top_k": "BTM ensemble: use only the k best-fitting experts per sequence (0: all)",
        "evaluate.temperature": "BTM tf-idf weighting: softmax temperature over domain similarity",
    ]

    private static let shared: [String: String] = [
        "steps": "optimizer steps (matched to another model's compute when input 'match' is given)",
        "batch_size": "sequences per batch",
        "sequence_length": "tokens per sequence",
        "gradient_accumulation": "micro-batches per optimizer step",
        "learning_rate": "peak learning rate (warm-up, then cosine decay)",
        "warmup_steps": "linear warm-up steps (default: a tenth of the steps, at most 20)",
        "min_lr_ratio": "final learning rate as a fraction of the peak",
        "beta1": "AdamW first-moment decay",
        "beta2": "AdamW second-moment decay",
        "weight_decay": "AdamW decoupled weight decay",
        "gradient_clip": "clip the global gradient norm to this (0: off)",
        "seed": "seed of the run's random draws",
        "data_seed": "seed of the batch order",
        "checkpoint_every": "save a resumable checkpoint every this many steps (0: only when cancelled)",
        "match_by": "with input 'match': equalise training flops or tokens with that model",
        "routing": "router: top_k (BTX default), switch (top-1), sample_top1 (Gumbel), soft (dense)",
        "num_experts_per_tok": "experts each token is sent to (top_k routing)",
        "router_aux_loss_coef": "load-balancing loss coefficient (0: none)",
        "capacity_factor": "expert capacity as a multiple of the even share of tokens (switch routing)",
        "gumbel_anneal_rate": "sample_top1: rate at which the Gumbel temperature anneals per step",
        "router_init": "router weights: random, zero, or hidden (mean hidden state per expert's domain)",
        "router_std": "standard deviation of random router weights",
        "router_seed": "seed of random router weights",
        "split": "ablation: cut each expert's FFN into this many experts",
        "blend": "ablation: experts made of chunk j of every model (0: off)",
        "hidden_tokens": "router_init hidden: tokens per domain to average",
        "train": "what finetuning updates: all, or only the routers",
        "freeze_experts": "keep the experts' FFN weights fixed while finetuning",
        "noise_seed": "seed of sample_top1's Gumbel noise",
        "load_tokens": "validation tokens per domain used to measure expert load after training",
        "name": "the row's label in the report",
        "role": "what the row is in the comparison (the report's claims look rows up by role)",
        "expert_domain": "the domain an expert row was trained on",
        "expert_names": "names of the MoE's experts in mix order (for the routing heatmaps)",
        "max_batches": "held-out batches per domain",
        "math_problems": "held-out math problems to answer (exact match; 0: skip)",
        "max_new_tokens": "tokens generated per math answer",
        "btm_weighting": "BTM ensemble weights: likelihood of the context, or tf-idf similarity",
        "tfidf_tokens": "tokens per domain used to build the tf-idf profiles",
        "title": "the report's title",
        "validation_fraction": "share of each corpus held out for validation",
        "min_validation_tokens": "held-out tokens at least, whatever the fraction",
        "vocab_size": "tokens in the BPE vocabulary (256 bytes + merges + specials)",
        "max_bytes_per_corpus": "bytes of each corpus the BPE trainer reads",
        "max_bytes": "cap on the documents' bytes (a deterministic sample)",
        "separator": "text between the parts",
        "sleep_ms": "milliseconds to sleep per step (for tests)",
    ]
}
