# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# The datasets are read from a local folder first: ./data, or ../shared/data beside the
# checkout, unless KERAS_FCN_DATA_DIR is already set.
ifeq ($(strip $(KERAS_FCN_DATA_DIR)),)
KERAS_FCN_DATA_DIR := $(firstword $(wildcard $(CURDIR)/data $(abspath $(CURDIR)/../shared/data)))
endif
ifneq ($(strip $(KERAS_FCN_DATA_DIR)),)
export KERAS_FCN_DATA_DIR
endif
export TF_CPP_MIN_LOG_LEVEL ?= 2

# The tests run in this many processes (pytest-xdist); `make test TEST_PROCESSES=0` runs them in
# one. Two keep two cores busy: much of a test's time is a process starting TensorFlow or
# waiting on another process; an idle process takes tests queued for the other (worksteal).
TEST_PROCESSES ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist worksteal

.PHONY: demo test test-unit test-integration test-slow test-bench bench lint format install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# PyTorch for the benchmark's reference loop, never needed by `make test`. PyPI's torch for
# Linux x86_64 is the CUDA build (several GB); PyTorch's own CPU index serves the CPU build of
# the same release (`2.13.0+cpu` satisfies `torch==2.13.0`). It is used when it answers, and
# PyPI otherwise; `make bench TORCH_CPU_INDEX=` skips it. Elsewhere PyPI's wheel is the CPU one.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PIN := $(shell sed -n 's/^[[:space:]]*\(torch==[^[:space:];]*\).*/\1/p' setup.cfg)

$(VENV)/.installed-bench: setup.cfg pyproject.toml | $(VENV)/.installed-dev
	@if [ -n "$(TORCH_CPU_INDEX)" ] && [ "$$(uname -s)-$$(uname -m)" = Linux-x86_64 ]; then \
	  if $(BIN)/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=15)' \
	      '$(TORCH_CPU_INDEX)' 2>/dev/null; then \
	    echo "PyTorch: the CPU build of $(TORCH_PIN) from $(TORCH_CPU_INDEX)"; \
	    $(BIN)/pip install --quiet '$(TORCH_PIN)' --index-url '$(TORCH_CPU_INDEX)'; \
	  else \
	    echo "PyTorch: $(TORCH_CPU_INDEX) did not answer; $(TORCH_PIN) from pip's own index"; \
	  fi; \
	fi
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/python -m experiments.fashion_dense --quick

# Both tiers, then the linter: what CI runs. The integration tier needs the real datasets.
test: $(VENV)/.installed-dev
	$(PYTEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# synthetic datasets written by the tests, no subprocess: no dataset needed
test-unit: $(VENV)/.installed-dev
	$(PYTEST) tests/unit

# the commands as processes, killed, restarted and serving workers, on the real datasets
test-integration: $(VENV)/.installed-dev
	$(PYTEST) tests/integration

test-slow: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m slow

test-bench: $(VENV)/.installed-bench
	$(BIN)/python -m pytest -m bench

bench: $(VENV)/.installed-bench
	$(BIN)/python -m experiments.benchmark

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
