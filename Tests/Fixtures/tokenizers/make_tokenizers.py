#!/usr/bin/env python3
"""Reference tokenizers for btxpipe's HFTokenizer tests (BTXDataTests.HFTokenizerReferenceTests).

Made OFFLINE with the `tokenizers` package (no download): small BPE tokenizers trained on the text
the test hands over, with exactly the pre-tokenizer/normalizer/decoder configurations of the models
btxpipe must read:

  llama3          Split(Llama-3 regex, Isolated) + ByteLevel(use_regex=false), ignore_merges
  qwen2           NFC + Split(Qwen2 regex) + ByteLevel(use_regex=false)
  smollm2         Digits(individual) + ByteLevel(use_regex=true)   (transformers' GGUF gpt2 conversion)
  gpt2            ByteLevel(use_regex=true)                        (GPT-2's own layout: any ids)
  llama2-legacy   Prepend("▁") + Replace(" ", "▁") normalizer, BPE byte_fallback + fuse_unk, <0xNN> tokens
  llama2          Metaspace(prepend_scheme=first, split=false) pre-tokenizer, otherwise as llama2-legacy

Usage:
  make_tokenizers.py make OUT_DIR TRAIN_TEXT        writes OUT_DIR/<name>.json for every name above
  make_tokenizers.py encode TOKENIZER_JSON DOCS OUT  encodes each document of DOCS (u32 LE length +
      bytes, decoded as UTF-8 with errors="replace"), add_special_tokens=False; writes per document
      u32 LE count + u32 LE ids
  make_tokenizers.py autotokenizer DIR TEXTS_JSON   prints AutoTokenizer(DIR)'s ids of each text (JSON)
"""
import json
import struct
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
VOCAB = 1200


def byte_level(name, pre, specials, normalizer=None, ignore_merges=False):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    return tok, trainer


def sentencepiece(text, metaspace):
    """A Llama-2-style tokenizer.json: <unk> <s> </s>, the 256 <0xNN> byte tokens, then learned pieces."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, show_progress=False, limit_alphabet=200)
    tok.train_from_iterator([text], trainer)
    learned = json.loads(tok.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for piece, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1]):
        vocab.setdefault(piece, len(vocab))
    merges = [m if isinstance(m, str) else " ".join(m) for m in learned["merges"]]
    added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for c, i in (("<unk>", 0), ("<s>", 1), ("</s>", 2))]
    if metaspace:
        normalizer = None
        pre = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
        decoder = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    else:
        normalizer = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                         {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
        pre = None
        decoder = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    doc = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": normalizer,
           "pre_tokenizer": pre,
           "post_processor": {"type": "TemplateProcessing",
                              "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                              "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                       {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                              "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
           "decoder": decoder,
           "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                     "vocab": vocab, "merges": merges}}
    return Tokenizer.from_str(json.dumps(doc))


def make(out_dir, train_path):
    text = open(train_path, encoding="utf-8", errors="replace").read()
    chat = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    specs = {
        "llama3": byte_level("llama3", pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
            ["<|begin_of_text|>", "<|end_of_text|>"], ignore_merges=True),
        "qwen2": byte_level("qwen2", pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), chat, normalizer=normalizers.NFC()),
        "smollm2": byte_level("smollm2", pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]), chat),
        "gpt2": byte_level("gpt2", pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), ["<|endoftext|>"]),
    }
    for name, (tok, trainer) in specs.items():
        tok.train_from_iterator([text], trainer)
        tok.save(f"{out_dir}/{name}.json")
    sentencepiece(text, metaspace=False).save(f"{out_dir}/llama2-legacy.json")
    sentencepiece(text, metaspace=True).save(f"{out_dir}/llama2.json")


def read_docs(path):
    data = open(path, "rb").read()
    docs, at = [], 0
    while at < len(data):
        (n,) = struct.unpack_from("<I", data, at)
        docs.append(data[at + 4:at + 4 + n].decode("utf-8", errors="replace"))
        at += 4 + n
    return docs


def encode(tokenizer_path, docs_path, out_path):
    tok = Tokenizer.from_file(tokenizer_path)
    with open(out_path, "wb") as out:
        for enc in tok.encode_batch(read_docs(docs_path), add_special_tokens=False):
            out.write(struct.pack("<I", len(enc.ids)))
            out.write(struct.pack("<%dI" % len(enc.ids), *enc.ids))


def autotokenizer(directory, texts_path):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(directory)
    texts = json.load(open(texts_path))
    print(json.dumps({"ids": [tok.encode(t, add_special_tokens=False) for t in texts],
                      "eos": tok.eos_token, "bos": tok.bos_token, "class": type(tok).__name__}))


if __name__ == "__main__":
    {"make": make, "encode": encode, "autotokenizer": autotokenizer}[sys.argv[1]](*sys.argv[2:])
