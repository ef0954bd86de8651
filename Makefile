# Two set-up commands (see README): `make demo` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO ?= demo
SEED ?= 7
SCALE ?= 1.0

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
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

bench: $(STAMP)
	$(BIN)/python benchmarks/validation_bench.py

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info
