# ZEA — make run (the platform with demo data) and make test (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DATABASE_URL ?= postgres:///zea
PG_DB := $(notdir $(DATABASE_URL))

.PHONY: run test setup setup-dev db migrate demo lint bench bench-quick smoke clean browser

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

test: setup-dev browser
	@$(BIN)/python scripts/ensure_db.py
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Debian's Chromium for tests/browser (Playwright drives /usr/bin/chromium; its own browser
# download doesn't work here, so no `playwright install`). Best effort: when it can't be
# installed, say why, leave the reason where the test reads it, and let the test skip.
CHROMIUM := /usr/bin/chromium
CHROMIUM_PACKAGE := chromium
CHROMIUM_MISSING := $(VENV)/.chromium-missing
browser: | $(BIN)/python
	@rm -f $(CHROMIUM_MISSING); \
	if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	why=""; \
	if [ "$$(id -u)" != 0 ]; then why="not root, so apt-get can't install it (sudo apt-get install chromium)"; \
	elif ! command -v apt-get >/dev/null; then why="no apt-get on this machine"; \
	else \
		echo "Installing Debian's chromium for the browser test (apt-get, at most 10 minutes)..."; \
		start=$$(date +%s); \
		DEBIAN_FRONTEND=noninteractive timeout 600 bash -c \
			'apt-get update -qq && apt-get install -y -qq --no-install-recommends $(CHROMIUM_PACKAGE)' >$(VENV)/.chromium-apt.log 2>&1; \
		rc=$$?; \
		if [ $$rc = 0 ] && [ -x $(CHROMIUM) ]; then \
			echo "chromium installed in $$(( $$(date +%s) - start ))s: $$($(CHROMIUM) --version 2>/dev/null)"; \
		elif [ $$rc = 0 ]; then why="apt-get installed $(CHROMIUM_PACKAGE) but there is no $(CHROMIUM)"; \
		elif [ $$rc = 124 ]; then why="apt-get took longer than 10 minutes (see $(VENV)/.chromium-apt.log)"; \
		else why="apt-get install $(CHROMIUM_PACKAGE) exited $$rc: $$(grep -v '^[[:space:]]*$$' $(VENV)/.chromium-apt.log | tail -n 1)"; fi; \
	fi; \
	if [ -n "$$why" ]; then echo "$(CHROMIUM) is missing: $$why; tests/browser will skip." | tee $(CHROMIUM_MISSING); fi

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
