"""gradio: Gradio `/predict` through the queue (POST /gradio_api/call/predict + its SSE stream)
against the trivial `/ping` endpoint of the same app, alternating; and the server-side cost of the
map for one request (`MapFigure.with_point`: background cached, only the new point added) against
building the plotly figure per request."""
from __future__ import annotations

import sys
from contextlib import ExitStack

import httpx

from benchmarks.common import Result, fmt_s, p50, timed
from benchmarks.servers import app_cmd, example, free_port, gradio_call, serve

TARGET_RATIO, TARGET_PLOT_S = 1.3, 2e-3


def run(smoke: bool = False, app_url: str | None = None) -> list[Result]:
    return [_queue(smoke, app_url), _plot(smoke)]


def _queue(smoke: bool, app_url: str | None) -> Result:
    record, answer, names = example()
    data = [record[n] for n in names]
    rounds, per_round = (2, 5) if smoke else (15, 20)
    with ExitStack() as stack:
        if app_url is None:
            port = free_port()
            app_url, _ = stack.enter_context(serve(app_cmd(), port))
        client = stack.enter_context(httpx.Client(timeout=30))
        got = gradio_call(client, app_url, "predict", data)
        if got[0]["segment_id"] != answer["segment_id"]:
            raise RuntimeError(f"/predict answered {got!r:.200}")
        calls = {"predict": lambda: gradio_call(client, app_url, "predict", data),
                 "ping": lambda: gradio_call(client, app_url, "ping", [])}
        for fn in calls.values():
            timed(fn, repeat=3 if smoke else 30)
        samples: dict[str, list[float]] = {"predict": [], "ping": []}
        for _ in range(rounds):
            for name, fn in calls.items():
                samples[name] += timed(fn, repeat=per_round)
    a, b = p50(samples["predict"]), p50(samples["ping"])
    return Result("gradio: /predict via queue p50", fmt_s(a), f"/ping {fmt_s(b)}", f"{a / b:.2f}x",
                  f"<= {TARGET_RATIO}x /ping", None if smoke else a / b <= TARGET_RATIO,
                  {"predict_s": a, "ping_s": b, "calls_each": len(samples["predict"])})


def _plot(smoke: bool) -> Result:
    from gradio.components.plot import PlotData

    from space.render import cards as views
    from space.render.figures import MapFigure
    from model.serving.predictor import Predictor
    from model.contract.bundle import DEFAULT_BUNDLE_DIR
    p = Predictor.from_dir(DEFAULT_BUNDLE_DIR)
    result = p.predict_one(p.schema.example())
    x, y, seg = result["pca"]["x"], result["pca"]["y"], result["segment_id"]
    cached = MapFigure(p.bundle.sample, p.segments)

    def ours() -> None:
        PlotData(type="plotly", plot=cached.with_point(x, y, seg))

    def per_request() -> None:  # what the cache saves: the figure built from the sample each time
        PlotData(type="plotly", plot=MapFigure(p.bundle.sample, p.segments).with_point(x, y, seg))

    def handler() -> None:  # the whole UI answer: result card, offer cards and the map
        views.result_card(result, p.manifest), views.offer_cards(result["offers"], seg)
        ours()

    timed(ours, repeat=10)
    a = p50(timed(ours, repeat=50 if smoke else 2_000))
    b = p50(timed(per_request, repeat=2 if smoke else 15))
    h = p50(timed(handler, repeat=20 if smoke else 500))
    return Result("gradio: map for one request (server side) p50", fmt_s(a), f"figure per request {fmt_s(b)}",
                  f"{b / a:,.0f}x faster", "<= 2 ms", None if smoke else a <= TARGET_PLOT_S,
                  {"plot_s": a, "rebuild_s": b, "whole_ui_handler_s": h, "points": len(p.bundle.sample)})


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(r)
