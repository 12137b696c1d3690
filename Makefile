# CareLine: `make run` to try it, `make test` to check it. `make help` lists the rest.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help run test lint format install migrate demo serve bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install CareLine with its dev tools

migrate: $(STAMP) ## Apply database migrations
	$(BIN)/careline db upgrade

demo: migrate ## Seed the demo world if the database is empty
	$(BIN)/careline demo --if-empty

run: demo ## Install, migrate, seed the demo and serve http://127.0.0.1:8000 (SQLite)
	$(BIN)/careline serve

test: $(STAMP) ## Lint, then the whole suite on SQLite and the database tests on PostgreSQL
	$(BIN)/ruff check
	$(BIN)/lint-imports .importlinter
	bash scripts/test.sh

lint: $(STAMP) ## Ruff and the layer contracts only
	$(BIN)/ruff check
	$(BIN)/lint-imports .importlinter

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format

bench: $(STAMP) ## Run the benchmarks under bench/ (they print figures)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean: ## Remove the venv and the local SQLite database
	rm -rf $(VENV) careline.db careline.db-wal careline.db-shm
