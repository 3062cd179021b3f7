# The two commands a newcomer needs: `make run` and `make test`.  See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 5000
# PostgreSQL for the tests when it answers on loopback (CI machines have it).
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
# Python keeps compiled modules, and pytest its rewritten test modules, between runs: with
# PYTHONDONTWRITEBYTECODE set (some machines set it), every run and every test worker
# compiled the whole tree again, ~7 s of each worker's start.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run dev test test-fast install install-test lint migrate demo clean chromium nginx ocr

# Dependencies come from setup.cfg, each at the exact version in constraints.txt (the
# versions the suite passed with; see that file's header to update them).
$(VENV)/.installed-app: setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -qq --disable-pip-version-check -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-app
	$(PY) -m pip install -qq --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed-app

install-test: $(VENV)/.installed-test

# The in-car view's browser tests drive Debian's Chromium (Playwright cannot download one here).
chromium:
	@test -x /usr/bin/chromium || { \
	  apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The signed tile front's test and bench/load.py run Debian's nginx (wrk for the benchmark).
nginx:
	@test -x /usr/sbin/nginx || { \
	  apt-cache policy nginx 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null; }

# Rooms on scanned plans (and text drawn as curves) are read by Debian's Tesseract through
# PyMuPDF, in English and French. Without it a plan still renders, without those labels.
ocr:
	@test -f /usr/share/tesseract-ocr/5/tessdata/fra.traineddata || { \
	  apt-cache policy tesseract-ocr 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra >/dev/null; }

migrate: install ocr
	$(FLASK) db upgrade

# find-rooms: a database made before Find existed gets its plans' room labels (quick when they have them).
demo: migrate
	$(FLASK) demo
	$(FLASK) plans find-rooms

# The web server (gunicorn, several processes, settings in gunicorn.conf.py) and a job worker
# together; Ctrl-C (or either one ending: `wait -n`) stops both.
run: demo
	@echo ""
	@echo "  floorplans is starting on http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
	@echo ""
	@trap 'kill 0' EXIT; \
	$(FLASK) jobs worker & \
	$(VENV)/bin/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) & \
	wait -n

# While changing the code: Flask's development server, reloading on every change, with the
# debugger (never expose it: it runs code typed into a browser), and a job worker.
dev: demo
	@trap 'kill 0' EXIT; \
	$(FLASK) jobs worker & \
	$(FLASK) run --debug --host 127.0.0.1 --port $(PORT)

# ESLint for static/js, at the versions in package-lock.json (Node 20.19 or later).
node_modules/.installed-npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install-test node_modules/.installed-npm
	$(VENV)/bin/ruff check .
	$(VENV)/bin/bandit -q --severity-level medium -r floorplans blueprints storage converters
	$(VENV)/bin/mypy
	node_modules/.bin/eslint static/js eslint.config.js

# The real OpenID provider the agency sign-in tests start (tests/oidc: panva's oidc-provider).
tests/oidc/node_modules/.installed-npm: tests/oidc/package.json tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The 25 slowest tests are listed at the end: where the time goes when the suite nears its
# 15 minutes on a 2-core machine (docs/benchmarks.md, The test suite).
test: install-test chromium nginx ocr lint tests/oidc/node_modules/.installed-npm
	@if [ -z "$${FLOORPLANS_TEST_DATABASE_URL:-}" ] && \
	    $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2).close()" 2>/dev/null; then \
	  export FLOORPLANS_TEST_DATABASE_URL=$(PG_TEST_URL); \
	  echo "PostgreSQL answers on 127.0.0.1:5432: tests run on SQLite and PostgreSQL"; \
	fi; \
	if [ -z "$${FLOORPLANS_TEST_REDIS_URL:-}" ] && \
	    $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 6379), 2).close()" 2>/dev/null; then \
	  export FLOORPLANS_TEST_REDIS_URL=redis://127.0.0.1:6379/0; \
	  echo "Redis answers on 127.0.0.1:6379: job tests run on the SQLite queue and on Redis"; \
	fi; \
	$(PY) -m pytest -n auto --durations=25

# For your own iterations: no browser, no long corpus renders, SQLite only, ruff only (the
# whole lint, mypy and ESLint included, is `make lint`).  Both run on every core (pytest-xdist).
test-fast: install-test
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n auto -m "not browser and not slow"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info node_modules tests/oidc/node_modules
