# The README's commands. Everything runs from a project-local virtualenv that `make` builds itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed


.PHONY: demo preview try docs test lint typecheck unit bench clean sam-check build

$(STAMP): pyproject.toml shared/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
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

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## bench: performance harnesses (print figures and ratios); installs the peer tools they compare with
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/mapping.py
	$(BIN)/python benchmarks/pacing.py
	$(BIN)/python benchmarks/webhooks.py
	$(BIN)/python benchmarks/fidelity_matrix.py

# aws-sam-cli pins its own boto3, click and pydantic ranges, which clash with the project's, so it and
# cfn-lint live in a virtualenv of their own. The stamp's name carries the pins: changing them reinstalls.
SAM_VENV  := .venv-sam
SAM_BIN   := $(SAM_VENV)/bin
SAM_TOOLS := 'aws-sam-cli>=1.150,<2' 'cfn-lint>=1.30,<2'
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

## build: sam build into .aws-sam/build (the layer's dependencies come from shared/requirements.txt)
build: $(SAM_STAMP)
	$(SAM) build --template-file template.yaml --build-dir .aws-sam/build

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .mypy_cache .pytest_cache .ruff_cache
