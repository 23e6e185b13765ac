# newswatch: `make demo` and `make test` need nothing installed but Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's metadata changes; editable, so code edits need no reinstall.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/newswatch demo

test: install
	$(BIN)/python -m pytest -q -ra

lint: install
	$(BIN)/ruff format --check flows spiders tests
	$(BIN)/ruff check flows spiders tests

typecheck: install
	$(BIN)/mypy flows spiders

check: lint typecheck test

clean:
	rm -rf $(VENV) build dist *.egg-info
