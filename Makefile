# Two set-up commands (see README): `make demo` and `make test`. Each creates .venv itself,
# from the locked, hashed versions in requirements.lock (`make lock` writes it anew).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
DEMO ?= demo
SEED ?= 7
SCALE ?= 1.0

.PHONY: demo test lint audit lock bench clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## Generate the demo county and run the monthly job on it (2020-01 .. 2020-12).
demo: $(STAMP)
	$(BIN)/sentinel demo --dest $(DEMO) --seed $(SEED) --scale $(SCALE)
	$(BIN)/sentinel run --inbox $(DEMO)/inbox --month 2020-12 --out $(DEMO)/out

## The whole test suite (slow and integration tests included), on both cores.
test: $(STAMP)
	$(BIN)/python -m pytest -m "" -n 2 --dist loadfile -q

lint: $(STAMP)
	$(BIN)/ruff check sentinel features models flows tests

## Known vulnerabilities in the locked dependencies (pip-audit, PyPI's advisory data). Fails
## on a finding; says so and passes when the advisory data cannot be reached (offline).
audit: $(STAMP)
	$(BIN)/python scripts/audit_dependencies.py $(LOCK)

## Write requirements.lock anew from pyproject.toml (after changing a dependency), then
## `rm -rf .venv && make test`. Needs uv (installed into .venv here).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" -o $(LOCK)

bench: $(STAMP)
	$(BIN)/python benchmarks/validation_bench.py

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info
