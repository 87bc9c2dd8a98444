"""Every name and offer holds against its segment's numbers, on real order data: CDNOW (the CLV
literature's order log, from the MIT-licensed `lifetimes` 0.11.3 wheel), the shared invoices, the
synthetic logs with planted behaviours, and Mall Customers.

The numbers are re-derived here from the customers themselves — the order log read again, every
customer scored by the bundle — with a rule written independently of
`training.description.claims`: a trait is a median in the top / bottom fifth of all customers and
25 % away from their median; lapsed is a median time since the last order beyond twice the median
gap between orders of repeat customers.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from model.contract.bundle import read_manifest
from model.orders.customers import customer_features
from model.contract.markdown import md_literal
from model.serving.predictor import Predictor
from model.serving.rfm import LABELS, rfm_scores
from space.render.cards import segment_cards
from training.fit import FitOptions, fit
from training.reading.inputs import TxOptions
from training.synthetic.orders import BEHAVIOURS, generate_transactions
from tests.realdata import cdnow_path

ROLE_COLUMN = {"recency": "recency_days", "frequency": "frequency", "monetary": "monetary",
               "tenure": "tenure_days", "avg_order_value": "avg_order_value"}
LAPSED_WORDS = ("win-back", "reactivation", "comeback", "miss you", "account manager", "suppress")
ACTIVE_WORDS = ("vip", "anniversary", "premium tier", "subscription", "loyalty points", "membership",
                "second-order", "cross-sell")


@pytest.fixture(scope="module")
def cdnow_log() -> Path:
    """CDNOW as shipped in the lifetimes wheel: whitespace-aligned, yyyymmdd dates, read with no flags."""
    return cdnow_path()


def fit_log(path: Path, out: Path, *, k: int | str = "auto", as_of: str | None = None):
    """The bundle's manifest, every customer's features and segment."""
    manifest = fit(FitOptions(transactions=path, out=out, tx=TxOptions(as_of=as_of), k=k, seed=42, compare=False,
                              bootstrap=0)).manifest
    customers = customer_features(path, as_of=as_of).frame
    seg = Predictor.from_dir(out).predict_frame(customers[list(manifest.schema.names)])["segment_id"]
    return manifest, customers, seg.to_numpy(dtype=int)


class Numbers:
    """The whole base and one segment, in real units."""

    def __init__(self, frame: pd.DataFrame, members: np.ndarray, *, order_log: bool):
        self.all, self.seg = frame, frame[members]
        self.order_log = order_log
        rep = frame[frame["frequency"] >= 2] if order_log else frame.iloc[:0]
        self.cycle = float(((rep["tenure_days"] - rep["recency_days"]) / (rep["frequency"] - 1)).median()) \
            if len(rep) else None

    def median(self, col: str) -> float:
        return float(self.seg[col].median())

    def high(self, col: str) -> bool:
        m, base = self.median(col), self.all[col]
        return m >= base.quantile(0.8) and m - base.median() >= 0.25 * abs(base.median())

    def low(self, col: str) -> bool:
        m, base = self.median(col), self.all[col]
        return m <= base.quantile(0.2) and base.median() - m >= 0.25 * abs(base.median())

    def lapsed(self) -> bool:
        return self.median("recency_days") > 2 * self.cycle

    def holds(self, claim: str) -> bool:
        """An offer's precondition, re-derived."""
        if claim == "lapsed":
            return self.lapsed()
        if claim == "active":
            return not self.lapsed()
        if claim == "new":
            return self.low("tenure_days") and self.median("tenure_days") <= 2 * self.cycle
        if claim == "one_off":
            return self.median("frequency") <= 1
        if claim == "repeat":
            return self.median("frequency") >= 2
        if claim in ("high_value", "low_value"):
            return self.high("monetary") if claim == "high_value" else self.low("monetary")
        role, direction = claim.rsplit("_", 1)
        col = ROLE_COLUMN[role]
        return self.high(col) if direction == "high" else self.low(col)


def assert_words_hold(name: str, n: Numbers, rfm_share: dict[str, float]) -> None:
    """Every word of an order-log segment's name is true of its customers."""
    head, _, body = name.partition(" · ")
    if head in LABELS:
        assert rfm_share.get(head, 0.0) >= 0.5, f"{name!r}: only {rfm_share.get(head, 0):.0%} are {head}"
    else:
        body = name
    words = body.lower()
    checks = {r"\bbig spenders": n.high("monetary"), r"\bsmall spenders": n.low("monetary"),
              r"(?<!in)\bfrequent\b": n.high("frequency"), r"\binfrequent\b": n.low("frequency"),
              r"\bone-off\b": n.median("frequency") <= 1, r"\brepeat\b": n.median("frequency") >= 2,
              r"^new\b|\bnew (buyers|spenders|customers|one-off|repeat|frequent|big|small)": n.holds("new"),
              r"large baskets": n.high("avg_order_value"), r"small baskets": n.low("avg_order_value"),
              r"long-standing": n.high("tenure_days"), r"newer customers": n.low("tenure_days")}
    for pattern, true in checks.items():
        if re.search(pattern, words):
            assert true, f"{name!r} says {pattern!r}, which its numbers contradict"
    if m := re.search(r"gone quiet (\d+) (months|weeks)", words):
        days = int(m.group(1)) * (30.44 if m.group(2) == "months" else 7)
        assert n.lapsed() and n.median("recency_days") >= days, name
    if m := re.search(r"active in the last (\d+) weeks", words):
        assert n.low("recency_days") and n.median("recency_days") <= 7 * int(m.group(1)), name


def assert_segments_true(manifest, frame: pd.DataFrame, seg: np.ndarray, *, distinct: bool = True) -> None:
    """Names, offers, distinctness, uniqueness and value of every segment, against the customers."""
    names = [s.name for s in manifest.segments]
    assert len(set(names)) == len(names), names
    labels = rfm_scores(frame)["rfm_label"].to_numpy()
    medians = {}
    for s in manifest.segments:
        members = seg == s.id
        assert members.sum() == s.size
        n = Numbers(frame, members, order_log=True)
        shares = pd.Series(labels[members]).value_counts(normalize=True).to_dict()
        assert_words_hold(s.name, n, shares)
        for o in s.offers:
            for claim in o.requires:
                assert n.holds(claim), f"{s.name!r}: offer {o.title!r} requires {claim}, which its numbers contradict"
            title = o.title.lower()
            if any(w in title for w in LAPSED_WORDS):
                assert n.lapsed(), f"{s.name!r} is not lapsed but gets {o.title!r}"
            if any(w in title for w in ACTIVE_WORDS):
                assert not n.lapsed(), f"{s.name!r} is lapsed but gets {o.title!r}"
            if "onboarding" in title:
                assert n.holds("new"), f"{s.name!r} are no new customers but get {o.title!r}"
        medians[s.id] = [n.median(c) for c in ("recency_days", "frequency", "monetary")]
        # value: what the card, the model card and /segments show
        revenue = frame["monetary"].sum()
        assert s.value is not None
        assert s.value.revenue_share == pytest.approx(frame.loc[members, "monetary"].sum() / revenue, abs=2e-3)
        assert s.value.customer_share == pytest.approx(members.mean(), abs=1e-4)
    if distinct:  # no two segments alike in recency, frequency and money
        for a in medians:
            for b in medians:
                if a < b:
                    assert any(abs(x - y) >= 0.25 * max(abs(x), abs(y)) for x, y in zip(medians[a], medians[b])), \
                        (names[a], names[b], medians[a], medians[b])
    assert manifest.value is not None and "% of the revenue" in manifest.value.headline
    assert sum(s.value.revenue_share for s in manifest.segments) == pytest.approx(1.0, abs=2e-3)


@pytest.fixture(scope="module")
def cdnow(cdnow_log, tmp_path_factory):
    out = tmp_path_factory.mktemp("cdnow-bundle") / "b"
    return (*fit_log(cdnow_log, out), out)


def test_cdnow_segments_say_only_what_their_numbers_show(cdnow):
    manifest, frame, seg, out = cdnow
    assert_segments_true(manifest, frame, seg)
    # the case: nobody joined recently, so nobody is onboarded; lapsed one-off buyers get a win-back
    offers = {o.title for s in manifest.segments for o in s.offers}
    assert not {"New-member onboarding series", "New-customer onboarding series"} & offers
    assert any(s.name.startswith("One-off buyers gone quiet") and "Win-back campaign" in {o.title for o in s.offers}
               for s in manifest.segments)
    # tenure (everyone joined in one quarter) weighs less than what people act on
    assert manifest.selection.weights["tenure_days"] < manifest.selection.weights["monetary"] == 1.0
    # the card writes data-derived text as literal Markdown (escaped)
    assert (out / "README.md").read_text(encoding="utf-8").count(md_literal(manifest.value.headline)) == 1


def test_cdnow_cards_show_value_and_sort_by_it(cdnow):
    manifest, *_ = cdnow
    html = segment_cards(manifest.segments, manifest.schema, manifest.rules, sort="revenue")
    assert html.count("</b> of revenue") == manifest.k
    top = max(manifest.segments, key=lambda s: s.value.revenue_share)
    assert html.index(f"Segment {top.id} ·") < min(html.index(f"Segment {s.id} ·") for s in manifest.segments
                                                   if s.id != top.id)


def test_cdnow_at_a_forced_k_the_words_say_the_evidence_prefers_fewer(cdnow_log, tmp_path):
    manifest, frame, seg = fit_log(cdnow_log, tmp_path / "k5", k=5)
    sel, verdict = manifest.selection, manifest.clusterability
    at = next(r for r in sel.table if r.k == 5)
    assert at.prediction_strength < 0.8
    alt = sel.alternative
    assert alt is not None and alt.k < 5 and alt.prediction_strength >= 0.8 and len(alt.segments) == alt.k
    words = f"The customers split cleanly in {alt.k}: "
    assert words in sel.reason and words in verdict.summary
    assert "5 is a finer split whose borders overlap." in verdict.summary
    assert "mostly reproducible" not in verdict.summary and verdict.verdict != "strong"
    assert_segments_true(manifest, frame, seg, distinct=False)  # a forced k is the user's


def test_shared_invoices_segments_say_only_what_their_numbers_show(shared_data, tmp_path):
    manifest, frame, seg = fit_log(shared_data / "online_retail_invoices.csv", tmp_path / "b")
    assert_segments_true(manifest, frame, seg)


@pytest.fixture(scope="module")
def synthetic_log(tmp_path_factory):
    log, planted = generate_transactions(3000, seed=7)
    path = tmp_path_factory.mktemp("synth-log") / "orders.csv"
    log.to_csv(path, index=False)
    return path, planted


def _planted(path: Path, planted, frame: pd.DataFrame) -> np.ndarray:
    return frame[["customer_id"]].merge(planted.labels, on="customer_id", how="left")["behaviour"].to_numpy()


def test_synthetic_log_segments_hold_and_recover_the_planted_behaviours(synthetic_log, tmp_path):
    """At the k the evidence chooses (no k given): the gap curve pauses at 3 (three kinds of customer,
    each made of two behaviours) and levels off again at 6, where the segments reproduce; the six
    planted behaviours come back (ARI >= 0.9), each within one segment, and every word holds."""
    path, planted = synthetic_log
    manifest, frame, seg = fit_log(path, tmp_path / "b", as_of=str(planted.as_of))
    assert_segments_true(manifest, frame, seg)
    truth = _planted(path, planted, frame)
    assert manifest.k == len(BEHAVIOURS), manifest.selection.reason
    assert "levels off at 3 segments, then rises again and levels off at 6" in manifest.selection.reason
    assert adjusted_rand_score(truth, seg) >= 0.9
    for name in BEHAVIOURS:
        assert pd.Series(seg[truth == name]).value_counts(normalize=True).iloc[0] >= 0.9, name


def test_synthetic_log_at_the_planted_k_recovers_the_behaviours(synthetic_log, tmp_path):
    path, planted = synthetic_log
    manifest, frame, seg = fit_log(path, tmp_path / "b", k=len(BEHAVIOURS), as_of=str(planted.as_of))
    assert adjusted_rand_score(_planted(path, planted, frame), seg) >= 0.9
    assert_segments_true(manifest, frame, seg, distinct=False)


def test_mall_archetypes_hold_against_their_numbers(shared_data, tmp_path):
    cols = ["Annual Income (k$)", "Spending Score (1-100)"]
    manifest = fit(FitOptions(data=shared_data / "Mall_Customers.csv", out=tmp_path / "mall", features=cols,
                              seed=1, compare=False, bootstrap=0)).manifest
    frame = pd.read_csv(shared_data / "Mall_Customers.csv")
    seg = Predictor.from_dir(tmp_path / "mall").predict_frame(frame[cols])["segment_id"].to_numpy(dtype=int)
    want = {"premium": ("high", "high"), "potential": ("high", "low"), "deal_seekers": ("low", "high"),
            "low_value": ("low", "low")}
    assert sorted(s.archetype for s in manifest.segments) == sorted([*want, "average"])
    for s in manifest.segments:
        part, base = frame[seg == s.id], frame
        for col, level in zip(cols, want.get(s.archetype, ("mid", "mid"))):
            m, med = part[col].median(), base[col].median()
            if level == "high":
                assert m >= base[col].quantile(0.8) and m >= 1.25 * med, (s.name, col)
            elif level == "low":
                assert m <= base[col].quantile(0.2) and m <= 0.75 * med, (s.name, col)
            else:
                assert base[col].quantile(0.25) <= m <= base[col].quantile(0.75), (s.name, col)
        assert s.value is None  # a spending score is not money
    assert manifest.value is None and read_manifest(tmp_path / "mall").k == 5


def test_a_served_order_log_bundle_says_what_each_segment_is_worth(cdnow, tmp_path):
    """Through the public doors: GET /segments, gradio_client, the MCP tool and the sort of the cards."""
    import httpx
    from gradio_client import Client

    from tests.server import running_app
    from tests.test_mcp import _session

    manifest, _, _, out = cdnow
    with running_app({"MODEL_DIR": str(out)}, log_path=tmp_path / "app.log") as url:
        body = httpx.get(url + "/segments", timeout=30).json()
        assert body["value"]["headline"] == manifest.value.headline
        for got, s in zip(body["segments"], manifest.segments):
            assert got["value"]["revenue_share"] == s.value.revenue_share
            assert got["value"]["customer_share"] == s.value.customer_share
            assert got["value"]["orders_per_customer"] == s.value.orders_per_customer
        client = Client(url + "/", verbose=False)
        assert client.predict(api_name="/segments") == body["segments"]
        html = client.predict("per_customer", api_name="/segment_cards")
        ranked = sorted(manifest.segments, key=lambda s: -s.value.revenue_per_customer)
        spots = [html.index(f"Segment {s.id} ·") for s in ranked]
        assert spots == sorted(spots) and html.count("</b> of revenue") == manifest.k
        listed = _session(url, lambda s: s.call_tool("list_segments", {}))
        assert json.loads(listed.content[0].text) == body["segments"]
