# Two commands on a fresh machine: `make run` (installs what running needs: `make setup`) and
# `make test` (installs the development extras too: `make setup-dev`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_READY := $(VENV)/.created
# What `make run` needs (the package and its runtime dependencies) and what `make test` needs
# on top (the `dev` extra: test, lint and type-check tools, PySpark, Playwright).
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
DEMO_OPPORTUNITIES ?= 20000
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup setup-dev run test lint typecheck pytest test-quick bench clean help

help:
	@echo "make run    install what running needs, build the demo company into salesops.db (once),"
	@echo "            print its sign-ins, serve the dashboard with the job worker beside it"
	@echo "make test   install the development extras, lint, type-check, run the whole test suite"
	@echo "make bench  run the benchmarks in bench/ (long; not part of make test)"

$(VENV_READY):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	touch $@

$(RUN_STAMP): pyproject.toml requirements.lock | $(VENV_READY)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e .
	touch $@

# The dev set includes the run set, so installing it satisfies both stamps.
$(DEV_STAMP): pyproject.toml requirements.lock | $(VENV_READY)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@ $(RUN_STAMP)

setup: $(RUN_STAMP)

setup-dev: $(DEV_STAMP)

# The demo is built once, ending today; its sign-ins (public password) are only created on
# a database the demo built: on real data `demo-logins` refuses, and the server starts anyway.
run: setup
	$(BIN)/salesops init
	$(BIN)/salesops demo --opportunities $(DEMO_OPPORTUNITIES) --if-empty
	$(BIN)/salesops summary
	@$(BIN)/salesops users demo-logins --url http://$(HOST):$(PORT) || \
		echo "no demo sign-ins on this database: sign in with your own users (salesops users)"
	@# The worker (renewals, alerts, e-mail and webhooks) runs beside the server and stops with it.
	@$(BIN)/salesops worker --interval 10 > salesops-worker.log 2>&1 & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		echo "worker started (pid $$worker, log: salesops-worker.log)"; \
		$(BIN)/salesops serve --host $(HOST) --port $(PORT)

lint: setup-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup-dev
	$(BIN)/mypy

pytest: setup-dev
	$(BIN)/pytest -n auto --dist worksteal -p no:cacheprovider

test: lint typecheck pytest

test-quick: setup-dev
	$(BIN)/pytest -n auto -m "not spark and not browser"

bench: setup-dev
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) salesops.db salesops.db-wal salesops.db-shm salesops.db.metrics.duckdb salesops.db.metrics.entries.duckdb .mypy_cache .ruff_cache
