"""HTML for the Predict and Segments tabs: the result card, offer cards, segment cards (pure; no
gradio). Everything shown comes from the typed manifest or a prediction, and every string from
data is escaped: segment names, category levels and column names come from a user's CSV.
"""
from __future__ import annotations

from html import escape
from typing import Any, Mapping, Sequence

from model.contract.constraints import display_number
from space.render.figures import colour
from model.contract.manifest import LiveSource, Manifest, Rules, Segment
from model.contract.markdown import md_literal
from model.contract.schema import NumericFeature, Schema

DEFAULT_SHOWN = "model/artifacts/default"  # how space.loader shows the embedded default bundle
_md = md_literal


def _e(x: Any) -> str:
    return escape(str(x), quote=True)


def header(manifest: Manifest, rows: int) -> str:
    return (f'<div class="app-header"><h1>{_e(manifest.title)}</h1>'
            f"<p>Find a customer's segment, why it is theirs, where they sit among {rows:,} customers, and "
            f"what to offer them. {manifest.k:d} segments · structure: "
            f"<b>{_e(manifest.clusterability.verdict)}</b></p></div>")


def live_source_text(source: LiveSource) -> str:
    """Which bundle is live and why, as plain text (callers escape it for HTML or Markdown)."""
    if source.kind == "hub":
        pin = "pinned commit" if source.pinned else "branch, not pinned"
        return f"Hub model {source.repo} at {source.revision} ({pin})."
    text = "Local bundle (the default shipped with the app)" if source.path == DEFAULT_SHOWN else \
        f"Local bundle {source.path}"
    if source.fallback_reason:
        text += f". ⚠ {source.fallback_reason}"
    return text + "."


# -- Predict ---------------------------------------------------------------------------------------
def fallback_banner(source: LiveSource) -> str:
    """The warning shown above the tabs when the configured bundle could not be served."""
    return f'<div class="banner-warn" role="alert">⚠ {_e(live_source_text(source))}</div>'


def margin_words(m: float) -> str:
    return "clearly" if m >= 0.4 else "fairly clearly" if m >= 0.15 else "only just: a borderline customer"


def stability_badge(s: Segment) -> str:
    if s.stability is None:  # an edited segment says what was not measured again
        return (f'<span class="badge warn" title="People merged this segment after the fit: its bootstrap '
                f'stability was not measured again">stability: {_e(s.stability_reading)}</span>'
                if s.stability_reading else "")
    kind = "good" if s.stability >= 0.75 else "warn"
    return (f'<span class="badge {kind}" title="Mean best Jaccard match of this segment over bootstrap refits '
            f'(Hennig\'s clusterboot): ≥ 0.85 highly stable, ≥ 0.75 stable, 0.6–0.75 a pattern with doubtful '
            f'membership, &lt; 0.6 dissolved">stability {s.stability:.2f} · {_e(s.stability_reading)}</span>')


def result_card(result: Mapping[str, Any], manifest: Manifest, *, link: str = "") -> str:
    """Phone first: the segment and the top offer, then — folded on a phone, open beside the form on
    a desktop (assets/app.css) — the margin over the runner-up, why, the flags and the verdict.
    `link` (a deep link to this customer, relative to the page) is what "copy link" copies."""
    seg = manifest.segment(result["segment_id"])
    m, runner = result["margin"], result["runner_up"]["segment_name"]
    labels = {f.name: f.label for f in manifest.schema.features}
    flags = ""
    if result["unlike_training"]:
        reasons = "; ".join(_e(_labelled(r, labels)) for r in result["unlike_reasons"])
        flags += f'<div class="flag warn">⚠ Unlike the training data: {reasons}. Treat this segment with care.</div>'
    if result.get("imputed"):
        flags += (f'<div class="flag info">Filled in from training data (not given): '
                  f'{_e(", ".join(labels.get(c, c) for c in result["imputed"]))}.</div>')
    verdict = manifest.clusterability
    kind = "warn" if verdict.verdict in ("weak", "none") else "info"
    flags += f'<div class="flag {kind} verdict">Cluster structure: {_e(verdict.verdict)}. {_e(verdict.summary)}</div>'
    why = "".join(f"<li>{_e(w['text'])}</li>" for w in result.get("why", []))
    why_html = (f'<div class="why" data-testid="why"><b>What about this customer puts them here rather than in '
                f'“{_e(runner)}”:</b><ul>{why}</ul></div>') if why else ""
    rfm = result.get("rfm")
    rfm_html = (f'<span>RFM <b>{rfm["r"]}{rfm["f"]}{rfm["m"]}</b> · {_e(rfm["label"])}</span>' if rfm else "")
    top = next((o for o in result.get("offers", []) if o.get("fits", True)), None)
    top_html = (f'<div class="top-offer" data-testid="top-offer" style="border-left-color:{colour(seg.id)}">'
                f'<span class="top-offer-kicker">Top offer</span> <b>{_e(top["title"])}</b>'
                f'<div class="offer-why">{_e(top["rationale"])}</div></div>') if top else ""
    named = ' <span class="badge info">named by people</span>' if seg.named_by == "people" else ""
    return (
        f'<div class="result-card" data-testid="result-card" data-link="{_e(link)}" '
        f'style="border-top-color:{colour(seg.id)}">'
        f'<div class="result-kicker">Segment {seg.id} {stability_badge(seg)}</div>'
        f'<div class="result-name" data-testid="segment-name">{_e(seg.name)}{named}</div>'
        f'<div class="result-stats"><span><b>{seg.share:.0%}</b> of customers</span>{rfm_html}</div>{top_html}'
        f'<details class="result-more" data-testid="result-details"><summary>Why this segment, the margin '
        f'and the checks</summary>'
        f'<div class="result-stats"><span data-testid="margin">closer to this segment than to “{_e(runner)}”: '
        f'margin <b>{m:.2f}</b> ({margin_words(m)})</span></div>'
        f'<div class="conf-bar" role="img" aria-label="margin {m:.2f} of 1"><div style="width:{m * 100:.0f}%;'
        f'background:{colour(seg.id)}"></div></div>'
        f'<p class="help">Margin = 1 − distance to this segment’s centre ÷ distance to the runner-up’s: 0 on the '
        f'border between the two, 1 at the centre. A distance ratio, not a probability.</p>'
        f'{why_html}<p class="result-desc">{_e(seg.description)}</p>{flags}</details></div>')


def _labelled(reason: str, labels: Mapping[str, str]) -> str:
    """'income is outside the training range' with the column's label instead of its name."""
    head, sep, rest = reason.partition(" is outside")
    return f"{labels.get(head, head)}{sep}{rest}" if sep else reason


def error_card(errors: Mapping[str, str], labels: Mapping[str, str]) -> str:
    items = "".join(f"<li><b>{_e(labels.get(f, f))}</b>: {_e(msg)}</li>" for f, msg in errors.items())
    return (f'<div class="result-card invalid" data-testid="result-card" role="alert">'
            f'<div class="result-name">Check the highlighted fields</div>'
            f'<ul class="field-errors" data-testid="field-errors">{items}</ul>'
            f'<p class="help">Nothing was scored: the previous result was cleared.</p></div>')


def empty_result() -> str:
    return ('<div class="result-card placeholder" data-testid="result-card">'
            '<div class="result-name">Enter a customer and press “Find segment” (or Enter).</div></div>')


def offer_cards(offers: Sequence[Mapping[str, Any]], seg_id: int) -> str:
    """The segment's offers: those that fit this customer, then those their own values contradict."""
    def card(o: Mapping[str, Any]) -> str:
        note = "" if o.get("fits", True) else f'<div class="offer-note">Not for this customer: {_e(o["note"])}.</div>'
        return (f'<div class="offer-card{"" if o.get("fits", True) else " muted"}" '
                f'style="border-left-color:{colour(seg_id)}"><div class="offer-title">{_e(o["title"])}</div>'
                f'<div class="offer-why">{_e(o["rationale"])}</div>{note}</div>')
    return (f'<div class="offers" data-testid="offers"><h3>Offers for this segment</h3>'
            f'{"".join(card(o) for o in offers)}</div>')


def example_rows(segments: Sequence[Segment], schema: Schema) -> list[list[Any]]:
    """One typical customer per segment: numeric medians and the most common level."""
    rows = []
    for s in segments:
        row: list[Any] = []
        for f in schema.features:
            if isinstance(f, NumericFeature):
                v = s.profile.numeric[f.name].median
                row.append(round(v) if f.integer and v is not None else v)
            else:
                shares = s.profile.categorical.get(f.name) or {f.mode: 1.0}
                row.append(max(shares, key=shares.__getitem__))
        rows.append(row)
    return rows


# -- Segments ----------------------------------------------------------------------------------------
SORTS = {"segment": "segment number", "customers": "share of customers", "revenue": "share of revenue",
         "per_customer": "revenue per customer"}


def sort_segments(segments: Sequence[Segment], by: str = "segment") -> list[Segment]:
    """The segments in the order a visitor picked (`SORTS`): by id, or largest first; segments
    without a value (no money column) keep their order after those with one."""
    if by not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, got {by!r}")
    key = {"segment": lambda s: (0, s.id), "customers": lambda s: (0, -s.share, s.id),
           "revenue": lambda s: (s.value is None, -(s.value.revenue_share if s.value else 0), s.id),
           "per_customer": lambda s: (s.value is None, -(s.value.revenue_per_customer if s.value else 0), s.id)}[by]
    return sorted(segments, key=key)


def value_line(s: Segment) -> str:
    """'13.6 % of customers · 56.4 % of revenue · 305 per customer · 8.1 orders per customer'."""
    v = s.value
    if v is None:
        return ""
    orders = "" if v.orders_per_customer is None else f" · {v.orders_per_customer:,.1f} orders per customer"
    return (f'<div class="segment-value" data-testid="segment-value"><b>{100 * v.customer_share:.1f} %</b> of '
            f'customers · <b>{100 * v.revenue_share:.1f} %</b> of revenue · {display_number(v.revenue_per_customer)} per '
            f'customer{orders}</div>')


def rfm_mix_text(s: Segment) -> str:
    """The RFM mix, largest labels first, the rest summed."""
    return ", ".join(f"{k} {v:.0%}" for k, v in s.rfm_top())


def claims_html(s: Segment) -> str:
    """What the name and the offers say, each with the numbers that make it true."""
    if not s.claims:
        return ""
    items = "".join(f"<li><b>{_e(c.text)}</b>: {_e(c.rule)}</li>" for c in s.claims if not c.id.startswith("median:")
                    or c.id in s.name_claims)
    return (f'<details class="claims"><summary>Why this name and these offers</summary><ul>{items}</ul>'
            f'</details>')


def segment_cards(segments: Sequence[Segment], schema: Schema, rules: Rules | None, *, sort: str = "segment") -> str:
    labels = {f.name: f.label for f in schema.features}
    by_segment = {r.id: r.rules for r in rules.segments} if rules else {}
    cards = []
    for s in sort_segments(segments, sort):
        nums = "".join(f"<tr><td>{_e(labels.get(c, c))}</td><td>{display_number(p.median)}</td>"
                       f"<td>{display_number(p.overall_median if p.overall_median is not None else p.overall_mean)}"
                       f"</td></tr>" for c, p in s.profile.numeric.items())
        cats = "".join(
            f"<tr><td>{_e(labels.get(c, c))}</td><td colspan=2>"
            + ", ".join(f"{_e(lv)} {v:.0%}" for lv, v in sorted(shares.items(), key=lambda t: -t[1])[:3])
            + "</td></tr>" for c, shares in s.profile.categorical.items())
        offers = "".join(f"<li><b>{_e(o.title)}</b> — {_e(o.rationale)}</li>" for o in s.offers)
        note = f'<p class="help">{_e(s.offer_note)}</p>' if s.offer_note else ""
        rfm = f'<div class="rfm-mix"><b>RFM mix:</b> {_e(rfm_mix_text(s))}</div>' if s.rfm_mix else ""
        mine = by_segment.get(s.id) or []
        rule_html = ("<div class=\"rules\"><b>As rules:</b><ul>" + "".join(f"<li><code>{_e(r)}</code></li>" for r in mine)
                     + "</ul></div>") if mine else ""
        cards.append(
            f'<div class="segment-card" style="border-top-color:{colour(s.id)}">'
            f'<div class="result-kicker">Segment {s.id} · {s.size:,} customers · {s.share:.0%} {stability_badge(s)}</div>'
            f'<div class="segment-name">{_e(s.name)}{_named_by(s)}</div>{value_line(s)}<p>{_e(s.description)}</p>{rfm}'
            f'<table class="profile"><tr><th>feature</th><th>segment median</th><th>all customers</th></tr>{nums}{cats}'
            f'</table><ul class="offer-list">{offers}</ul>{note}{claims_html(s)}{rule_html}</div>')
    return f'<div class="segment-grid">{"".join(cards)}</div>'


def _named_by(s: Segment) -> str:
    """A marketer's name is shown as theirs, with the traits the numbers measured beside it."""
    if s.named_by != "people":
        return ""
    measured = ", ".join(t.text for t in s.traits) or "no trait stands out"
    return (f' <span class="badge info" data-testid="named-by-people">named by people</span>'
            f'<div class="help">measured: {_e(measured)}</div>')


def rules_text(rules: Rules, segments: Sequence[Segment]) -> str:
    """Every segment's rules as plain text, to copy into a CRM's segment builder."""
    lines = [f"# {rules.fidelity:.1%} of training customers get the model's segment from these rules "
             f"(decision tree of depth {rules.depth})"]
    for r in rules.segments:
        lines.append(f"\n# Segment {r.id}: {segments[r.id].name}")
        lines += [f"  {t}" for t in r.rules] or ["  (no rule: the tree never picks this segment)"]
    return "\n".join(lines)
