# covgap — the two entry points are `make demo` and `make test` (see README.md).
# Both build .venv from scratch when it is missing or pyproject.toml changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/vietnam_2025.toml
SAMPLE_VILLAGES := data/villages/villages.geojson
SAMPLE_TOWERS := data/towers/towers.csv

.PHONY: demo test install chromium sample sample-dem lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (CI runs as root on Debian).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The bundled sample is committed; rebuild it only when absent (needs ../shared/data).
$(SAMPLE_VILLAGES) $(SAMPLE_TOWERS): | $(STAMP)
	$(BIN)/covgap sample

sample: install
	$(BIN)/covgap sample

# Optional synthetic DEM of Lào Cai for terrain-aware runs (git-ignored).
sample-dem: install
	$(BIN)/covgap sample --dem data/dem/lao_cai_synthetic_3arcsec.tif

demo: install $(SAMPLE_VILLAGES) $(SAMPLE_TOWERS)
	$(BIN)/covgap run --scenario $(SCENARIO)

lint: install
	$(BIN)/ruff check coverage tests benchmarks
	$(BIN)/ruff format --check coverage tests benchmarks

typecheck: install
	$(BIN)/mypy coverage

test: install chromium lint typecheck
	$(BIN)/pytest

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf out maps/*.html maps/assets .pytest_cache .ruff_cache .mypy_cache
