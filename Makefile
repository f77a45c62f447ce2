# Two entry points: `make run` and `make test` (and `make bench`, BENCHMARKS.md). Each sets up what it needs
# (virtualenv, pinned dependencies, compiled translations, data directory).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench setup translations

run: setup
	mkdir -p data
	$(BIN)/python -m bot

test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python scripts/i18n.py check
	$(BIN)/python -m pytest -q

# ARGS=--full for the issue's sizes; see BENCHMARKS.md.
bench: setup $(VENV)/.bench
	$(BIN)/python -m benchmarks $(ARGS)

$(VENV)/.bench: pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

setup: $(VENV)/.installed translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

translations: $(VENV)/.installed
	$(BIN)/python scripts/i18n.py compile
