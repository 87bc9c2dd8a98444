"""How `make test` spreads the suite over pytest-xdist workers (`pytest -n 3 --dist loadgroup`).

pytest-xdist 3.8's loadgroup passes `xdist_group` marks to its scheduler by rewriting node ids,
which pytest 9.2's structured ids ignore (pytest-xdist issue #1386): the marks silently do nothing.
So the units of work are decided here, from the node id alone, by a scheduler that tests/conftest.py
hands to xdist (`pytest_xdist_make_scheduler`) when the run asks for loadgroup:

* each test module is one unit, so its module fixtures are built once;
* `SHARED`: modules that make one unit together — the Spark tests then the browser tests (three
  JVMs beside Chromium on 2 cores made both miss their time bounds; one after the other, on one
  worker, they leave the other workers free), and the two modules of tests/explain_cases (real
  tables and models built once per process);
* `ALONE`: modules whose tests are long and share nothing costly — each test is a unit of its own,
  so every worker takes them.

Units start in collection order, which `order` sets: those that mostly wait on other processes
(`FIRST`), then the longest ones (`LONG`), then the rest as collected — so the last units to start
are short and the workers end together.
"""
from __future__ import annotations

from typing import Any

SHARED = {"tests/test_spark.py": "spark-then-browser", "tests/test_browser.py": "spark-then-browser",
          "tests/test_explain.py": "explain-cases", "tests/test_monitor.py": "explain-cases"}
ALONE = ("tests/test_docs.py", "tests/test_hub_app.py", "tests/test_cli.py")
# seconds each on main, serially, under load 6-18, and in `make test-fast` under load 6-12
FIRST = ("spark-then-browser", "tests/test_benchmarks_smoke.py", "tests/test_space_install.py")
LONG = ("tests/test_docs.py", "tests/test_hub_app.py", "tests/test_cli.py", "tests/test_redteam.py",
        "tests/test_training.py", "tests/test_surface.py", "explain-cases", "tests/test_fuzz.py",
        "tests/test_serving.py")
_RANK = {name: i for i, name in enumerate(FIRST + LONG)}


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def unit(nodeid: str) -> str:
    """The unit of work a test belongs to (the module docstring)."""
    module = _module(nodeid)
    return nodeid if module in ALONE else SHARED.get(module, module)


def order(nodeid: str) -> tuple[int, int]:
    """Sort key of a test in the collection: its unit's rank, then its module's rank in the unit."""
    module = _module(nodeid)
    within = list(SHARED).index(module) if module in SHARED else 0
    return _RANK.get(SHARED.get(module, module), len(_RANK)), within


def scheduler(config: Any, log: Any) -> Any:
    """xdist's load-scope scheduler with `unit` as its scope."""
    from xdist.scheduler.loadscope import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit(nodeid)
    return UnitScheduling(config, log)
