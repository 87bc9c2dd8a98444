"""The units and order in which `make test` runs on its workers (tests/scheduling.py)."""
from __future__ import annotations

from tests.conftest import ROOT
from tests.scheduling import ALONE, FIRST, LONG, SHARED, order, unit


def test_every_module_the_rules_name_exists():
    """A renamed module must not drop silently out of its unit (it would then run as one of the rest)."""
    named = {*SHARED, *ALONE, *(n for n in FIRST + LONG if n.endswith(".py"))}
    assert named and all((ROOT / n).is_file() for n in named), sorted(n for n in named if not (ROOT / n).is_file())
    assert set(SHARED.values()) <= set(FIRST + LONG)


def test_a_module_is_one_unit_unless_shared_or_alone():
    assert unit("tests/test_schema.py::test_a") == unit("tests/test_schema.py::test_b[x-1]") == "tests/test_schema.py"
    assert unit("tests/test_spark.py::test_a") == unit("tests/test_browser.py::test_b") == "spark-then-browser"
    assert unit("tests/test_explain.py::test_a") == unit("tests/test_monitor.py::test_b") == "explain-cases"
    alone = f"{ALONE[0]}::test_a"
    assert unit(alone) == alone and unit(f"{ALONE[0]}::test_b") != unit(alone)


def test_waiting_units_start_first_then_the_long_ones_spark_before_the_browser():
    ids = ["tests/test_schema.py::test_a", "tests/test_browser.py::test_a", "tests/test_docs.py::test_a",
           "tests/test_benchmarks_smoke.py::test_a", "tests/test_spark.py::test_a", "tests/test_layout.py::test_a"]
    assert sorted(ids, key=order) == ["tests/test_spark.py::test_a", "tests/test_browser.py::test_a",
                                      "tests/test_benchmarks_smoke.py::test_a", "tests/test_docs.py::test_a",
                                      "tests/test_schema.py::test_a", "tests/test_layout.py::test_a"]


def test_xdist_still_splits_scopes_where_the_scheduler_overrides_it():
    from xdist.scheduler.loadscope import LoadScopeScheduling
    assert callable(getattr(LoadScopeScheduling, "_split_scope", None))
