#!/usr/bin/env python3
"""Golden ids for BPETokenizerTests.testHuggingFaceTokenizersLibraryEncodesLikeUs.

Needs the `tokenizers` package (pip install tokenizers). Run from this folder after the test has
written bpe_tokenizer.json (it does so when the file is missing):
    python3 hf_tokenizer_golden.py > bpe_sample_ids.txt
"""
from tokenizers import Tokenizer

tokenizer = Tokenizer.from_file("bpe_tokenizer.json")
text = open("bpe_sample.txt", encoding="utf-8").read()
print(" ".join(str(i) for i in tokenizer.encode(text).ids))
