"""What the Train tab says (pure; no gradio): the caps up front, how a file was read, the time a fit
will take, the result, and how to enable training where it is not installed. Every name that
comes from a file is literal Markdown (`md_literal`)."""
from __future__ import annotations

from typing import Any, Mapping

from model.contract.markdown import md_literal as _md

ENABLE = ("Training is not installed on this Space: it serves models only. To let visitors train on their "
          "own files, push the Space with training included — `python -m training push --bundle … --repo "
          "OWNER/MODEL --space OWNER/SPACE --train` — which adds the training code and its requirements "
          "(scikit-learn, skops, matplotlib…) to the Space. Locally: `pip install -r requirements-training.txt`.")


def intro(limits: Any, *, ready: bool, ttl_s: float, estimate: Any) -> str:
    """The tab's opening: what it does, for whom, the caps and how long a fit takes."""
    lines = ["### Train on your own customers",
             "Upload a **customer table** (one row per customer: numbers and categories) or an **order log** "
             "(one line per order or product: customer, date, amount), e.g. an Excel export. You see how each "
             "column was read and can correct it; then the fit finds the segments, names them and picks offers, "
             "and every tab shows **your** segments — in this browser tab only. Your file and your segments are "
             f"never shown to anyone else, and are deleted when you close the tab or after {ttl_s / 60:.0f} "
             "minutes. The bundle downloads as a zip you can serve yourself."]
    if not ready:
        return "\n\n".join([*lines, "**" + _md("Not available here.") + "** " + ENABLE])
    lines.append(
        f"**Limits here:** files up to {limits.max_bytes / 2**20:.0f} MB, {limits.max_rows:,} customer rows or "
        f"{limits.max_log_lines:,} order lines, {limits.max_columns:,} columns; a fit may run "
        f"{limits.timeout_s / 60:.0f} minutes and use {limits.memory_bytes / 2**30:.0f} GiB of memory. One fit "
        "runs at a time on this Space: if another visitor's fit is running, yours waits and shows its place in "
        f"the line. On an idle 2-core machine a fit of 10,000 customers takes about "
        f"{estimate.seconds(10_000):.0f} s, of {limits.max_rows:,} about {estimate.seconds(limits.max_rows):.0f} s; "
        "after you upload, the estimate for your file learns from this Space's own recent fits.")
    return "\n\n".join(lines)


def reading_status(name: str, facts: Mapping[str, Any], reading: Mapping[str, Any], seconds: float) -> str:
    """After a file was read: what it is, how big, and how long the fit will take."""
    what = "an order log" if reading["source"] == "log" else "a customer table"
    rows = (f"{reading['rows_in']:,} lines → {reading['rows_out']:,} customers" if reading["source"] == "log"
            else f"{reading['rows_out']:,} rows used of {reading['rows_in']:,}")
    lines = [f"**{_md(name)}**: read as {what} ({_md(reading.get('why_source', ''))}); {rows}, "
             f"{len(reading['columns']):,} columns, {facts['bytes'] / 2**20:.1f} MB.",
             f"Check how each column was read below and change what is wrong, then press **Fit**. "
             f"Fitting this file takes about **{seconds:.0f} s** here (if no other fit is waiting)."]
    if reading["source"] == "log":
        dates = reading.get("date_formats") or "none"
        lines.append(f"Dates read as: {_md(dates)}."
                     + "".join(f" {_md(n)}." for n in reading.get("date_notes", [])))
        if reading.get("dropped"):
            lines.append("Set aside: " + ", ".join(f"{_md(k.replace('_', ' '))} {v:,}" for k, v in reading["dropped"].items())
                         + f". Recency is counted to {_md(reading.get('as_of'))}.")
    return "\n\n".join(lines)


def refused(message: str) -> str:
    """A file or a fit that could not be used: said on the page, not in a pop-up that vanishes."""
    return f"**Not trained.** {_md(message[:1].upper() + message[1:])}"


def fit_result(summary: Mapping[str, Any], *, seconds: float, peak_bytes: int) -> str:
    """The fit's result: k, the structure verdict, the segments with their offers."""
    lines = [f"**Your segments are ready**: {summary['k']:d} segments from {summary['rows']:,} customers "
             f"(fitted in {seconds:.0f} s). Every tab now shows them, in this browser tab only.",
             f"Why {summary['k']:d}: {_md(summary['k_reason'])}",
             f"Cluster structure: **{_md(summary['structure'])}** — {_md(summary['structure_summary'])}",
             "", "| segment | customers | offers |", "|---|---:|---|"]
    for s in summary["segments"]:
        offers = "; ".join(_md(o) for o in s["offers"]) or "none"
        lines.append(f"| {_md(s['name'])} | {s['size']:,} ({s['share']:.0%}) | {offers} |")
    lines += ["", f"The worker peaked at {peak_bytes / 2**20:,.0f} MB of memory. Download the bundle below: "
                  "unzipped, `MODEL_DIR=<folder> python app.py` serves it, and `python -m training push` publishes it."]
    return "\n".join(lines)
