# newswatch: `make demo` and `make test` need nothing installed but Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-pg lint typecheck check clean

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

# The same suite against an existing server (each session creates and drops its own database).
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
test-pg: install
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -q -ra

lint: install
	$(BIN)/ruff format --check flows spiders tests
	$(BIN)/ruff check flows spiders tests

typecheck: install
	$(BIN)/mypy flows spiders

check: lint typecheck test

clean:
	rm -rf $(VENV) build dist *.egg-info
