# Two entry points: `make run` and `make test`. Each sets up what it needs
# (virtualenv, pinned dependencies, compiled translations, data directory).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup translations

run: setup
	mkdir -p data
	$(BIN)/python -m bot

test: setup
	$(BIN)/python scripts/i18n.py check
	$(BIN)/python -m pytest -q

setup: $(VENV)/.installed translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

translations: $(VENV)/.installed
	$(BIN)/python scripts/i18n.py compile
