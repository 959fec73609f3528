# kaptools: two commands do all the set-up on a fresh machine.
#   make run   serve the dashboards on the synthetic demo database
#   make run-shared  the clinic's shared install on this machine: JupyterHub sign-in,
#              two demo users, PostgreSQL (see README "A clinic's shared install")
#   make test  install what the tests need (browser included) and run them all
# Everything goes into a virtual environment in .venv; data into var/.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8866
DEMO_DB ?= $(CURDIR)/var/demo.sqlite
KAPTOOLS_DATABASE_URL ?= sqlite:///$(DEMO_DB)
export KAPTOOLS_DATABASE_URL
PYTEST_ARGS ?=
SHARED_PORT ?= 8000
SHARED_STATE ?= $(CURDIR)/var/shared

# Voila as clinicians get it, through kaptools.server (its defaults are the single
# source, shared with the tests): loopback, Host/Origin allowlists, a strict CSP,
# every asset local, a preheated kernel per dashboard (the patient is read after the
# request arrives), kernels of closed pages freed, a kernel cap, no sources.
VOILA_FLAGS = --Voila.ip=$(HOST) --port=$(PORT)

.PHONY: run run-shared test install install-test browser postgres-server proxy lint demo-db bench load-test fuzz clean help

help:
	@echo "make run   - serve the dashboards on http://$(HOST):$(PORT)/ (synthetic demo data)"
	@echo "make run-shared - the clinic's shared install (JupyterHub sign-in, demo users) on http://127.0.0.1:$(SHARED_PORT)/"
	@echo "make test  - install test dependencies and a headless Chromium, run lint and every test"
	@echo "make bench - run the benchmark scripts (needs 'make test' once)"
	@echo "make fuzz  - the long fuzz run: FUZZ_EXAMPLES (10000) cases per entry point, with figures"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dashboards]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.run-installed

$(VENV)/.hub-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[hub]'
	touch $@ $(VENV)/.run-installed

install: $(VENV)/.run-installed
install-test: $(VENV)/.test-installed

demo-db: install
	$(BIN)/python -m kaptools.demo --if-empty

run: install demo-db
	@echo ""
	@echo "  kaptools dashboards (synthetic demo data): http://$(HOST):$(PORT)/"
	@echo "    eligibility:     http://$(HOST):$(PORT)/voila/render/eligibility.ipynb?patient=SYN-0001"
	@echo "    course planner:  http://$(HOST):$(PORT)/voila/render/planner.ipynb?patient=SYN-0001"
	@echo "    symptom trends:  http://$(HOST):$(PORT)/voila/render/trends.ipynb?patient=SYN-0003"
	@echo "  Database: $(KAPTOOLS_DATABASE_URL)   Stop with Ctrl-C."
	@echo ""
	cd dashboards && ../$(BIN)/python -m kaptools.server . $(VOILA_FLAGS)

# A headless Chromium for the browser tests: Debian's package where apt-get
# exists (Playwright's own download does not work on every machine), otherwise
# Playwright's browser install.
browser: install-test
	@if [ -x /usr/bin/chromium ]; then echo "Chromium: /usr/bin/chromium"; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	else $(BIN)/python -m playwright install chromium; fi

# PostgreSQL server binaries for the store tests on a private throw-away cluster
# (tests/store/test_postgres*.py start it themselves on a Unix socket).
postgres-server:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then \
	  echo "PostgreSQL server binaries: found"; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	else echo "PostgreSQL server binaries not found: the PostgreSQL store tests will be skipped"; fi

# The shared install's proxy, configurable-http-proxy, from the npm registry into the
# virtual environment (.venv/node_modules); Node.js from apt where npm is missing.
PROXY := $(VENV)/node_modules/.bin/configurable-http-proxy
PROXY_VERSION ?= 5.3.0
$(PROXY): | $(BIN)/python
	@if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; \
	fi
	npm install --prefix $(VENV) --no-audit --no-fund --loglevel=error configurable-http-proxy@$(PROXY_VERSION)
proxy: $(PROXY)

# The clinic's shared install on this machine, loopback only (kaptools.hub): JupyterHub
# with per-person sign-in, its proxy and idle culler, PostgreSQL for the data, two demo
# users whose passwords it prints. State in $(SHARED_STATE).
run-shared: $(VENV)/.hub-installed proxy postgres-server
	$(BIN)/python -m kaptools.hub run --state $(SHARED_STATE) --port $(SHARED_PORT)

lint: install-test
	$(BIN)/ruff check kaptools tests benchmarks
	$(BIN)/mypy

test: install-test browser postgres-server proxy lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# 16 browser contexts open dashboards at once (loopback only); prints what rendered
# and how fast kernels are freed. Long: run it on its own.
load-test: install-test browser
	$(BIN)/python benchmarks/load_dashboards.py

bench: install-test browser
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The long fuzz run (issue 13): tests/test_fuzz.py with FUZZ_EXAMPLES cases per entry
# point (make test runs 25), then the figures: calls, refusals, slowest CPU time.
FUZZ_EXAMPLES ?= 10000
FUZZ_REPORT ?= var/fuzz-report.jsonl
fuzz: install-test
	@mkdir -p $(dir $(FUZZ_REPORT))
	KAPTOOLS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) KAPTOOLS_FUZZ_REPORT=$(FUZZ_REPORT) \
	  $(BIN)/python -m pytest -q -p no:randomly tests/test_fuzz.py
	$(BIN)/python benchmarks/fuzz_report.py $(FUZZ_REPORT)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .ruff_cache .mypy_cache
