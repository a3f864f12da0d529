# The README's commands. Everything runs from a project-local virtualenv that `make` builds itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml shared/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: validate every shipped connector and preview each with its samples
demo: $(STAMP)
	$(BIN)/python local/demo.py

## test: lint, type-check and run the whole test suite
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check shared local tests benchmarks
	$(BIN)/ruff format --check shared local tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## bench: performance harnesses (print figures and ratios); installs the peer tools they compare with
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/mapping.py
	$(BIN)/python benchmarks/pacing.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
