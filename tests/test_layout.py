"""The tree shows the architecture (../shared/DESIGN.md): data flows one way, file → model →
training → bundle → space, and each package imports only what sits below it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = {"gradio", "gradio_client", "fastapi", "starlette", "uvicorn", "plotly", "mcp"}
# what each package may not import (top-level module names)
BANNED = {
    "model": WEB | {"space", "training", "app"},
    "training": {"gradio", "gradio_client", "fastapi", "starlette", "uvicorn", "space", "app"},
    "space": {"training"},
}


def imports_of(path: Path) -> set[tuple[str, int]]:
    """Absolute imports of a module, as (top-level name, line); imports inside strings do not count."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(a.name.split(".")[0], node.lineno) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add((node.module.split(".")[0], node.lineno))
    return found


@pytest.mark.parametrize("package", sorted(BANNED))
def test_each_package_imports_only_what_sits_below_it(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert len(files) > 5
    offenders = sorted(f"{p.relative_to(ROOT)}:{line} imports {name}" for p in files
                       for name, line in imports_of(p) if name in BANNED[package])
    assert offenders == []


def test_the_import_check_sees_what_it_should():
    probe = ROOT / "tests" / "_layout_probe.py"
    try:
        probe.write_text("import gradio as gr\nfrom space.ui import build_demo\n"
                         "x = 'from fastapi import FastAPI'\nfrom . import sibling\n", encoding="utf-8")
        assert imports_of(probe) == {("gradio", 1), ("space", 2)}
    finally:
        probe.unlink()


def test_nothing_below_the_web_layer_imports_it_and_nothing_but_app_builds_it():
    users = sorted(p.name for p in ROOT.glob("*.py") if "space" in {name for name, _ in imports_of(p)})
    assert users == ["app.py"]


# The build side's libraries: not in the Space's requirements.txt (requirements-training.txt).
BUILD_LIBRARIES = {"sklearn", "skops", "scipy", "matplotlib", "joblib", "tqdm"}
BUILD_SIDE_OF_MODEL = "model/contract/writing.py"  # writes bundles, loads model.skops: training and tests only


def _modules_of(path: Path) -> set[tuple[str, int]]:
    """Absolute imports as (full module name, line)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(a.name, node.lineno) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add((node.module, node.lineno))
    return found


def test_what_serves_imports_no_build_library_and_not_the_bundle_writer():
    """app.py, space/ and model/ (but the bundle writer) import no build-side library, anywhere in a
    module (function bodies too), and never the writer: the Space installs serving requirements only."""
    files = [ROOT / "app.py", *sorted((ROOT / "space").rglob("*.py")), *sorted((ROOT / "model").rglob("*.py"))]
    offenders = sorted(f"{p.relative_to(ROOT)}:{line} imports {name}" for p in files
                       if p.relative_to(ROOT).as_posix() != BUILD_SIDE_OF_MODEL
                       for name, line in _modules_of(p)
                       if name.split(".")[0] in BUILD_LIBRARIES or name == "model.contract.writing")
    assert offenders == []
    assert {"skops"} <= {name.split(".")[0] for name, _ in _modules_of(ROOT / BUILD_SIDE_OF_MODEL)}


def test_the_readme_names_exactly_the_libraries_serving_imports():
    """The README's "What serving imports" is the third-party top-level imports of app.py, space/
    and model/ but the bundle writer (that they install from requirements.txt alone:
    tests/test_space_install.py)."""
    import re
    import sys
    files = [ROOT / "app.py", *sorted((ROOT / "space").rglob("*.py")), *sorted((ROOT / "model").rglob("*.py"))]
    imported = {name.split(".")[0] for p in files if p.relative_to(ROOT).as_posix() != BUILD_SIDE_OF_MODEL
                for name, _ in _modules_of(p)} - set(sys.stdlib_module_names) - {"app", "space", "model"}
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    stated = re.search(r"never `model/contract/writing.py`\): (.*?) — and what those import", readme)
    assert stated, "the README's statement of what serving imports is missing"
    assert set(re.findall(r"`([a-z_0-9]+)`", stated.group(1))) == imported


def test_no_folder_is_a_heap_of_modules():
    """A folder's name says what it owns: none holds more than ~20 modules side by side."""
    for package in ("model", "training", "space"):
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
            modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
            assert len(modules) <= 20, f"{folder.relative_to(ROOT)} holds {len(modules)} modules"
