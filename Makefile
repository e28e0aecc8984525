# Every target works on a fresh machine: when no virtual env is active, one is
# made in .venv and the project is installed into it (once, and again when
# pyproject.toml changes).
SHELL := /bin/bash
PY ?= python3
ifdef VIRTUAL_ENV
  VENV := $(VIRTUAL_ENV)
else
  VENV := .venv
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2

.PHONY: install run serve gateway test lint bench load load-distributed mutation clean

$(STAMP): pyproject.toml
	@if [ ! -x "$(BIN)/python" ]; then $(PY) -m venv $(VENV); fi
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/harness run

serve: $(STAMP)
	$(BIN)/mockopenai serve --host $(HOST) --port $(PORT) --scenarios scenarios

# A local secret when none is set; mint a token with: JWT_SECRET=... harness token
JWT_SECRET ?= local-development-secret-change-me-0123456789
export JWT_SECRET

gateway: $(STAMP)
	@echo "token for curl: $$($(BIN)/harness token)"
	$(BIN)/harness gateway --host $(HOST) --port 3000 --upstream http://$(HOST):$(PORT)/v1

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check mockserver harness servekit loadtests tests tools
	$(BIN)/ruff format --check mockserver harness servekit loadtests tests tools

# make bench also sets up what it compares against, each optional: a failed install is a
# skipped comparison, said in BENCHMARKS.md. LiteLLM proxy gets a virtual env of its own (it pins
# an older openai than the project's); aimock is installed when npm is on PATH.
BENCH_CACHE := .cache/bench
LITELLM_VERSION := 1.106.12
LITELLM_STAMP := $(BENCH_CACHE)/litellm-venv/.installed-$(LITELLM_VERSION)
AIMOCK_VERSION := 1.43.0
AIMOCK_STAMP := $(BENCH_CACHE)/aimock/.installed-$(AIMOCK_VERSION)

$(LITELLM_STAMP): | $(STAMP)
	@echo "bench: installing litellm[proxy]==$(LITELLM_VERSION) into $(BENCH_CACHE)/litellm-venv"
	@rm -rf $(BENCH_CACHE)/litellm-venv && $(BIN)/python -m venv $(BENCH_CACHE)/litellm-venv && \
	  $(BENCH_CACHE)/litellm-venv/bin/python -m pip install -q 'litellm[proxy]==$(LITELLM_VERSION)' \
	  && touch $@ || echo "bench: LiteLLM proxy could not be installed; the bench skips it"

$(AIMOCK_STAMP):
	@if command -v npm >/dev/null; then \
	  echo "bench: installing @copilotkit/aimock@$(AIMOCK_VERSION) into $(BENCH_CACHE)/aimock"; \
	  mkdir -p $(BENCH_CACHE)/aimock && cd $(BENCH_CACHE)/aimock && \
	  npm install --no-audit --no-fund --silent @copilotkit/aimock@$(AIMOCK_VERSION) && touch .installed-$(AIMOCK_VERSION) \
	  || echo "bench: aimock could not be installed; the bench skips it"; \
	else echo "bench: npm is not on PATH; the bench skips aimock"; fi

bench: $(STAMP) $(LITELLM_STAMP) $(AIMOCK_STAMP)
	$(BIN)/python -m harness.bench

# mutation testing of the gateway's retry and failure policy ([tool.mutmut] in pyproject.toml)
mutation: $(STAMP)
	rm -rf mutants
	$(BIN)/python -m mutmut run --max-children 2 > /dev/null
	$(BIN)/python tools/mutation_score.py

load: $(STAMP)
	$(BIN)/harness load

load-distributed: $(STAMP)
	$(BIN)/harness load --workers $(WORKERS)

clean:
	rm -rf .venv build *.egg-info reports/*.json mutants
