# Two commands on a fresh machine: `make run` and `make test`. Both start with `make setup`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OPPORTUNITIES ?= 20000
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint typecheck pytest test-quick bench clean help

help:
	@echo "make run    build the demo company into salesops.db (once), print sign-ins, serve the dashboard"
	@echo "make test   lint, type-check and run the whole test suite"
	@echo "make bench  run the benchmarks in bench/ (long; not part of make test)"

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/salesops init
	@if $(BIN)/salesops status | grep -q "^open opportunities: 0$$"; then \
		$(BIN)/salesops demo --opportunities $(DEMO_OPPORTUNITIES); \
	else echo "demo company already built (make clean to start over)"; fi
	$(BIN)/salesops summary
	$(BIN)/salesops users demo-logins --url http://$(HOST):$(PORT)
	$(BIN)/salesops serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -n auto -p no:cacheprovider

test: lint typecheck pytest

test-quick: setup
	$(BIN)/pytest -n auto -m "not spark and not browser"

bench: setup
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) salesops.db salesops.db-wal salesops.db-shm salesops.db.metrics.duckdb salesops.db.metrics.entries.duckdb .mypy_cache .ruff_cache
