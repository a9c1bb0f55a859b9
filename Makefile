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

.PHONY: demo test test-slow test-bench bench lint format install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# the optional PyTorch reference and JAX backend of the benchmark; never needed by `make test`
$(VENV)/.installed-bench: setup.cfg pyproject.toml | $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/python -m experiments.fashion_dense --quick

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

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
