"""The app's figures are plain Plotly JSON (space.render.figures): each is the document plotly itself
writes for it, and building the app imports no plotly and builds Gradio's own app once."""
from __future__ import annotations

import json
import subprocess
import sys

import plotly.graph_objects as go

from space.render import figures
from tests.server import ROOT, app_env, free_port


def _figures(predictor) -> dict[str, str]:
    m, s = predictor.manifest, predictor.bundle.summary
    out = {"map": figures.MapFigure(predictor.bundle.sample, predictor.segments).with_point(0.5, -0.2, 1),
           "selection": figures.selection_figure(m.selection),
           "correlation": figures.correlation_figure(s, {f.name: f.label for f in predictor.schema.features})}
    kd = figures.kdistance_figure(m.comparison)
    if kd is not None:
        out["k-distance"] = kd
    for f in predictor.schema.features:
        out[f"distribution {f.name}"] = figures.distribution_figure(s, f)
        out[f"by segment {f.name}"] = figures.segment_feature_figure(s, f, predictor.segments)
    report = {"features": [{"feature": f.name, "psi": psi} for f, psi in zip(predictor.schema.features, (0.05, 0.2, 0.4))],
              "segments": {"then": [1 / predictor.k] * predictor.k, "now": [1 / predictor.k] * predictor.k}}
    out["drift"], out["shares"] = figures.drift_figures(report, predictor.segments)
    return out


def test_the_template_is_plotlys_own():
    """plotly_white.json is plotly's template as plotly writes it (after a plotly upgrade, write it
    again: json.loads(go.Figure(layout={"template": "plotly_white"}).to_json())["layout"]["template"])."""
    written = json.loads(go.Figure(layout={"template": "plotly_white"}).to_json())["layout"]["template"]
    assert figures.template() == written


def test_every_figure_is_the_document_plotly_writes(predictor):
    """plotly validates every property (a typo raises) and writes the figure back unchanged."""
    for name, text in _figures(predictor).items():
        doc = json.loads(text)
        config = doc.pop("config", None)
        again = json.loads(go.Figure(doc).to_json())
        assert again == doc, name
        assert config is None or name == "map"


def test_the_selection_grid_is_laid_out_as_make_subplots_does(predictor):
    from plotly.subplots import make_subplots
    doc = json.loads(figures.selection_figure(predictor.manifest.selection))
    rows = (len(doc["data"]) + 1) // 2
    grid = make_subplots(rows=rows, cols=2, vertical_spacing=0.12 if rows < 3 else 0.09).layout
    for i in range(len(doc["data"])):
        n = "" if i == 0 else str(i + 1)
        assert doc["layout"][f"xaxis{n}"]["domain"] == list(grid[f"xaxis{n}"].domain)
        assert doc["layout"][f"yaxis{n}"]["domain"] == list(grid[f"yaxis{n}"].domain)


def test_building_the_app_imports_no_plotly_and_builds_gradios_app_once():
    """Start-up: Gradio builds its FastAPI app in Blocks(), its __exit__ and queue(); the app keeps
    only the one mount_gradio_app serves, and the figures need no plotly."""
    code = """
import sys
from gradio.routes import App
built = []
create = App.create_app
App.create_app = staticmethod(lambda *a, **k: built.append(1) or create(*a, **k))
from app import create_app
from space.settings import load_settings
from starlette.routing import Mount
app = create_app(load_settings({"MCP_SERVER": "0"}))
mounted = next(r.app for r in app.routes if isinstance(r, Mount))
print(len(built), "plotly" in sys.modules, app.state.live is not None, mounted.get_blocks().app is mounted)
"""
    port = free_port()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=app_env(port), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-4:] == ["1", "False", "True", "True"], out.stdout
