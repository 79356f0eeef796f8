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
TEST_DEBS := nginx python3 zstd
STAMP := .build/.debs

.PHONY: all build test run bench deps clean doctor

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

test: deps
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build

run: build
	$(BIN) run pipelines/btx.yaml

bench: build
	$(BIN) bench

doctor: build
	$(BIN) doctor

clean:
	rm -rf .build
