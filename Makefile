# One place for the project's commands. `make up` starts the pipeline, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Local development defaults (trust-auth PostgreSQL on this machine; no password anywhere).
export NATS_URL ?= nats://127.0.0.1:4222
export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/pipeline
export DATA_DIR ?= $(CURDIR)/data
# Where nothing answers at those URLs, `pipeline` starts PostgreSQL and NATS from their wheels here.
export EMBEDDED_SERVERS_DIR ?= $(CURDIR)/.servers

.PHONY: install lock up test lint format typecheck compose-check compose-test all

install: $(VENV)/.installed

# Every package at the version and hashes of the lock (requirements.lock is the image's).
$(VENV)/.installed: pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes -q
lock: install
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev --extra bench --extra local -o requirements-dev.lock

up: install
	exec $(BIN)/pipeline up --create-database

test: install
	scripts/ensure-browser
	$(BIN)/pipeline servers run -- $(BIN)/pytest

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy shared services

compose-check: install
	$(BIN)/check-jsonschema --schemafile ../shared/schemas/compose-spec.json compose.yaml

# The README's Docker Compose steps from a fresh clone of HEAD (docker compose, else podman).
compose-test:
	scripts/compose-test

all: lint typecheck test
