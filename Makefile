# The two commands: `make dev` runs the system on a local control plane; `make test` runs
# the tests. Both install what they need: a virtualenv under .venv and the control-plane
# binaries (built once from the Go module proxy, cached under ~/.cache/dlws-devcluster).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STATE ?= .cluster
# real: one real node (kubelet, containerd, runc) runs every job as a container; needs
# root. kwok: fake nodes, no process of a job ever runs (any user; thousands of pods).
NODE ?= real

.PHONY: help dev demo test test-unit test-cluster lint cluster-binaries cluster-up cluster-down bench bench-quick clean fuzz chaos reliability

help:
	@echo "make dev          run the local control plane, the operator and the shim (Ctrl-C stops all)"
	@echo "                  NODE=real (default: a real node, jobs run in containers; root) or NODE=kwok"
	@echo "make test         install, build the control plane if needed, run every test"
	@echo "make cluster-up   start the local control plane (kubeconfig: $(STATE)/kubeconfig)"
	@echo "make cluster-down stop it and remove its state"
	@echo "make bench        benchmarks against the API server itself as baseline"
	@echo "make fuzz / chaos longer hostile-input / fault-injection runs (docs/reliability.md)"

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

cluster-binaries:
	devcluster/build.sh >/dev/null

cluster-up: $(VENV)/.installed cluster-binaries
	$(PY) -m devcluster up --state $(STATE) --node $(NODE)

cluster-down: $(VENV)/.installed
	$(PY) -m devcluster down --state $(STATE)

dev: $(VENV)/.installed cluster-binaries
	$(PY) -m devcluster dev --state $(STATE) --node $(NODE)

demo: $(VENV)/.installed
	$(PY) -m devcluster demo --state $(STATE)

# mypy cannot follow the editable install's package_dir mapping (contract/ is imported as
# dlws_contract), so it checks the packages through a tree of symlinks with their real names.
TYPECHECK := build/typecheck
lint: $(VENV)/.installed
	mkdir -p $(TYPECHECK)
	ln -sfn ../../contract $(TYPECHECK)/dlws_contract
	ln -sfn ../../operator/dlws_operator $(TYPECHECK)/dlws_operator
	ln -sfn ../../api_shim $(TYPECHECK)/api_shim
	MYPYPATH=$(TYPECHECK) $(PY) -m mypy --cache-dir $(TYPECHECK)/.mypy_cache -p dlws_contract -p dlws_operator -p api_shim
	MYPYPATH=$(TYPECHECK) $(PY) -m mypy --cache-dir $(TYPECHECK)/.mypy_cache bench
	$(PY) -m mypy devcluster

test-unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit -q

# Integration tests start their own control plane (never the user's cluster); set
# DLWS_TEST_KUBECONFIG to reuse a running one on purpose.
test: $(VENV)/.installed cluster-binaries
	$(PY) -m pytest -q -ra

# Longer versions of the hostile-input and fault-injection tests (docs/reliability.md):
# tens of thousands of fuzzed requests; bursts of 1000, 200 kill races, 10 replica rounds.
fuzz: $(VENV)/.installed cluster-binaries
	DLWS_LONG_TESTS=1 $(PY) -m pytest -q -ra tests/unit/test_shim_fuzz.py tests/integration/test_hostile_fuzz.py

chaos: $(VENV)/.installed cluster-binaries
	DLWS_LONG_TESTS=1 $(PY) -m pytest -q -ra tests/integration/test_faults_*.py

# The numbers in docs/reliability.md: every fault and attack test, their RELIABILITY
# lines in .reliability/results.jsonl, then the two measurements that are not tests.
reliability: $(VENV)/.installed cluster-binaries
	mkdir -p .reliability && rm -f .reliability/results.jsonl
	DLWS_RELIABILITY_REPORT=.reliability/results.jsonl $(PY) -m pytest -q -ra \
		tests/integration/test_faults_*.py tests/integration/test_hostile_*.py
	$(PY) -m reliability.token_timing | tee .reliability/token_timing.json
	$(PY) -m reliability.flood_latency | tee .reliability/flood_latency.json

# Two clusters, one after the other: kwok's fake nodes for the five API measurements, then
# a real node for what real containers cost (needs root).
bench: $(VENV)/.installed cluster-binaries
	$(PY) -m bench --out .bench
	$(PY) -m bench --node real --out .bench/real-node

bench-quick: $(VENV)/.installed cluster-binaries
	$(PY) -m bench --quick --out .bench-quick
	$(PY) -m bench --quick --node real --out .bench-quick/real-node

clean: cluster-down
	rm -rf $(VENV) .bench .bench-quick
