"""What a first-time visitor hit on the Monitor tab (issue 19): the 16-row example file got
"re-train" with age PSI 0.277 under a stated noise level of 0.628. A verdict now needs a signal
above its own noise: too little data is "not enough data to tell"."""
from __future__ import annotations

import pytest

from model.drift.check import monitor_upload
from model.drift.report import NOT_ENOUGH
from model.drift.text import render_markdown
from space.render.pages import example_csv_text


def _report(predictor, text: str) -> dict:
    return monitor_upload(predictor, text.encode(), max_bytes=10**7, max_rows=10**6)


def test_the_example_file_is_not_enough_data_to_tell(predictor):
    text = example_csv_text(predictor.manifest)
    report = _report(predictor, text)
    assert report["rows"] == len(text.splitlines()) - 1 < 50
    assert report["verdict"] == NOT_ENOUGH, (report["verdict"], report["reasons"])
    for f in report["features"]:  # no feature claims drift its noise level could make on its own
        assert f["verdict"] == NOT_ENOUGH or f["psi"] > f["psi_noise"], f
    markdown = render_markdown(report)
    assert f"**{NOT_ENOUGH}**" in markdown and "noise" in markdown and "rows" in markdown


@pytest.mark.parametrize("n", [1, 3])
def test_a_handful_of_rows_never_gets_a_verdict(predictor, n):
    ex = predictor.schema.example()
    text = ",".join(ex) + "\n" + (",".join(str(v) for v in ex.values()) + "\n") * n
    assert _report(predictor, text)["verdict"] == NOT_ENOUGH


def test_a_big_shift_on_enough_rows_still_says_re_train(predictor):
    import io

    import pandas as pd
    ex = predictor.schema.example()
    f = predictor.schema.numeric[0]
    rows = pd.DataFrame([{**ex, f.name: f.max} for _ in range(2000)])
    buf = io.StringIO()
    rows.to_csv(buf, index=False)
    report = _report(predictor, buf.getvalue())
    assert report["verdict"] == "re-train", report["reasons"]
