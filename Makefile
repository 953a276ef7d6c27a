# Two commands do all set-up on a fresh machine (see README):
#   make run    install, build the demo project, start the app on http://127.0.0.1:8501
#   make test   install (plus Debian's Chromium for the browser tests, when root), run every test
VENV ?= .venv
PYTHON ?= python3
DEMO ?= demo_project
PORT ?= 8501
STAMP = $(VENV)/.installed

.PHONY: run test lint install browser demo bench

$(STAMP): requirements.txt requirements-dev.txt requirements-nodeps.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/grd demo $(DEMO)

run: demo
	$(VENV)/bin/grd ui $(DEMO) --port $(PORT)

# Chromium comes from Debian (never `playwright install`); without root the browser tests skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: browser tests will skip"; \
	  else echo "not root: install Debian's chromium for the browser tests"; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(STAMP) browser lint
	$(VENV)/bin/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done
