# The README's commands. Everything runs from a project-local virtualenv that `make` builds itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCKED := $(VENV)/.locked


.PHONY: demo preview try docs test lint typecheck unit bench clean sam-check build lock

# The virtualenv holds the dev lock and nothing else: a changed lock rebuilds it from nothing, so a
# package the lock dropped cannot linger, and every file is checked against the lock's hashes.
$(LOCKED): requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $(LOCKED)

# Then the project itself, editable. Its build backend is the lock's setuptools and wheel, already in the
# virtualenv: build isolation would fetch them unpinned.
$(STAMP): $(LOCKED) pyproject.toml
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

## demo: sync a sandbox store through the real handlers on the local stack, then print the summary
demo: $(STAMP)
	$(BIN)/python local/demo.py

## preview: map every shipped connector's samples and print one record of each
preview: $(STAMP)
	$(BIN)/python local/preview_connectors.py

## try: run one connector end to end on the local stack against an API made of its own samples:
## a scheduled sync, then each sample webhook delivery, signed (make try CONNECTOR=path/to/my.yaml)
# ARGS passes more options: ARGS='--credentials accessToken=... --connectors-dir DIR --show 3'
CONNECTOR ?= docs/example-connector.yaml
try: $(STAMP)
	$(BIN)/python -m mercator_local.try_connector $(CONNECTOR) $(ARGS)

## docs: rewrite docs/content-types.md, the field reference of every content type, from records.py
# A test fails while it is stale; `$(BIN)/python -m mercator_local.field_reference --check` says how.
docs: $(STAMP)
	$(BIN)/python -m mercator_local.field_reference

## test: lint, type-check, validate and build the SAM application, then run the whole test suite
# pytest runs after the build (not as a prerequisite beside it) so tests/sam sees this build's output.
test: lint typecheck sam-check
	$(MAKE) --no-print-directory unit

lint: $(STAMP)
	$(BIN)/ruff check shared local functions tests benchmarks
	$(BIN)/ruff format --check shared local functions tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

BENCH_STAMP := $(VENV)/.bench-installed

# dlt is not locked, but what it shares with the project stays at the dev lock's versions. The lock's pins
# are the constraints without their hashes: with hashes, pip would demand them of dlt and the project too.
$(BENCH_STAMP): $(STAMP)
	sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\).*/\1/p' requirements-dev.txt > $(VENV)/bench-constraints.txt
	$(BIN)/pip install --quiet --no-build-isolation -c $(VENV)/bench-constraints.txt -e '.[bench]'
	touch $(BENCH_STAMP)

## bench: performance harnesses (print figures and ratios); installs the peer tools they compare with
bench: $(BENCH_STAMP)
	$(MAKE) --no-print-directory build
	$(BIN)/python benchmarks/cold_start.py
	$(BIN)/python benchmarks/mapping.py
	$(BIN)/python benchmarks/pacing.py
	$(BIN)/python benchmarks/webhooks.py
	$(BIN)/python benchmarks/fidelity_matrix.py

# aws-sam-cli pins its own boto3, click and pydantic ranges, which clash with the project's, so it and
# cfn-lint live in a virtualenv of their own. The stamp's name carries the pins: changing them reinstalls.
SAM_VENV  := .venv-sam
SAM_BIN   := $(SAM_VENV)/bin
SAM_TOOLS := 'aws-sam-cli==1.170.0' 'cfn-lint==1.58.0'
SAM_STAMP := $(SAM_VENV)/.installed-$(shell printf '%s' "$(SAM_TOOLS)" | cksum | cut -d' ' -f1)
# Nothing here calls AWS: no telemetry, and a region only because some SAM commands ask for one.
SAM       := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=eu-central-1 $(SAM_BIN)/sam

$(SAM_STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_BIN)/pip install --quiet --upgrade pip
	$(SAM_BIN)/pip install --quiet $(SAM_TOOLS)
	touch $(SAM_STAMP)

## sam-check: validate and lint template.yaml, then build the functions and the layer (no Docker, no AWS)
sam-check: $(SAM_STAMP)
	$(SAM) validate --lint --template-file template.yaml
	$(SAM_BIN)/cfn-lint template.yaml
	$(MAKE) --no-print-directory build

## build: sam build into .aws-sam/build (the layer: shared/Makefile installs the lock, shared/requirements.txt)
# shared/Makefile needs a pip, any pip: it fetches wheels for Lambda's platform, never for this machine.
build: $(SAM_STAMP)
	LAYER_PYTHON=$(abspath $(SAM_BIN))/python $(SAM) build --template-file template.yaml --build-dir .aws-sam/build

# uv compiles the locks for Lambda's platform whichever machine runs it (pip-compile resolves for the
# interpreter running it); like the SAM tools it has a virtualenv of its own, at a pinned version.
LOCK_VENV  := .venv-lock
UV_VERSION := 0.13.10
LOCK_STAMP := $(LOCK_VENV)/.installed-$(UV_VERSION)
UV         := $(LOCK_VENV)/bin/uv
# Lambda's python3.11: CPython 3.11 on x86_64 Amazon Linux 2 (glibc 2.26), which takes manylinux2014
# wheels. Existing pins are kept where they still fit the ranges; UPGRADE=1 takes the newest that fit.
LOCK_FLAGS := --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux2014 \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
# The layer takes wheels for that platform only, but for the pure-Python source distributions
# shared/Makefile builds itself: a version with no such wheel is refused here rather than at sam build.
LAYER_SOURCE_ONLY = $(shell sed -n 's/^SOURCE_ONLY *:= *//p' shared/Makefile)
LAYER_LOCK_FLAGS  = --only-binary :all: $(foreach name,$(LAYER_SOURCE_ONLY),--no-binary $(name))

$(LOCK_STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet 'uv==$(UV_VERSION)'
	touch $(LOCK_STAMP)

## lock: recompile the hash-pinned locks: shared/requirements.txt (the layer) from shared/requirements.in,
## then requirements-dev.txt (.venv) from pyproject.toml and requirements-dev.in (make lock UPGRADE=1: newest)
lock: $(LOCK_STAMP)
	$(UV) pip compile $(LOCK_FLAGS) $(LAYER_LOCK_FLAGS) shared/requirements.in -o shared/requirements.txt
	$(UV) pip compile $(LOCK_FLAGS) pyproject.toml requirements-dev.in --extra dev -o requirements-dev.txt

clean:
	rm -rf $(VENV) $(SAM_VENV) $(LOCK_VENV) .aws-sam .mypy_cache .pytest_cache .ruff_cache
