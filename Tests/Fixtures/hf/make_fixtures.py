#!/usr/bin/env python3
"""Golden Hugging Face fixtures for btxpipe's import/export tests, and the reference check of an export.

Set up once (a ready venv with exactly these may already exist, e.g. /work/hfvenv):

    python3 -m venv V
    V/bin/pip install torch==2.13.0+cpu transformers safetensors   # --index-url https://download.pytorch.org/whl/cpu

Modes:

    V/bin/python make_fixtures.py fixtures [OUT]
        Builds tiny random models with fixed seeds and writes, per model, a directory under OUT
        (default: this script's directory) holding config.json, the safetensors checkpoint, tokens.json
        (a few token sequences) and logits.f32 (raw little-endian float32, [sequences, T, V] in order).
          llama-tied     LlamaForCausalLM, GQA 4:1, tied embeddings, f32, one model.safetensors
          llama-untied   LlamaForCausalLM, GQA 2:1, untied, bf16, sharded with model.safetensors.index.json
          mixtral        MixtralForCausalLM, 4 experts top-2, GQA 2:1, f16
        The logits come from the checkpoint as saved (rounded to its dtype), computed in float32.

    V/bin/python make_fixtures.py big OUT [--hidden 1024 --layers 24]
        A random LlamaForCausalLM of >= 500 MB (f32, sharded) for throughput measurements. Not committed.

    V/bin/python make_fixtures.py compare DIR TOKENS_JSON LOGITS_F32 [--tolerance 1e-4]
        Loads the checkpoint in DIR (e.g. written by `btxpipe export --format hf`) with transformers,
        runs the token sequences of TOKENS_JSON and compares with LOGITS_F32 (what btxpipe computed).
        Prints `max_abs_error <x>` and exits 0 if within tolerance, 1 if not.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, MixtralConfig, MixtralForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
SEQUENCES = [[1, 2, 3, 4, 5, 6, 7, 8], [200, 17, 17, 3, 99, 0, 45, 12], [7, 250, 31, 64, 128, 255, 2, 9]]


def legacy_state_dict(model):
    """The checkpoint names real Llama/Mixtral files use (transformers 5 fuses Mixtral experts in memory)."""
    state = {}
    for name, tensor in model.state_dict().items():
        if name.endswith("rotary_emb.inv_freq"):
            continue
        if ".mlp.experts.gate_up_proj" in name:
            prefix = name.replace(".mlp.experts.gate_up_proj", ".block_sparse_moe.experts")
            intermediate = tensor.shape[1] // 2
            for e in range(tensor.shape[0]):
                state[f"{prefix}.{e}.w1.weight"] = tensor[e, :intermediate].clone()
                state[f"{prefix}.{e}.w3.weight"] = tensor[e, intermediate:].clone()
        elif ".mlp.experts.down_proj" in name:
            prefix = name.replace(".mlp.experts.down_proj", ".block_sparse_moe.experts")
            for e in range(tensor.shape[0]):
                state[f"{prefix}.{e}.w2.weight"] = tensor[e].clone()
        elif ".mlp.gate.weight" in name and "experts" not in name and isinstance(model, MixtralForCausalLM):
            state[name.replace(".mlp.gate.", ".block_sparse_moe.gate.")] = tensor.clone()
        else:
            state[name] = tensor.clone()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    return state


def save_checkpoint(model, out, dtype, shard_bytes=None):
    """config.json + safetensors in `dtype`, sharded into files of at most `shard_bytes` when given."""
    os.makedirs(out, exist_ok=True)
    config = model.config.to_dict()
    config["architectures"] = [type(model).__name__]
    config["torch_dtype"] = config["dtype"] = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    state = {k: v.to(dtype).contiguous() for k, v in legacy_state_dict(model).items()}
    if shard_bytes is None:
        save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
        return
    shards, current, size = [], {}, 0
    for name in sorted(state):
        nbytes = state[name].numel() * state[name].element_size()
        if current and size + nbytes > shard_bytes:
            shards.append(current)
            current, size = {}, 0
        current[name] = state[name]
        size += nbytes
    shards.append(current)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        file = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, os.path.join(out, file), metadata={"format": "pt"})
        for name, tensor in shard.items():
            weight_map[name] = file
            total += tensor.numel() * tensor.element_size()
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)


def reference_logits(directory, sequences):
    """Logits [S, T, V] of the checkpoint in `directory`, loaded in float32 with eager attention."""
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        return model(torch.tensor(sequences, dtype=torch.long)).logits.float()


def write_golden(out, sequences):
    logits = reference_logits(out, sequences)
    with open(os.path.join(out, "tokens.json"), "w") as f:
        json.dump(sequences, f)
    with open(os.path.join(out, "logits.f32"), "wb") as f:
        f.write(logits.contiguous().numpy().astype("<f4").tobytes())


def randomize(model, seed):
    """Weights drawn from one seeded generator; norm gains near 1 so they matter but stay tame."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=g))
    return model


def make_fixtures(out):
    torch.manual_seed(0)
    tied = LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=64,
                       rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True)
    model = randomize(LlamaForCausalLM(tied), 1).eval()
    save_checkpoint(model, os.path.join(out, "llama-tied"), torch.float32)
    write_golden(os.path.join(out, "llama-tied"), SEQUENCES)

    untied = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         rms_norm_eps=1e-6, rope_theta=500000.0, tie_word_embeddings=False)
    model = randomize(LlamaForCausalLM(untied), 2).eval()
    save_checkpoint(model, os.path.join(out, "llama-untied"), torch.bfloat16, shard_bytes=64 * 1024)
    write_golden(os.path.join(out, "llama-untied"), SEQUENCES)

    mixtral = MixtralConfig(vocab_size=128, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                            num_local_experts=4, num_experts_per_tok=2, router_aux_loss_coef=0.01,
                            rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, sliding_window=None)
    model = randomize(MixtralForCausalLM(mixtral), 3).eval()
    save_checkpoint(model, os.path.join(out, "mixtral"), torch.float16)
    write_golden(os.path.join(out, "mixtral"), [[t % 128 for t in s] for s in SEQUENCES])


def make_big(out, hidden, layers):
    config = LlamaConfig(vocab_size=32000, hidden_size=hidden, intermediate_size=hidden * 8 // 3 // 64 * 64,
                         num_hidden_layers=layers, num_attention_heads=hidden // 64, num_key_value_heads=hidden // 256,
                         max_position_embeddings=2048, tie_word_embeddings=False)
    with torch.device("cpu"):
        model = LlamaForCausalLM(config)
    save_checkpoint(model, out, torch.float32, shard_bytes=200 * 1024 * 1024)
    total = sum(p.numel() for p in model.parameters())
    print(f"wrote {out}: {total / 1e6:.1f}M parameters, {total * 4 / 2**20:.0f} MiB f32")


def compare(directory, tokens_path, logits_path, tolerance):
    with open(tokens_path) as f:
        sequences = json.load(f)
    expected = reference_logits(directory, sequences)
    with open(logits_path, "rb") as f:
        actual = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
    if actual.numel() != expected.numel():
        print(f"size mismatch: {logits_path} has {actual.numel()} floats, transformers gives {expected.numel()}")
        return 1
    error = (actual.reshape(expected.shape) - expected).abs().max().item()
    print(f"max_abs_error {error:.3e}")
    return 0 if error <= tolerance else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("fixtures")
    p.add_argument("out", nargs="?", default=HERE)
    p = sub.add_parser("big")
    p.add_argument("out")
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--layers", type=int, default=12)
    p = sub.add_parser("compare")
    p.add_argument("directory")
    p.add_argument("tokens")
    p.add_argument("logits")
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    if args.mode == "fixtures":
        make_fixtures(args.out)
    elif args.mode == "big":
        make_big(args.out, args.hidden, args.layers)
    else:
        sys.exit(compare(args.directory, args.tokens, args.logits, args.tolerance))


if __name__ == "__main__":
    main()
