#!/usr/bin/env python3
"""GGUF fixtures and goldens for btxpipe's GGUF reader/import tests, made by llama.cpp's own `gguf`
package and by transformers (the venv of `make hf-venv`: torch, transformers, tokenizers, gguf).

Modes:

    python make_fixtures.py fixtures [OUT]
        The small checked-in files (default OUT: this script's directory), fixed seeds:
          types.gguf, types-v2.gguf   metadata of every value type; one tensor of every type btxpipe
                                      dequantizes (random valid blocks), written by gguf.GGUFWriter
                                      (types-v2 is the same bytes with version 2: v2 and v3 share a layout)
          types.expected.json         that metadata, and each tensor's shape, type, offset and values
                                      from gguf.quants.dequantize (float32, exact as JSON numbers)
          tiny-dense.gguf             a random LlamaForCausalLM (GQA 2:1, untied) in llama.cpp's layout:
                                      Q/K rows permuted, q8_0/q4_0/q4_1/f16/bf16/f32 tensors, a byte-level
                                      BPE tokenizer trained by `tokenizers` in tokenizer.ggml.*
          tiny-moe.gguf               a random MixtralForCausalLM (4 experts, top-2, tied) with stacked
                                      ffn_*_exps tensors
          tiny.expected.json          per model: logits of TOKENS from transformers running the GGUF's
                                      weights (dense: AutoModelForCausalLM.from_pretrained(gguf_file=);
                                      MoE: MixtralForCausalLM with the dequantized, un-permuted weights),
                                      and AutoTokenizer(gguf_file=)'s ids for TEXTS

    python make_fixtures.py smollm2 GGUF OUTDIR
        Goldens of the real SmolLM2 GGUF (run by `make smollm2`, not committed): transformers' logits on a
        64-token prompt (logits.f32, [64, V] float32), its greedy continuation of "The capital of France is"
        (32 tokens), gguf.quants.dequantize of one q4_1 tensor and of the q8_0 embedding's first rows,
        AutoTokenizer's tokenizer.json and its ids for samples of the default corpora (golden.json).

    python make_fixtures.py encode TOKENIZER_JSON TEXTS_JSON
        Test time: prints the ids `tokenizers` gives each text of TEXTS_JSON with TOKENIZER_JSON, as JSON.
"""
import glob
import gzip
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TEXTS = ["Hello world, the capital of France is Paris.", "  leading spaces\tand tabs\nnew lines\n\n",
         "def f(x):\n    return x ** 2  # squares", "émigré naïve 東京 🙂 <|im_start|>user hi<|im_end|>", ""]
THETA = 10000.0
TOKENS = [[5, 17, 200, 3, 99, 45, 12, 7, 250, 31, 64, 128, 255, 2, 9, 300]]


def permute(w, heads):
    """llama.cpp's convert_hf_to_gguf.py `LlamaModel.permute`: HF rotate-half rows → interleaved pairs."""
    rows = w.shape[0]
    return w.reshape(heads, 2, rows // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, heads):
    rows = w.shape[0]
    return w.reshape(heads, rows // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


# ---------------------------------------------------------------------------------------------- types

def random_blocks(rng, qtype, rows, cols):
    """Random but valid ggml blocks: random bits, with every f16 scale field a finite value."""
    import gguf
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(rows * cols // block, size), dtype=np.uint8)
    T = gguf.GGMLQuantizationType
    scale_offsets = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}[qtype]
    for off in scale_offsets:
        scales = rng.uniform(-0.5, 0.5, size=raw.shape[0]).astype(np.float16)
        specials = np.array([6e-8, -0.0, 65504], dtype=np.float16)  # subnormal, -0, max
        scales[:len(specials)] = specials[:len(scales)]
        raw[:, off:off + 2] = scales.view(np.uint8).reshape(-1, 2)
    return raw.reshape(rows, cols // block * size)


def make_types(out):
    import gguf
    T = gguf.GGMLQuantizationType
    rng = np.random.default_rng(1234)
    w = gguf.GGUFWriter(os.path.join(out, "types.gguf"), arch="llama")
    metadata = [
        ("t.u8", w.add_uint8, 200), ("t.i8", w.add_int8, -100), ("t.u16", w.add_uint16, 60000),
        ("t.i16", w.add_int16, -30000), ("t.u32", w.add_uint32, 4000000000), ("t.i32", w.add_int32, -2000000000),
        ("t.f32", w.add_float32, 0.1), ("t.bool", w.add_bool, True), ("t.string", w.add_string, "héllo 🙂"),
        ("t.u64", w.add_uint64, 2 ** 63 + 5), ("t.i64", w.add_int64, -(2 ** 62)), ("t.f64", w.add_float64, 1e-300),
        ("t.strings", w.add_array, ["a", "", "ü"]), ("t.ints", w.add_array, [1, -2, 3]),
    ]
    for key, add, value in metadata:
        add(key, value)
    w.add_custom_alignment(64)
    tensors = []
    shapes = {T.F32: (2, 64), T.F16: (3, 64), T.BF16: (2, 64), T.Q8_0: (2, 64), T.Q4_0: (2, 64), T.Q4_1: (3, 64),
              T.Q4_K: (2, 256), T.Q5_K: (2, 256), T.Q6_K: (3, 256)}
    for qtype, (rows, cols) in shapes.items():
        name = f"tensor.{qtype.name.lower()}"
        if qtype == T.F32:
            data = rng.standard_normal((rows, cols)).astype(np.float32)
            w.add_tensor(name, data)
            values = data
        elif qtype in (T.F16, T.BF16):
            f = rng.standard_normal((rows, cols)).astype(np.float32)
            raw = gguf.quants.quantize(f, qtype)
            w.add_tensor(name, raw, raw_dtype=qtype)
            values = gguf.quants.dequantize(raw, qtype)
        else:
            raw = random_blocks(rng, qtype, rows, cols)
            w.add_tensor(name, raw, raw_dtype=qtype)
            values = gguf.quants.dequantize(raw, qtype)
        tensors.append({"name": name, "type": qtype.name.lower(), "shape": [rows, cols],
                        "values": [float(v) for v in np.asarray(values, dtype=np.float32).ravel()]})
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    reader = gguf.GGUFReader(os.path.join(out, "types.gguf"))
    for t, info in zip(tensors, reader.tensors):
        t["offset"] = int(info.data_offset - reader.data_offset)
    fields = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        fields[name] = {"types": [int(x) for x in field.types], "value": field.contents()}
    with open(os.path.join(out, "types.expected.json"), "w") as f:
        json.dump({"metadata": fields, "tensors": tensors}, f)
    data = bytearray(open(os.path.join(out, "types.gguf"), "rb").read())
    data[4:8] = (2).to_bytes(4, "little")
    open(os.path.join(out, "types-v2.gguf"), "wb").write(bytes(data))


# ----------------------------------------------------------------------------------------- tiny models

def train_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    corpus = [open(p, encoding="utf-8").read() for p in sorted(glob.glob("/usr/lib/python3.11/json/*.py"))]
    tok.train_from_iterator(corpus, trainer)
    model = json.loads(tok.to_str())["model"]
    tokens = [None] * len(model["vocab"])
    for token, index in model["vocab"].items():
        tokens[index] = token
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return tokens, merges


def add_tokenizer(w, tokens, merges, add_bos):
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types([3 if t.startswith("<|") else 1 for t in tokens])
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(add_bos)
    w.add_chat_template("{% for m in messages %}<|im_start|>{{ m['content'] }}<|im_end|>{% endfor %}")


def write_llama_gguf(path, config, state, types, experts=0):
    """The HF state dict in llama.cpp's names and layout; `types` picks each tensor's ggml type."""
    import gguf
    T = gguf.GGMLQuantizationType
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_context_length(config.max_position_embeddings)
    w.add_embedding_length(config.hidden_size)
    w.add_block_count(config.num_hidden_layers)
    w.add_feed_forward_length(config.intermediate_size)
    w.add_head_count(config.num_attention_heads)
    w.add_head_count_kv(config.num_key_value_heads)
    w.add_rope_freq_base(THETA)
    w.add_layer_norm_rms_eps(config.rms_norm_eps)
    w.add_vocab_size(config.vocab_size)
    w.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
    if experts:
        w.add_expert_count(experts)
        w.add_expert_used_count(config.num_experts_per_tok)
    add_tokenizer(w, *train_tokenizer(), add_bos=not experts)
    stored = {}
    for hf, gg, value in llama_tensors(config, state, experts):
        qtype = types(gg)
        data = value.numpy().astype(np.float32)
        raw = data if qtype == T.F32 else gguf.quants.quantize(data, qtype)
        w.add_tensor(gg, raw, raw_dtype=None if qtype == T.F32 else qtype)
        stored[hf] = gguf.quants.dequantize(raw, qtype) if qtype != T.F32 else data
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return stored


def llama_tensors(config, state, experts):
    """(hf name, gguf name, tensor in GGUF layout) for every tensor; experts stacked per layer."""
    import torch
    glob_names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
                  "lm_head.weight": "output.weight"}
    layer_names = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
                   "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
                   "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
                   "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
                   "mlp.down_proj.weight": "ffn_down.weight", "block_sparse_moe.gate.weight": "ffn_gate_inp.weight"}
    out = []
    for hf, gg in glob_names.items():
        if hf in state and not (hf == "lm_head.weight" and config.tie_word_embeddings):
            out.append((hf, gg, state[hf]))
    for l in range(config.num_hidden_layers):
        for suffix, gg in layer_names.items():
            name = f"model.layers.{l}.{suffix}"
            if name not in state:
                continue
            value = state[name]
            if suffix == "self_attn.q_proj.weight":
                value = torch.from_numpy(permute(value.numpy(), config.num_attention_heads))
            if suffix == "self_attn.k_proj.weight":
                value = torch.from_numpy(permute(value.numpy(), config.num_key_value_heads))
            out.append((name, f"blk.{l}.{gg}", value))
        for wname, gg in (("w1", "ffn_gate_exps.weight"), ("w3", "ffn_up_exps.weight"), ("w2", "ffn_down_exps.weight")):
            if experts:
                stack = torch.stack([state[f"model.layers.{l}.block_sparse_moe.experts.{e}.{wname}.weight"] for e in range(experts)])
                out.append((f"model.layers.{l}.block_sparse_moe.experts.*.{wname}.weight", f"blk.{l}.{gg}", stack))
    return out


def make_tiny(out):
    import gguf
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM, MixtralConfig, MixtralForCausalLM
    import importlib.util
    spec = importlib.util.spec_from_file_location("hf_fixtures", os.path.join(HERE, "..", "hf", "make_fixtures.py"))
    hf_fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hf_fixtures)
    legacy_state_dict = hf_fixtures.legacy_state_dict
    T = gguf.GGMLQuantizationType
    expected = {}
    # Dense: transformers loads the GGUF itself (dequantizing and un-permuting Q/K its own way).
    torch.manual_seed(7)
    config = LlamaConfig(vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64, rope_theta=THETA, rms_norm_eps=1e-5,
                         tie_word_embeddings=False)
    model = LlamaForCausalLM(config).eval()
    kinds = {"attn_q": T.Q8_0, "attn_k": T.F16, "attn_v": T.BF16, "attn_output": T.Q4_0, "ffn_gate": T.Q4_1,
             "ffn_up": T.Q8_0, "ffn_down": T.F32, "token_embd": T.Q8_0, "output.": T.Q4_1}
    pick = lambda gg: next((t for k, t in kinds.items() if k in gg), T.F32)
    write_llama_gguf(os.path.join(out, "tiny-dense.gguf"), config, legacy_state_dict(model), pick)
    loaded = AutoModelForCausalLM.from_pretrained(out, gguf_file="tiny-dense.gguf", dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(out, gguf_file="tiny-dense.gguf")
    with torch.no_grad():
        logits = loaded(torch.tensor(TOKENS)).logits
    expected["tiny-dense"] = {"tokens": TOKENS, "logits": logits.flatten().tolist(),
                              "texts": TEXTS, "ids": [tokenizer(t)["input_ids"] for t in TEXTS]}
    # MoE: transformers has no llama-with-experts GGUF loader; run Mixtral on the GGUF's own weights.
    torch.manual_seed(8)
    config = MixtralConfig(vocab_size=320, hidden_size=64, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2, max_position_embeddings=64,
                           rope_theta=THETA, rms_norm_eps=1e-5, tie_word_embeddings=True)
    model = MixtralForCausalLM(config).eval()
    state = legacy_state_dict(model)
    pick = lambda gg: T.Q8_0 if "exps" in gg or "token_embd" in gg else T.F32
    stored = write_llama_gguf(os.path.join(out, "tiny-moe.gguf"), config, state, pick, experts=4)
    for hf, value in stored.items():
        value = torch.from_numpy(np.ascontiguousarray(value))
        if "q_proj" in hf:
            value = torch.from_numpy(unpermute(value.numpy(), config.num_attention_heads))
        if "k_proj" in hf:
            value = torch.from_numpy(unpermute(value.numpy(), config.num_key_value_heads))
        if ".experts.*." in hf:
            for e in range(value.shape[0]):
                state[hf.replace("*", str(e))] = value[e]
        else:
            state[hf] = value
    state.pop("lm_head.weight", None)
    import tempfile
    from safetensors.torch import save_file
    with tempfile.TemporaryDirectory() as tmp:
        config.save_pretrained(tmp)
        save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(tmp, "model.safetensors"))
        reference = MixtralForCausalLM.from_pretrained(tmp, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = reference(torch.tensor(TOKENS)).logits
        drift = (logits - model(torch.tensor(TOKENS)).logits).abs().max().item()
    assert 0 < drift < 0.1, f"the dequantized Mixtral drifts {drift} from the original: weights not loaded?"
    expected["tiny-moe"] = {"tokens": TOKENS, "logits": logits.flatten().tolist()}
    with open(os.path.join(out, "tiny.expected.json"), "w") as f:
        json.dump(expected, f)


# ---------------------------------------------------------------------------------------------- SmolLM2

def corpus_samples():
    """Samples of the default corpora: Python sources, dictd entries, math documentation."""
    texts = []
    for path in ["/usr/lib/python3.11/textwrap.py", "/usr/lib/python3.11/json/decoder.py", "/usr/lib/python3.11/this.py"]:
        texts.append(open(path, encoding="utf-8").read()[:12000])
    for path in ["/usr/share/dictd/foldoc.dict.dz", "/usr/share/dictd/wn.dict.dz"]:
        with gzip.open(path) as f:
            texts.append(f.read(400000)[300000:312000].decode("utf-8", errors="ignore"))
    for path in sorted(glob.glob("/usr/share/pari/doc/*.tex"))[:2]:
        texts.append(open(path, encoding="utf-8", errors="ignore").read()[:12000])
    return texts + TEXTS


def make_smollm2(gguf_path, out):
    import gguf
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.manual_seed(0)
    directory, name = os.path.split(os.path.abspath(gguf_path))
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
    prompt_text = open("/usr/lib/python3.11/textwrap.py", encoding="utf-8").read()[:2000]
    prompt = tokenizer(prompt_text)["input_ids"][:64]
    question = tokenizer("The capital of France is")["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([prompt])).logits[0].float().numpy()
        greedy = list(question)
        for _ in range(32):   # plain arg-max, no stop token: 32 tokens whatever they are
            greedy.append(int(model(torch.tensor([greedy])).logits[0, -1].argmax()))
    logits.astype("<f4").tofile(os.path.join(out, "logits.f32"))
    reader = gguf.GGUFReader(gguf_path)
    tensors = {t.name: t for t in reader.tensors}
    goldens = []
    for tname, rows in (("blk.0.attn_q.weight", None), ("token_embd.weight", 64)):
        t = tensors[tname]
        raw = np.asarray(t.data)
        raw = raw if rows is None else raw[:rows]
        values = gguf.quants.dequantize(raw, t.tensor_type).astype("<f4")
        values.tofile(os.path.join(out, f"{tname}.f32"))
        goldens.append({"name": tname, "rows": int(values.shape[0]), "type": t.tensor_type.name.lower()})
    texts = corpus_samples()
    golden = {"prompt": prompt, "question": question, "greedy": greedy[len(question):], "dequantized": goldens,
              "texts": texts, "ids": [tokenizer(t)["input_ids"] for t in texts],
              "tokenizer": json.loads(tokenizer.backend_tokenizer.to_str()),
              "greedy_text": tokenizer.decode(greedy[len(question):])}
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(golden, f)
    print(f"smollm2 goldens in {out}: greedy {golden['greedy_text']!r}")


def encode(tokenizer_json, texts_json):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tokenizer_json)
    texts = json.load(open(texts_json))
    print(json.dumps([tok.encode(t).ids for t in texts]))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "fixtures"
    if mode == "fixtures":
        out = sys.argv[2] if len(sys.argv) > 2 else HERE
        make_types(out)
        make_tiny(out)
    elif mode == "smollm2":
        os.makedirs(sys.argv[3], exist_ok=True)
        make_smollm2(sys.argv[2], sys.argv[3])
    elif mode == "encode":
        encode(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
