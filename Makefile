# btxpipe — the two commands a newcomer needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
SWIFT ?= swift
# Release everywhere: the numeric tests train small models and are ~50× slower in debug.
SWIFT_FLAGS ?= -c release
TEST_FLAGS ?= -c release -Xswiftc -enable-testing
BIN := .build/release/btxpipe

# Debian packages: system libraries, then the default corpora and the servers the tests use.
BUILD_DEBS := libopenblas-dev libzstd-dev libcurl4-openssl-dev pkg-config
DATA_DEBS := libpython3.11-stdlib dict-foldoc dict-wn pari-doc
TEST_DEBS := nginx python3 zstd slurm-wlm munge cmake
STAMP := .build/.debs

.PHONY: all build test run bench deps clean doctor hf-venv llama-cpp

all: build

# Installs what is missing (apt-get update once first); a no-op when everything is there.
deps: $(STAMP)
$(STAMP):
	@missing=""; for p in $(BUILD_DEBS) $(DATA_DEBS) $(TEST_DEBS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p .build && touch $(STAMP)

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

hf-venv:
	@$(HF_VENV)/bin/python -c "import $(HF_IMPORTS)" 2>/dev/null || { \
	  echo "hf-venv: installing $(HF_PACKAGES) into $(HF_VENV)"; \
	  python3 -m venv $(HF_VENV) && timeout 1200 $(HF_VENV)/bin/pip install -q $(HF_PACKAGES) && \
	  $(HF_VENV)/bin/python -c "import $(HF_IMPORTS)"; } || { \
	  echo "hf-venv: FAILED to install the Python reference stack ($(HF_PACKAGES)); the reference tests cannot run" >&2; exit 1; }

# llama.cpp itself, for the GGUF export tests: llama-cpp-python compiles it from source with cmake
# (portable AVX2 build, so pip's cached wheel runs on both the AVX2 AMD and the AVX-512 Intel
# machines), into the shared hf-venv; its sdist is kept unpacked under .build/ for llama.cpp's
# converter (convert_hf_to_gguf.py + gguf-py). No multimodal library (LLAVA_BUILD=OFF: a third of the
# build, unused). Paid once per machine (pip caches the wheel); a build
# that fails stops `make test` here, loudly.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CPP_SDIST := .build/llama-cpp-sdist
LLAMA_CPP_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAVA_BUILD=OFF

llama-cpp: deps hf-venv
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

test: deps hf-venv llama-cpp
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	BTXPIPE_REQUIRE_REFERENCE=1 BTXPIPE_MOTO_SERVER="$(MOTO_SERVER)" BTXPIPE_HF_PYTHON="$(CURDIR)/$(HF_VENV)/bin/python" \
	  $(SWIFT) test $(TEST_FLAGS) --skip-build

run: build
	$(BIN) run pipelines/btx.yaml
	$(BIN) report pipelines/btx.yaml

bench: build
	$(BIN) bench

doctor: build
	$(BIN) doctor

clean:
	rm -rf .build
