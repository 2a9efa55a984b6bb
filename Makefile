# One place for the project's commands. `make up` starts the pipeline, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Local development defaults (trust-auth PostgreSQL on this machine; no password anywhere).
export NATS_URL ?= nats://127.0.0.1:4222
export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/pipeline
export DATA_DIR ?= $(CURDIR)/data

.PHONY: install servers up test lint format typecheck compose-check compose-test all

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

servers:
	scripts/ensure-servers

up: install servers
	$(BIN)/pipeline migrate --create-database
	exec $(BIN)/pipeline up

test: install servers
	scripts/ensure-browser
	$(BIN)/pytest

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
