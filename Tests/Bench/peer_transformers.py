#!/usr/bin/env python3
"""The PyTorch/transformers side of `btxpipe bench evaluate generate`: the same work, same shapes,
printed as the same table rows and JSON lines (bench "peer-evaluate" / "peer-generate").

Run with the test venv:  .build/hf-venv/bin/python Tests/Bench/peer_transformers.py [--quick]
  evaluate XS      held-out scoring (no grad): log p(target) of B 16 x T 128 batches, XS model
  evaluate XS-BTM  three XS experts as BTM's ensemble (likelihood-posterior weights per position)
  generate SmolLM2-135M  start-up (load GGUF + tokenizer) and greedy new tokens/s (transformers' generate)
  generate XS-MoE  greedy new tokens/s of a random XS model with 4 experts, top-2 (Mixtral)
Each row's peak RSS is its own (VmHWM reset through /proc/self/clear_refs before it).
"""
import argparse, json, os, sys, time

try:
    import torch
    import transformers
    from transformers import (AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM,
                              MixtralConfig, MixtralForCausalLM)
except ImportError as error:  # fail loudly: a missing peer is not a pass
    sys.exit(f"peer_transformers.py: {error}; run it with the test venv (make test builds .build/hf-venv)")

XS = dict(hidden_size=128, intermediate_size=352, num_hidden_layers=4, num_attention_heads=4,
          num_key_value_heads=4, vocab_size=2048, max_position_embeddings=256, rms_norm_eps=1e-5,
          tie_word_embeddings=False)
GGUF = os.environ.get("BTXPIPE_SMOLLM2_GGUF", ".build/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
PROMPT = "The capital of France is"


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def emit(config, **fields):
    row = "  ".join(f"{k}={v:.3g}" for k, v in fields.items())
    print(f"{'peer':8} {config:24} {row}")
    print(json.dumps({"bench": "peer", "config": config, **{k: round(v, 3) for k, v in fields.items()}},
                     sort_keys=True), flush=True)


def scoring_batches(n, B=16, T=128, V=2048):
    g = torch.Generator().manual_seed(1)
    return [torch.randint(0, V, (B, T + 1), generator=g) for _ in range(n)]


def target_log_probs(model, batch):
    logits = model(batch[:, :-1]).logits
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, batch[:, 1:, None])[..., 0]


def evaluate(batches, experts):
    reset_peak()
    torch.manual_seed(1)
    models = [LlamaForCausalLM(LlamaConfig(**XS)).eval() for _ in range(experts)]
    with torch.no_grad():
        target_log_probs(models[0], batches[0])  # warm-up
        start = time.perf_counter()
        for batch in batches:
            lp = torch.stack([target_log_probs(m, batch) for m in models])  # [E, B, T]
            if experts > 1:  # BTM: posterior over experts from the context so far (uniform prior)
                prior = torch.cumsum(lp, dim=-1) - lp
                w = torch.softmax(prior, dim=0)
                (w * lp.exp()).sum(0).log()
        seconds = time.perf_counter() - start
    tokens = sum(b.shape[0] * (b.shape[1] - 1) for b in batches)
    emit(f"evaluate XS{'-BTM' if experts > 1 else ''}", tokens_per_s=tokens / seconds, rss_mib=peak_mib())


def timed_generate(model, ids, new):
    start = time.perf_counter()
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new, min_new_tokens=new,
                         do_sample=False, pad_token_id=0)
    return time.perf_counter() - start, out


def decode_rate(model, ids, new):
    with torch.no_grad():
        timed_generate(model, ids, 2)  # warm-up
        one, _ = timed_generate(model, ids, 1)
        many, out = timed_generate(model, ids, new)
    return (new - 1) / (many - one), out


def generate_smollm2(new):
    if not os.path.exists(GGUF):
        sys.exit(f"peer_transformers.py: no SmolLM2 GGUF at {GGUF} (set BTXPIPE_SMOLLM2_GGUF, or make smollm2)")
    reset_peak()
    start = time.perf_counter()
    directory, name = os.path.split(os.path.abspath(GGUF))
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, torch_dtype=torch.float32).eval()
    ids = tokenizer(PROMPT, return_tensors="pt").input_ids
    startup = time.perf_counter() - start
    rate, out = decode_rate(model, ids, new)
    emit("generate SmolLM2-135M", startup_s=startup, new_tokens_per_s=rate, rss_mib=peak_mib())
    print("peer greedy:", repr(tokenizer.decode(out[0][ids.shape[1]:ids.shape[1] + 8])), flush=True)


def generate_moe(new):
    reset_peak()
    torch.manual_seed(1)
    config = MixtralConfig(**{k: v for k, v in XS.items()}, num_local_experts=4, num_experts_per_tok=2)
    model = MixtralForCausalLM(config).eval()
    ids = torch.randint(0, XS["vocab_size"], (1, 16), generator=torch.Generator().manual_seed(2))
    rate, _ = decode_rate(model, ids, new)
    emit("generate XS-MoE", new_tokens_per_s=rate, rss_mib=peak_mib())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that it runs, not how fast")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"peer: torch {torch.__version__}, transformers {transformers.__version__}, {args.threads} threads", flush=True)
    batches = scoring_batches(1 if args.quick else 4)
    evaluate(batches, experts=1)
    evaluate(batches, experts=3)
    generate_smollm2(8 if args.quick else 64)
    generate_moe(16 if args.quick else 128)


if __name__ == "__main__":
    main()
