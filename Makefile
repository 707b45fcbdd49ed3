# ninefold: every target creates or refreshes .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint bench format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## demo: run the end-to-end demo on the embedded store (no server)
demo: $(STAMP)
	$(BIN)/python examples/quickstart/demo.py
	$(BIN)/python examples/pipelines/train.py
	$(BIN)/python examples/pipelines/continuous.py

## test: run the whole test suite
# loadgroup keeps each xdist_group on one worker: one local Ray for the Ray tests.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup --timeout=600 $(PYTEST_ARGS)

## lint: ruff, formatting, mypy strict and layer contracts
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: benchmarks (with MLflow side by side), one JSON line each
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
