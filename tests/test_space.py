"""The repo is a Space: README front matter, pinned requirements, a Space card that validates."""
from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_readme_front_matter_is_a_valid_gradio_space():
    meta = front_matter()
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["sdk_version"] == version("gradio")  # the Space runs the gradio we pin and test
    raw = (ROOT / "README.md").read_text().split("---\n", 2)[1]
    assert re.search(r"^python_version: '3\.11'$", raw, re.M), "python_version must be quoted"
    assert meta["colorFrom"] in COLOURS and meta["colorTo"] in COLOURS
    assert 0 < len(meta["short_description"]) <= 60
    assert meta["title"] and meta["emoji"]


REQUIREMENTS = ("requirements.txt", "requirements-training.txt")  # serving, and the build side


def _pins() -> dict[str, str]:
    pins = {}
    for file in REQUIREMENTS:
        for line in (ROOT / file).read_text().splitlines():
            line = line.split("#")[0].strip()
            if not line:
                continue
            name, _, pinned = line.partition("==")
            assert pinned, f"{file}: {line} is not pinned"
            pins[name.split("[")[0]] = pinned  # gradio[mcp]: the extra is not part of the distribution's name
    return pins


def test_requirements_are_pinned_and_installed():
    for name, pinned in _pins().items():
        assert version(name) == pinned, f"{name}: installed {version(name)}, pinned {pinned}"


def test_bundle_records_the_pinned_versions():
    import json
    m = json.loads((ROOT / "model/artifacts/default/manifest.json").read_text())
    pins = _pins()
    for lib in ("scikit-learn", "numpy", "scipy", "pandas", "skops"):
        assert m["library_versions"][lib] == pins[lib]


def test_space_readme_written_by_push_is_valid():
    from training.publishing.push import space_readme
    text = space_readme("you/customer-segments")
    meta = yaml.safe_load(text.split("---\n", 2)[1])
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == version("gradio")
    assert meta["models"] == ["you/customer-segments"]
    assert len(meta["short_description"]) <= 60 and meta["colorFrom"] in COLOURS
