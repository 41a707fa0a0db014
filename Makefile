# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
PORT ?= 8501

.PHONY: run test lint unit browser site bench bench-load eval-checker schema validate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## run: create the venv, install, start the dashboard on the bundled data
run: $(STAMP)
	$(BIN)/python -m evidence validate   # reports data errors up front and fills the parse cache
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

## chromium: install Debian's Chromium for the browser tests when missing and we are root
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium with apt-get (browser tests)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "could not install chromium: browser tests will skip (or fail under CI=true)"; \
	else echo "no $(CHROMIUM) and not root: browser tests will skip (or fail under CI=true)"; fi

## test: install, lint, and run every test (unit, AppTest, browser)
test: $(STAMP) chromium node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m evidence validate --provenance
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

## schema: regenerate the committed JSON Schemas after changing evidence/curation/schema.py
schema: $(STAMP)
	$(BIN)/python -m evidence schema --out-dir data/schema

validate: $(STAMP)
	$(BIN)/python -m evidence validate --provenance

## site: build the static site into $(SITE_DIR) (SITE_URL=https://... sets its public address)
SITE_DIR ?= site
site: $(STAMP) node_modules/.installed
	$(BIN)/python -m evidence site --out $(SITE_DIR) $(if $(SITE_URL),--base-url $(SITE_URL))

## node_modules: plotly.js's cartesian bundle for the site (package.json; without npm the site uses plotly.py's full one)
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --ignore-scripts --silent && touch $@; \
	else echo "no npm: the static site will use plotly.py's full plotly.js (3x the size)"; fi

## bench: speed and memory benchmarks (prints a table, writes bench/results/)
bench: $(STAMP) chromium node_modules/.installed
	$(BIN)/python -m bench

## eval-checker: the text checker on real clinic sentences (bench/corpus), development and test halves
eval-checker: $(STAMP)
	$(BIN)/python -m bench.eval_checker

## bench-load: 10, 25 and 50 concurrent websocket sessions against one server (prints a table, writes bench/results/load.json)
bench-load: $(STAMP)
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
