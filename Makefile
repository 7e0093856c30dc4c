# kb-service: `make run` and `make test` are all a fresh machine needs (python3, make, apt).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch lies on disk here; without it pip would fetch a multi-GB CUDA build.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
KB_PORT ?= 8000

.PHONY: install browser postgresql run test test-sqlite test-postgresql test-fast check lint typecheck format model bench clean help

help:
	@echo "make install    virtualenv in .venv with kb-service, dev tools, the default model, chromium"
	@echo "make run        install, import the demo content and serve on KB_PORT (default 8000)"
	@echo "make test       install and run the whole test suite on SQLite, then on PostgreSQL"
	@echo "make test-sqlite | test-postgresql   one engine only (PostgreSQL: without the model tests)"
	@echo "make test-fast  the tests without the real model (pytest -m 'not model')"
	@echo "make check      lint, typecheck and the whole test suite, stopping at the first failure"
	@echo "make lint | typecheck | format | bench | clean"

install: $(STAMP) browser postgresql

# Debian's Chromium for the channel tools' browser tests (Playwright drives it; it never
# downloads a browser). Idempotent; CI is a fresh Debian machine running as root.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Debian's PostgreSQL server binaries for the tests on PostgreSQL: the tests start their own
# throw-away server (tests/pgserver.py: initdb in a temporary folder, a free local port, run as
# the postgres user when root); nothing is configured system-wide. Idempotent, like browser.
postgresql:
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(FIND_LINKS) torch==2.13.0
	$(BIN)/pip install --quiet $(FIND_LINKS) -e '.[dev]'
	$(BIN)/kb model build
	touch $(STAMP)

model: install
	$(BIN)/kb model build

run: install
	$(BIN)/kb import content
	KB_PORT=$(KB_PORT) $(BIN)/kb serve

# Everything on SQLite (the real model and Chromium included), then everything that does not
# need the real model on PostgreSQL (the model and browser tests exercise retrieval, not SQL;
# they run once). The replica and database-outage tests run on PostgreSQL only.
# --durations: the slowest tests in every CI log, for keeping CI under 20 minutes.
test: install
	$(BIN)/pytest --durations=15
	KB_TEST_DATABASE=postgresql $(BIN)/pytest -m "not model" --durations=15

test-sqlite: install
	$(BIN)/pytest

test-postgresql: install
	KB_TEST_DATABASE=postgresql $(BIN)/pytest -m "not model"

test-fast: install
	$(BIN)/pytest -m "not model"

check: lint typecheck test

lint: install
	$(BIN)/ruff check kb_service indexer tests
	$(BIN)/ruff format --check kb_service indexer tests

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format kb_service indexer tests
	$(BIN)/ruff check --fix kb_service indexer tests

bench: install
	$(BIN)/kb bench retrieval --dataset content
	$(BIN)/kb bench answers --dataset content

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
