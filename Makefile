# Two commands do all the set-up on a fresh machine:
#   make run    installs the app and the build side into .venv and serves the app on the committed
#               default bundle (`python -m training fit` runs from the same venv)
#   make test   installs everything (test tools, the Spark engine, Debian's chromium and Java 17, and
#               .venv-space: the Space's own install, requirements.txt alone) and runs the whole suite
# `make test-fast` is the inner loop: the suite without Spark, the browser, the benchmark harness and
# the Space install (a few minutes).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SPACE  := .venv-space
# pytest-xdist: three workers on two cores — the suite waits on servers, subprocesses and time
# bounds much of the time (`make test-fast`: 6:50 with two workers, 5:45 with three, load 2-8).
# Each test module is one unit of work, the Spark and browser tests one
# unit together, and the units that mostly wait on other processes (JVMs, Chromium, the benchmark
# harness, the Space venv) start first, so their waits overlap with the other worker's CPU work
# (tests/scheduling.py).
WORKERS ?= 3

.PHONY: run test test-fast install install-dev install-spark install-space chromium java bench bundle clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt requirements-training.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-training.txt
	touch $@

# lifetimes 0.11.3 (MIT) ships CDNOW, the CLV literature's order log, which the tests read as shipped
# (tests/realdata.py); only its data files are used, so its dependencies are not installed
$(VENV)/.dev: requirements.txt requirements-training.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps lifetimes==0.11.3
	touch $@

$(VENV)/.spark: requirements.txt requirements-training.txt requirements-spark.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-spark.txt
	touch $@

# What a Space installs: requirements.txt and nothing else (tests/test_space_install.py serves the
# file set `push --space` uploads from it). pip's cache makes a rebuild a local copy.
$(SPACE)/.installed: requirements.txt
	rm -rf $(SPACE)
	$(PYTHON) -m venv $(SPACE)
	$(SPACE)/bin/python -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev
install-spark: $(VENV)/.spark
install-space: $(SPACE)/.installed

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

test: install-dev install-spark install-space chromium java
	$(PY) -m pytest -n $(WORKERS) --dist loadgroup --no-loadscope-reorder

test-fast: install-dev
	$(PY) -m pytest -n $(WORKERS) --dist loadgroup --no-loadscope-reorder \
	    -m "not spark and not browser and not bench and not space_install"

bench: install-dev install-spark java
	$(PY) -m benchmarks

bundle: install
	$(PY) -m training fit --default

clean:
	rm -rf $(VENV) $(SPACE) .pytest_cache .hypothesis test-artifacts
