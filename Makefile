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
# IN_CLUSTER=1 (real node only): kube-proxy and CoreDNS give pods Services; `make dev`
# then installs the add-on with kubectl apply -k and runs the operator and shim as Pods.
IN_CLUSTER ?=
CLUSTER_FLAGS = --state $(STATE) --node $(NODE) $(if $(filter 1 yes true,$(IN_CLUSTER)),--in-cluster)

.PHONY: help venv lock image dev demo test test-unit test-bench test-cluster lint cluster-binaries cluster-up cluster-down bench bench-quick clean fuzz chaos reliability

help:
	@echo "make dev          run the local control plane, the operator and the shim (Ctrl-C stops all)"
	@echo "                  NODE=real (default: a real node, jobs run in containers; root) or NODE=kwok"
	@echo "                  IN_CLUSTER=1: operator and shim run as Pods, installed by kubectl apply -k"
	@echo "make test         install, build the control plane if needed, run every test"
	@echo "make cluster-up   start the local control plane (kubeconfig: $(STATE)/kubeconfig)"
	@echo "make cluster-down stop it and remove its state"
	@echo "make bench        benchmarks against the API server itself as baseline"
	@echo "make fuzz / chaos longer hostile-input / fault-injection runs (docs/reliability.md)"
	@echo "make lock         regenerate requirements/*.txt (hashed) from setup.cfg, build.in"
	@echo "make image        build the image tarball .image/dlws-families.tar (root; no container engine)"

# The same hashed lock the image installs from (requirements/, `make lock`), then this
# package itself, editable and without dependencies (the lock holds them all).
$(VENV)/.installed: setup.cfg pyproject.toml requirements/dev.txt client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip install --quiet --no-deps -e client
	touch $@

venv: $(VENV)/.installed

# requirements/runtime.txt (install_requires) and dev.txt (plus the test extra) from
# setup.cfg, with hashes, for CPython 3.11 on Linux x86_64: run with such a $(PYTHON);
# build.txt from build.in (the tools image/build.sh uses to build the wheel and the venv).
# dev.txt is compiled with runtime.txt as a constraint, so the packages they share have
# the same pins. Pins already in the files are kept when setup.cfg still allows them;
# LOCK_UPGRADE=1 moves every one to the newest allowed. pip-tools runs in a throwaway
# venv; PIP_FIND_LINKS is dropped so that the lock comes from the index only.
PIP_TOOLS := pip-tools==7.6.2 pip==25.3
LOCK_VENV := build/lock-venv
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links $(if $(LOCK_UPGRADE),--upgrade)
LOCK_PLATFORM := import sys, platform; sys.exit(None if sys.version_info[:2] == (3, 11) \
	and sys.platform == "linux" and platform.machine() == "x86_64" else "make lock: needs CPython 3.11 on Linux x86_64")
lock:
	$(PYTHON) -c '$(LOCK_PLATFORM)'
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet $(PIP_TOOLS)
	env -u PIP_FIND_LINKS CUSTOM_COMPILE_COMMAND='make lock' $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) -o requirements/runtime.txt setup.cfg
	env -u PIP_FIND_LINKS CUSTOM_COMPILE_COMMAND='make lock' $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) --extra test \
		-c requirements/runtime.txt -o requirements/dev.txt setup.cfg
	env -u PIP_FIND_LINKS CUSTOM_COMPILE_COMMAND='make lock' $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) \
		-o requirements/build.txt requirements/build.in
	sed -i '1i # Hashed lock of install_requires in setup.cfg, for the image: make lock' requirements/runtime.txt
	sed -i '1i # Hashed lock of install_requires + the test extra, for .venv: make lock' requirements/dev.txt
	sed -i '1i # Hashed lock of requirements/build.in, for image/build.sh: make lock' requirements/build.txt
	$(PYTHON) requirements/check_pins.py
	rm -rf $(LOCK_VENV)

# The project's image as an OCI/docker-archive tarball, .image/dlws-families.tar, built
# without a container engine (debootstrap; needs root): image/build.sh.
image:
	@image/build.sh

cluster-binaries:
	devcluster/build.sh >/dev/null

cluster-up: $(VENV)/.installed cluster-binaries
	$(PY) -m devcluster up $(CLUSTER_FLAGS)

cluster-down: $(VENV)/.installed
	$(PY) -m devcluster down --state $(STATE)

dev: $(VENV)/.installed cluster-binaries
	$(PY) -m devcluster dev $(CLUSTER_FLAGS)

demo: $(VENV)/.installed
	$(PY) -m devcluster demo --state $(STATE)

# Each package folder is named as its package, so mypy finds every module from its path.
lint: $(VENV)/.installed
	$(PY) -m mypy --cache-dir build/.mypy_cache dlws_contract api_shim operator/dlws_operator kubectl_plugin/dlws_kubectl bench
	$(PY) -m mypy --cache-dir build/.mypy_cache devcluster
	$(PY) -m mypy --cache-dir build/.mypy_cache client/dlws_client

test-unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit -q

# Integration tests start their own control plane (never the user's cluster); set
# DLWS_TEST_KUBECONFIG to reuse a running one on purpose.
# Three pytest processes side by side, one per cluster: tests/run_tiers.sh says which.
test: $(VENV)/.installed cluster-binaries
	tests/run_tiers.sh $(PY) $(PYTEST_FLAGS)

# The benchmark's code on tiny sizes, against the kwok and the real-node test clusters, so
# that it cannot rot (CI runs it after make test): it proves the code runs, not how fast.
test-bench: $(VENV)/.installed cluster-binaries
	$(PY) -m pytest -q -ra -m bench tests/integration/test_bench.py tests/e2e/test_bench_real.py

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
