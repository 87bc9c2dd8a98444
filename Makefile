# Two commands do all the set-up on a fresh machine:
#   make run    installs the runtime into .venv and serves the app on the committed default bundle
#   make test   installs runtime + test tools (and Debian's chromium) and runs the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test install install-dev chromium bench bundle clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

run: install
	$(PY) app.py

test: install-dev chromium
	$(PY) -m pytest

bench: install-dev
	$(PY) -m benchmarks

bundle: install
	$(PY) -m training fit

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis test-artifacts
