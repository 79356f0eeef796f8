#!/usr/bin/env python3
"""Vocab-only GGUF files of the tokenizer kinds btxpipe's GGUF import rebuilds, written the way
llama.cpp's converter writes them (conversion/base.py in llama.cpp), for GGUFTokenizerReferenceTests.

  bpe TOKENIZER_JSON OUT.gguf
      A Llama-3-style byte-level tokenizer.json (make_tokenizers.py's llama3.json) as
      `_set_vocab_gpt2` writes it: tokenizer.ggml.model "gpt2", pre "llama-bpe", the vocabulary by id
      (added special tokens CONTROL), token types and merges. (The converter picks "llama-bpe" by
      hashing the encoding of a check text: a small test tokenizer has no known hash, so the name is
      given here.)

  spm TRAIN_TEXT OUT_DIR
      A SentencePiece BPE model with byte fallback, trained on TRAIN_TEXT as Llama 2's was
      (model_type bpe, byte_fallback, split_digits, no normalization), saved as OUT_DIR/tokenizer.model;
      the tokenizer.json transformers converts it to (OUT_DIR/tokenizer.json: the reference), and
      OUT_DIR/spm.gguf as `_create_vocab_sentencepiece` + `_set_vocab_sentencepiece` write it:
      tokenizer.ggml.model "llama", tokens, scores and SentencePiece token types, no merges.

  llamacpp GGUF DOCS OUT
      llama.cpp's own token ids (llama_cpp, vocab_only) of each document of DOCS (the format of
      make_tokenizers.py encode), add_special=False, parse_special=False; written the same way.
"""
import json
import os
import struct
import sys

import gguf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tokenizers"))
from make_tokenizers import read_docs  # noqa: E402  (the documents' binary format, in one place)


def writer(path, vocab_size):
    """A GGUF writer with the llama hyper-parameters llama.cpp reads even for a vocab-only load."""
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tokenizer-fixture")
    w.add_context_length(256)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(128)
    w.add_head_count(2)
    w.add_head_count_kv(2)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(32)
    w.add_vocab_size(vocab_size)
    return w


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def bpe(tokenizer_json, out_path):
    doc = json.load(open(tokenizer_json, encoding="utf-8"))
    vocab = dict(doc["model"]["vocab"])
    added = {t["content"]: t for t in doc["added_tokens"]}
    for t in doc["added_tokens"]:
        vocab[t["content"]] = t["id"]
    size = max(vocab.values()) + 1
    reverse = {i: t for t, i in vocab.items()}
    tokens, types = [], []
    for i in range(size):   # base.py get_vocab_base
        if i not in reverse:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        else:
            token = reverse[i]
            tokens.append(token)
            if token in added:
                types.append(gguf.TokenType.CONTROL if added[token]["special"] else gguf.TokenType.USER_DEFINED)
            else:
                types.append(gguf.TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in doc["model"]["merges"]]
    w = writer(out_path, size)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<|begin_of_text|>"])
    w.add_eos_token_id(vocab["<|end_of_text|>"])
    w.add_add_bos_token(True)
    finish(w)


def spm(train_path, out_dir):
    import sentencepiece as sp
    from transformers import LlamaTokenizer
    from transformers.tokenization_utils_base import generate_merges

    os.makedirs(out_dir, exist_ok=True)
    prefix = os.path.join(out_dir, "tokenizer")
    sp.SentencePieceTrainer.train(
        input=train_path, model_prefix=prefix, model_type="bpe", vocab_size=1200, byte_fallback=True,
        split_digits=True, allow_whitespace_only_pieces=True, remove_extra_whitespaces=False,
        normalization_rule_name="identity", character_coverage=0.9995, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        max_sentence_length=1 << 20, minloglevel=2, num_threads=1)
    proc = sp.SentencePieceProcessor()
    proc.LoadFromFile(prefix + ".model")
    # transformers' conversion of a tokenizer.model (TokenizersBackend._convert_from_sentencepiece,
    # which needs protobuf, absent here): the vocabulary by id, merges from generate_merges skipping
    # the special tokens, into LlamaTokenizer (Metaspace, prepend "first", byte fallback).
    vocab = {proc.IdToPiece(i): i for i in range(proc.vocab_size())}
    specials = {"<unk>", "<s>", "</s>"}
    reference = LlamaTokenizer(vocab=vocab, merges=generate_merges(vocab, skip_tokens=specials),
                               unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    reference.backend_tokenizer.save(os.path.join(out_dir, "tokenizer.json"))
    tokens, scores, types = [], [], []
    for i in range(proc.vocab_size()):   # base.py _create_vocab_sentencepiece
        tokens.append(proc.IdToPiece(i).encode("utf-8"))
        scores.append(proc.GetScore(i))
        types.append(gguf.TokenType.UNKNOWN if proc.IsUnknown(i) else gguf.TokenType.CONTROL if proc.IsControl(i)
                     else gguf.TokenType.UNUSED if proc.IsUnused(i) else gguf.TokenType.BYTE if proc.IsByte(i)
                     else gguf.TokenType.NORMAL)
    w = writer(os.path.join(out_dir, "spm.gguf"), len(tokens))
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    finish(w)


def llamacpp(gguf_path, docs_path, out_path):
    from llama_cpp import Llama

    llm = Llama(model_path=gguf_path, vocab_only=True, verbose=False)
    with open(out_path, "wb") as out:
        for text in read_docs(docs_path):
            ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False) if text else []
            out.write(struct.pack("<I", len(ids)))
            out.write(struct.pack("<%dI" % len(ids), *ids))


if __name__ == "__main__":
    {"bpe": bpe, "spm": spm, "llamacpp": llamacpp}[sys.argv[1]](*sys.argv[2:])
