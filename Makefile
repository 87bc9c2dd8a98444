# Two commands do all the set-up on a fresh machine:
#   make run    installs the runtime into .venv and serves the app on the committed default bundle
#   make test   installs runtime + test tools + the Spark engine (and Debian's chromium and Java 17)
#               and runs the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test install install-dev install-spark chromium java bench bundle clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# lifetimes 0.11.3 (MIT) ships CDNOW, the CLV literature's order log, which the tests read as shipped
# (tests/realdata.py); only its data files are used, so its dependencies are not installed
$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps lifetimes==0.11.3
	touch $@

$(VENV)/.spark: requirements.txt requirements-spark.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-spark.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev
install-spark: $(VENV)/.spark

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

# Java for the Spark engine (training/engines/spark*.py); the app never needs it
java:
	@command -v java >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q openjdk-17-jre-headless; }

run: install
	$(PY) app.py

test: install-dev install-spark chromium java
	$(PY) -m pytest

bench: install-dev install-spark java
	$(PY) -m benchmarks

bundle: install
	$(PY) -m training fit --default

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis test-artifacts
