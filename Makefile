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

.PHONY: install run serve gateway test lint bench load load-distributed clean

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
	$(BIN)/ruff check mockserver harness loadtests tests
	$(BIN)/ruff format --check mockserver harness loadtests tests

bench: $(STAMP)
	$(BIN)/python -m harness.bench

load: $(STAMP)
	$(BIN)/harness load

load-distributed: $(STAMP)
	$(BIN)/harness load --workers $(WORKERS)

clean:
	rm -rf .venv build *.egg-info reports/*.json
