# ZEA — make run (the platform with demo data) and make test (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DATABASE_URL ?= postgres:///zea
PG_DB := $(notdir $(DATABASE_URL))

.PHONY: run test setup setup-dev db migrate demo lint bench bench-quick smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

db: setup
	@$(BIN)/python scripts/ensure_db.py

migrate: db
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py demo

run: demo
	@echo "Starting web (http://127.0.0.1:8000), worker and beat — Ctrl-C stops them all."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start web worker beat

test: setup-dev
	@$(BIN)/python scripts/ensure_db.py
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: setup-dev
	$(BIN)/ruff check .

bench: setup-dev
	$(BIN)/python bench/run.py

bench-quick: setup-dev
	$(BIN)/python bench/run.py --quick

smoke: setup
	$(BIN)/python ../shared/contract/smoke.py --base http://127.0.0.1:8000 --staff admin:admin-pass-123

clean:
	rm -rf $(VENV)
