# Headwater — the two commands a new user runs are `make demo` and `make test` (see README.md).
# Both create .venv with everything they need; nothing else is assumed but Python 3.10+, pip, make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat core/pyproject.toml plugins/*/pyproject.toml requirements-*.txt 2>/dev/null | cksum | cut -d' ' -f1)
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
EDITABLE := -e ./core $(foreach d,$(PLUGIN_DIRS),-e ./$(d))

.PHONY: demo test setup setup-demo compile lint bench bench-peer clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Installs are skipped when nothing they depend on changed since the last run.
$(VENV)/.demo-$(HASH): $(BIN)/python
	$(BIN)/pip install -q -r requirements-demo.txt $(EDITABLE)
	rm -f $(VENV)/.demo-*
	touch $@

$(VENV)/.test-$(HASH): $(VENV)/.demo-$(HASH)
	$(BIN)/pip install -q -r requirements-dev.txt $(EDITABLE)
	rm -f $(VENV)/.test-*
	touch $@

# Editable installs compile nothing, and some environments set PYTHONDONTWRITEBYTECODE, so
# every new process would recompile Headwater (~180 ms of CPU); compile once up front.
compile:
	$(BIN)/python -m compileall -q -j 0 core/src $(foreach d,$(PLUGIN_DIRS),$(d)/src) > /dev/null

setup-demo: $(VENV)/.demo-$(HASH)
setup: $(VENV)/.test-$(HASH)

## demo: set up and run the example ETL + dbt pipeline on embedded defaults (no server)
demo: setup-demo compile
	$(BIN)/python examples/run_demo.py

## test: set up and run every test (starts real S3/GCS/PostgreSQL servers on 127.0.0.1)
test: setup compile
	bash scripts/ensure-test-services.sh
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check core plugins tests examples bench

bench: setup
	bash bench/run_all.sh

bench-peer:
	bash bench/setup_prefect_peer.sh

clean:
	rm -rf $(VENV) .headwater-demo
