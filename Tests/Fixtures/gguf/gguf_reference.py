#!/usr/bin/env python3
"""llama.cpp's own tools as references for btxpipe's GGUF export (run by Tests/BTXStagesTests/GGUF*Tests).

    python gguf_reference.py dump FILE.gguf
        JSON on stdout: metadata (key -> {"type": gguf value type name, "value": ...}), tensors
        (name, row-major shape, ggml type name, offset), alignment and data offset, read by gguf-py's
        GGUFReader.
    python gguf_reference.py dequantize FILE.gguf OUTDIR
        Each tensor dequantized by gguf.quants to OUTDIR/NAME.f32 (raw little-endian, row-major).
    python gguf_reference.py quantize TYPE IN.f32 COLS OUT
        gguf.quants.quantize of the [rows, COLS] f32 matrix in IN.f32 as TYPE (F16, Q8_0, Q4_0).
    python gguf_reference.py convert LLAMA_CPP_DIR HF_DIR OUT.gguf OUTTYPE
        llama.cpp's convert_hf_to_gguf.py on HF_DIR. The BPE pre-tokenizer hash check is answered
        "gpt-2" (btxpipe's byte-level BPE splits with GPT-2's regex; its hash is in no list).
    python gguf_reference.py greedy FILE.gguf PROMPT_TEXT N [LOGITS_OUT]
        llama.cpp (llama-cpp-python) tokenizes PROMPT_TEXT (no BOS) and continues it greedily N
        tokens: JSON {"prompt": ids, "continuation": ids}; LOGITS_OUT gets the prompt's logits
        [T, V] as raw f32.
"""
import json
import os
import sys

import numpy as np


def dump(path):
    from gguf import GGUFReader
    from gguf.constants import GGUFValueType
    reader = GGUFReader(path)
    metadata = {}
    for key, field in reader.fields.items():
        kind = field.types[0] if field.types else None
        if kind == GGUFValueType.ARRAY:
            sub = field.types[1] if len(field.types) > 1 else None
            value = field.contents()
            metadata[key] = {"type": "ARRAY", "element": sub.name if sub is not None else None, "value": value}
        else:
            metadata[key] = {"type": kind.name if kind is not None else None, "value": field.contents()}
    tensors = [{"name": t.name, "shape": [int(d) for d in reversed(t.shape.tolist())], "type": t.tensor_type.name,
                "offset": int(t.data_offset)} for t in reader.tensors]
    print(json.dumps({"metadata": metadata, "tensors": tensors, "alignment": int(reader.alignment),
                      "data_offset": int(reader.data_offset)}, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def dequantize(path, out):
    from gguf import GGUFReader
    from gguf.quants import dequantize as deq
    reader = GGUFReader(path)
    os.makedirs(out, exist_ok=True)
    for t in reader.tensors:
        values = deq(t.data, t.tensor_type).astype(np.float32)
        values.tofile(os.path.join(out, t.name + ".f32"))


def quantize(kind, path, cols, out):
    from gguf import GGMLQuantizationType
    from gguf.quants import quantize as q
    data = np.fromfile(path, dtype=np.float32).reshape(-1, int(cols))
    q(data, GGMLQuantizationType[kind]).tofile(out)


def convert(llama_cpp, hf_dir, out, outtype):
    sys.path.insert(0, llama_cpp)
    sys.argv = ["convert_hf_to_gguf.py", hf_dir, "--outfile", out, "--outtype", outtype]
    import importlib.util
    spec = importlib.util.spec_from_file_location("convert_hf_to_gguf", os.path.join(llama_cpp, "convert_hf_to_gguf.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from conversion.base import TextModel
    TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
    module.main()


def greedy(path, prompt, n, logits_out=None):
    from llama_cpp import Llama
    # NOTE: logits_all: without it llama-cpp-python 0.3.36 does not keep the logits the loop reads.
    llm = Llama(model_path=path, n_ctx=64, n_batch=64, n_threads=2, verbose=False, logits_all=True)
    ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=False)
    llm.reset()
    llm.eval(ids)
    if logits_out:
        np.asarray(llm.scores[:len(ids)], dtype=np.float32).tofile(logits_out)
    out = []
    for _ in range(int(n)):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out.append(token)
        llm.eval([token])
    print(json.dumps({"prompt": list(ids), "continuation": out}))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"dump": dump, "dequantize": dequantize, "quantize": quantize, "convert": convert, "greedy": greedy}[mode](*args)
