# Online Connect — every target has a one-line description after "##"; `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PROTO_FILES := $(wildcard protos/onlineconnect/v1/*.proto)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List every target with one line each
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create .venv and install the project with its development tools

.PHONY: generate
generate: $(VENV)/.installed ## Regenerate the Python gRPC code in onlineconnect/v1 from protos/
	$(PY) -m onlineconnect._codegen

.PHONY: demo
demo: $(VENV)/.installed ## Start gateway + agent on the SQLite demo ERP in the foreground (Ctrl-C stops)
	$(BIN)/onlineconnect demo --config-dir deploy/demo

.PHONY: test
test: $(VENV)/.installed ## Run the whole test suite
	$(BIN)/pytest

.PHONY: bench
bench: $(VENV)/.installed ## Relay vs. direct throughput and latency at concurrency 1/16/64 (writes bench/results/)
	$(PY) bench/relay_bench.py

.PHONY: lint
lint: $(VENV)/.installed ## Lint and type-check the code
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy onlineconnect agent gateway

.PHONY: clean
clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
