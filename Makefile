# `make test` and `make demo` work on a fresh machine with Python 3.11 and pip: they create
# .venv when missing and install the project into it first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-fast lint typecheck pytest demo clean postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

# The inner loop (about a minute on 2 cores): the client, the emulator, the blocks and the
# receiver, with no Prefect server, no slow case and no real process, on two xdist workers that
# take whole files (these tests share no state: each has its own emulator, store and ports);
# stops at the first failure. Flows, tasks, CLI and reliability cases need a Prefect server and
# belong to `make test`.
test-fast: install
	$(BIN)/pytest -q -x -n 2 --dist loadfile -m "not slow and not process and not prefect"

# The main job: the music-video pipeline (+ an image and a video) on the embedded emulator.
demo: install
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/anyint-flows demo

# PostgreSQL's server binaries (Debian's package), for the concurrency benchmark's Prefect server:
# `python -m benchmarks` uses them when present and falls back to SQLite when not. Needs root.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql)
	@ls /usr/lib/postgresql/*/bin/initdb

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
