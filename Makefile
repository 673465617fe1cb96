# The two quickstart commands: `make demo` (the main job) and `make test` (the whole suite).
# Both need only python3: they build .venv and install what they need into it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test bench install dev clean help

help:
	@echo "make demo   track real experiments in an example project and show them"
	@echo "make test   run the whole test suite (installs the test extras first)"
	@echo "make bench  run the benchmarks side by side with MLflow / wandb"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

# Keras needs a backend: the CPU build of torch where this machine image keeps one on disk
# (PyPI's own torch is a multi-GB CUDA build). Without it the Keras tests are skipped.
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-cp311-*.whl))

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	$(if $(TORCH_WHEEL),$(PIP) install '$(TORCH_WHEEL)' 'keras>=3')
	@touch $@ $(VENV)/.core

install: $(VENV)/.core
dev: $(VENV)/.dev

demo: $(VENV)/.core
	$(BIN)/python examples/demo.py

test: $(VENV)/.dev
	$(BIN)/python -m pytest -q

bench: $(VENV)/.dev
	$(BIN)/python bench/bench_tracking.py
	$(BIN)/python bench/bench_read.py
	$(BIN)/python bench/bench_mcp.py

clean:
	rm -rf $(VENV) build .pytest_cache
