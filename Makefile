# newswatch: `make demo` and `make test` need nothing installed but Python 3.11+ (on Debian, `make
# test` installs the browser the browser tests drive).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock

.PHONY: install demo test test-pg lint typecheck check browser lock floors hooks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The versions of requirements.lock (a constraint: a package added to pyproject.toml and not yet
# locked still installs). Editable, so code edits need no reinstall; reinstalls when either changes.
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# uv resolves the lock and the floors (it only runs here, never in the installed project).
$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'uv>=0.5'

demo: install
	$(BIN)/newswatch demo

test: install browser
	$(BIN)/python -m pytest -q -ra

# The same suite against an existing server (each session creates and drops its own database).
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
test-pg: install browser
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -q -ra

lint: install
	$(BIN)/ruff format --check flows spiders tests
	$(BIN)/ruff check flows spiders tests

typecheck: install
	$(BIN)/mypy flows spiders

check: lint typecheck test

# Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) for the
# browser tests: nothing to do when both are there; apt-get as root, through sudo otherwise.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
APT_GET := apt-get -q -o DPkg::Lock::Timeout=300
browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "make browser: install chromium and chromedriver (Debian: apt-get install chromium chromium-driver)" >&2; \
		exit 1; \
	fi; \
	sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	set -x; \
	$$sudo $(APT_GET) update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y chromium chromium-driver

# requirements.lock from pyproject.toml: new and changed requirements are resolved, other pins
# kept; `make lock UPGRADE=1` moves every pin to the newest release the ranges allow.
lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--custom-compile-command 'make lock' --quiet $(if $(UPGRADE),--upgrade) -o $(LOCK)

# The floors of pyproject.toml are true: the oldest releases it allows, in a scratch venv, pass
# the unit and integration tests (with DATABASE_URL if set, else an embedded Postgres);
# `make floors FLOORS_TESTS=` runs the whole suite on them.
FLOORS_TESTS ?= unit or integration
floors: $(BIN)/uv
	@scratch=$$(mktemp -d /tmp/newswatch-floors-XXXXXX); trap 'rm -rf "$$scratch"' EXIT; \
	set -ex; \
	$(BIN)/uv pip compile pyproject.toml --extra dev --resolution lowest-direct \
		--python-version 3.11 --quiet -o "$$scratch/floors.txt"; \
	$(BIN)/uv venv --quiet --python $(PYTHON) "$$scratch/venv"; \
	$(BIN)/uv pip install --quiet --python "$$scratch/venv/bin/python" -r "$$scratch/floors.txt"; \
	$(BIN)/uv pip install --quiet --python "$$scratch/venv/bin/python" --no-deps -e .; \
	"$$scratch/venv/bin/python" -m pytest -q -ra -p no:cacheprovider --basetemp "$$scratch/tmp" \
		$(if $(FLOORS_TESTS),-m '$(FLOORS_TESTS)')

# ruff and mypy before each commit (.pre-commit-config.yaml).
hooks: install
	$(BIN)/pre-commit install

clean:
	rm -rf $(VENV) build dist *.egg-info
