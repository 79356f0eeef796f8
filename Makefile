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
TEST_DEBS := nginx python3 zstd slurm-wlm munge
STAMP := .build/.debs

.PHONY: all build test run bench deps clean doctor hf-venv

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

# The Hugging Face reference check (transformers loads btxpipe's exports and must reproduce its logits)
# runs when this venv can be made (CPU torch wheel + transformers); otherwise those tests say "skipped".
HF_VENV := .build/hf-venv

hf-venv:
	@[ -x $(HF_VENV)/bin/python ] || { python3 -m venv $(HF_VENV) && \
	  timeout 600 $(HF_VENV)/bin/pip install -q torch==2.13.0+cpu transformers safetensors; } \
	  || { echo "hf-venv: could not install torch + transformers; the HF reference tests will be skipped"; rm -rf $(HF_VENV); }

test: deps hf-venv
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	BTXPIPE_MOTO_SERVER="$(MOTO_SERVER)" BTXPIPE_HF_PYTHON="$$([ -x $(HF_VENV)/bin/python ] && echo $(CURDIR)/$(HF_VENV)/bin/python)" \
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
