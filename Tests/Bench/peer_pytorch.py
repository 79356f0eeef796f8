#!/usr/bin/env python3
"""The PyTorch peer of `btxpipe bench train`: trains the same shapes the same way and prints one
JSON line per config, {"bench":"train_pytorch","config":…,"tokens_per_s":…,"rss_mib":…}.

Fairest and fastest plain PyTorch we know for these shapes: fp32, torch.set_num_threads(2),
transformers' LlamaForCausalLM with SDPA attention (MixtralForCausalLM, 4 experts top-2, its own
router and load-balancing loss at coefficient 0.01, for the -MoE configs), AdamW (fused CPU kernel
when available, else foreach), gradient clipping at 1.0 as btxpipe's Trainer, random tokens at the
same B and T, warm-up steps then the median step. Each config runs in its own subprocess so that
its peak RSS (ru_maxrss) is its own.

    peer_pytorch.py [--config NAME ...] [--steps N] [--warmup N]
    peer_pytorch.py --compare BTXPIPE_BENCH_OUTPUT [--config NAME ...]   # the side-by-side table

Run it with the hf-venv's python (torch 2.13 CPU, transformers). Fails loudly when they are missing.
"""
import argparse
import json
import subprocess
import sys

# name: (hidden, intermediate, layers, heads, kv heads, vocab, rope theta, rms eps, tied, B, T)
# — the configs of Sources/BTXModel/TrainingBenchmark.swift, kept equal by hand.
CONFIGS = {
    "XS": (128, 352, 4, 4, 4, 2048, 10_000.0, 1e-6, False, 16, 128),
    "S": (256, 688, 4, 4, 4, 2048, 10_000.0, 1e-6, False, 8, 256),
    "M": (512, 1376, 8, 8, 8, 4096, 10_000.0, 1e-6, False, 8, 256),
    "SmolLM2-135M": (576, 1536, 30, 9, 3, 49152, 100_000.0, 1e-5, True, 4, 256),
}
ORDER = ["XS", "XS-MoE", "S", "M", "S-MoE", "SmolLM2-135M", "SmolLM2-135M-recompute"]
EXPERTS, TOP_K, AUX_COEF = 4, 2, 0.01


def build(name):
    import torch
    import transformers
    # `<config>-recompute`: activation recomputation, transformers' gradient checkpointing.
    recompute = name.endswith("-recompute")
    name = name.removesuffix("-recompute")
    base, moe = (name[:-4], True) if name.endswith("-MoE") else (name, False)
    h, i, l, nh, kvh, v, theta, eps, tied, b, t = CONFIGS[base]
    common = dict(hidden_size=h, intermediate_size=i, num_hidden_layers=l, num_attention_heads=nh,
                  num_key_value_heads=kvh, vocab_size=v, rope_theta=theta, rms_norm_eps=eps,
                  max_position_embeddings=max(t, 256), tie_word_embeddings=tied, attn_implementation="sdpa")
    if moe:
        config = transformers.MixtralConfig(num_local_experts=EXPERTS, num_experts_per_tok=TOP_K,
                                            router_aux_loss_coef=AUX_COEF, output_router_logits=True, **common)
        model = transformers.MixtralForCausalLM(config)
    else:
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**common))
    if recompute:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model.float().train(), v, b, t, moe


def optimizer(params):
    import torch
    for kind in ({"fused": True}, {"foreach": True}):
        try:
            opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1, **kind)
            return opt, next(iter(kind))
        except (RuntimeError, TypeError, ValueError):
            continue
    raise SystemExit("peer_pytorch: no AdamW implementation available")


def run_one(name, steps, warmup):
    import resource
    import time
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model, v, b, t, moe = build(name)
    opt, kind = optimizer(model.parameters())
    params = [p for p in model.parameters()]
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        tokens = torch.randint(0, v, (b, t + 1))
        x, y = tokens[:, :-1], tokens[:, 1:]
        opt.zero_grad(set_to_none=True)
        out = model(input_ids=x, use_cache=False)
        loss = F.cross_entropy(out.logits.reshape(-1, v), y.reshape(-1))
        if moe:
            loss = loss + AUX_COEF * out.aux_loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
        opt.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    median = sorted(times)[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"bench": "train_pytorch", "config": name, "tokens_per_s": round(b * t / median, 1),
                      "step_s": round(median, 4), "rss_mib": round(rss), "adamw": kind,
                      "model": "MixtralForCausalLM" if moe else "LlamaForCausalLM",
                      "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)


def run_all(names, steps, warmup):
    rows = []
    for name in names:
        # NOTE: a subprocess per config, so that each peak RSS is that config's alone.
        out = subprocess.run([sys.executable, __file__, "--one", name, "--steps", str(steps), "--warmup", str(warmup)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            raise SystemExit(f"peer_pytorch: config {name} failed (exit {out.returncode})")
        line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
        print(line, flush=True)
        rows.append(json.loads(line))
    return rows


def compare(bench_output, names, steps, warmup):
    """Reads btxpipe's bench output, runs the peer for the train configs in it, prints both side by side.
    A config btxpipe measured more than once (S and S-MoE: by the train and the moe bench) gets a row
    per measurement, so the spread within one run shows beside the ratio."""
    ours = {}
    with open(bench_output) as f:
        for line in f:
            if line.startswith('{"bench":"train"'):
                row = json.loads(line)
                ours.setdefault(row["config"], []).append(row)
    names = [n for n in (names or ORDER) if n in ours]
    if not names:
        raise SystemExit(f"peer_pytorch: no train rows in {bench_output}")
    peers = {r["config"]: r for r in run_all(names, steps, warmup)}
    # The BLAS ceiling: the ratio btxpipe would reach if its whole step ran at the sgemm rate btxpipe
    # measured at the model's own product shapes (MFU 100%): the model's FLOPs per token are the same
    # in both, so PyTorch's model GFLOP/s is btxpipe's scaled by the tokens/s ratio. A ratio target
    # above it needs a faster matrix product than the BLAS, not a faster step around it.
    print(f"\n{'config':<24}{'btxpipe tok/s':>14}{'PyTorch tok/s':>14}{'ratio':>8}{'BLAS ceiling':>14}"
          f"{'btxpipe RSS':>13}{'PyTorch RSS':>13}{'RSS ratio':>11}")
    for n in names:
        p = peers[n]
        for a in ours[n]:
            ratio = a["tokens_per_s"] / p["tokens_per_s"]
            known = a.get("model_gflops") and a.get("sgemm_gflops")
            ceiling = a["sgemm_gflops"] / (a["model_gflops"] / ratio) if known else None
            print(f"{n:<24}{a['tokens_per_s']:>14.0f}{p['tokens_per_s']:>14.0f}{ratio:>8.2f}"
                  f"{ceiling if ceiling is not None else float('nan'):>14.2f}"
                  f"{a['rss_mib']:>13.0f}{p['rss_mib']:>13.0f}{a['rss_mib'] / p['rss_mib']:>11.2f}")
            print(json.dumps({"bench": "train_vs_pytorch", "config": n, "speed_ratio": round(ratio, 3),
                              "blas_ceiling_ratio": ceiling and round(ceiling, 3), "rss_ratio": round(a["rss_mib"] / p["rss_mib"], 3)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", action="append", choices=ORDER, help="configs (default: all)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--one", choices=ORDER, help=argparse.SUPPRESS)
    parser.add_argument("--compare", metavar="BENCH_OUTPUT")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as error:
        raise SystemExit(f"peer_pytorch: needs torch and transformers (the hf-venv: make hf-venv): {error}")
    if args.one:
        run_one(args.one, args.steps, args.warmup)
    elif args.compare:
        compare(args.compare, args.config, args.steps, args.warmup)
    else:
        run_all(args.config or ORDER, args.steps, args.warmup)


if __name__ == "__main__":
    main()
