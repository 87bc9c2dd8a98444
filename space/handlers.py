"""What each event of the app computes, as plain functions over the Predictor (no gradio): the
form's answer, batch and CSV scoring, the drift report, the plots, the typed `/predict` signature
that the API docs, gradio_client and the MCP tool read. The tabs (`space.tabs`) only wire them to
components."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, TypedDict

from space.render import cards, figures, pages
from model.tables.audiences import audience_files, zip_files
from model.tables.batch import score_upload
from model.tables.rawbytes import read_bytes
from space.scored import BatchFiles, _safe_stem
from model.contract.constraints import number_text
from model.drift.text import render_markdown
from model.contract.errors import SchemaError
from model.drift.check import monitor_upload
from model.serving.predictor import Prediction, Predictor
from model.contract.schema import OMITTED_RULE, NumericFeature, Schema, param_name
from space.settings import Settings


class CsvScores(TypedDict):
    summary: dict[str, Any]  # rows, scored, rejected, per_segment, errors (line and reason), unlike_training
    columns: list[str]
    rows: list[list[str]]  # the scored rows (at most 200)
    rows_shown: int


@dataclass(frozen=True)
class FormAnswer:
    card: str
    offers: str
    map_json: str
    errors: dict[str, str]  # field → message; empty when the customer was scored


class Handlers:
    """The answers of the app's events for one live bundle."""

    def __init__(self, predictor: Predictor, settings: Settings, files: BatchFiles):
        self.predictor, self.settings, self.files = predictor, settings, files
        self.schema, self.manifest = predictor.schema, predictor.manifest
        self.labels = {f.name: f.label for f in self.schema.features}
        self.map = figures.MapFigure(predictor.bundle.sample, predictor.segments)
        self.infos = {f.name: field_info(f) for f in self.schema.features}

    def form(self, record: Mapping[str, Any]) -> FormAnswer:
        """The result card, offers and map for one customer — or, for a refused value, an error
        card (the stale result is gone), the map without a star, and each bad field's message."""
        try:
            result = self.predictor.predict_one(record)
        except SchemaError as exc:
            errors = {e.field: e.message for e in exc.errors}
            return FormAnswer(cards.error_card(errors, self.labels), "", self.map.background(), errors)
        seg = result["segment_id"]
        link = pages.deep_link("", {k: v for k, v in result["input"].items() if v is not None}).lstrip("/")
        return FormAnswer(cards.result_card(result, self.manifest, link=link), cards.offer_cards(result["offers"], seg),
                          self.map.with_point(result["pca"]["x"], result["pca"]["y"], seg), {})

    def csv_scores(self, csv_text: str) -> CsvScores:
        """A small CSV given as text (MCP, programs): capped like every JSON body."""
        payload, result = score_upload(self.predictor, str(csv_text).encode("utf-8"), max_bytes=self.settings.max_body_bytes,
                                       max_rows=self.settings.max_batch_rows)
        header, rows = pages.preview(payload, limit=200)
        return {"summary": result, "columns": header, "rows": rows, "rows_shown": len(rows)}

    def batch(self, path: Path) -> tuple[bytes, dict[str, Any], str]:
        """(scored CSV, summary, the scored file's own path for download) of an uploaded file."""
        cap = self.settings.max_upload_bytes
        payload, result = score_upload(self.predictor, read_bytes(path, cap), max_bytes=cap,
                                       max_rows=self.settings.max_batch_rows)
        owner = self.files.budget.owner_of(path) or "unknown"  # whoever uploaded the file pays for its output
        return payload, result, str(self.files.write(payload, stem=path.stem, owner=owner))

    def audiences(self, payload: bytes, upload: Path) -> str:
        """A scored file's audiences — one CSV per segment, in one zip — written for download,
        charged to whoever uploaded the file (the one disk budget, `space.files`)."""
        data = zip_files(audience_files(payload, self.predictor.segments))
        owner = self.files.budget.owner_of(upload) or "unknown"
        with self.files.folder(incoming=len(data), owner=owner) as folder:
            target = folder / f"audiences_{_safe_stem(upload.stem)}.zip"
            target.write_bytes(data)
        return str(target)

    def monitor(self, path: Path, previous: Path | None) -> tuple[str, str, str]:
        """The drift report of uploaded files as Markdown, and its two figures (plotly JSON). Each
        file is refused over the size cap before it is read, as a batch upload is."""
        cap = self.settings.max_upload_bytes
        report = monitor_upload(self.predictor, read_bytes(path, cap),
                                previous=None if previous is None else read_bytes(previous, cap),
                                max_bytes=cap, max_rows=self.settings.max_batch_rows)
        psi, shares = figures.drift_figures(report, self.predictor.segments)
        return render_markdown(report), psi, shares

    def segment_plot(self, feature: str) -> str:
        return figures.segment_feature_figure(self.predictor.bundle.summary, self.schema.feature(feature),
                                              self.predictor.segments)

    def data_plot(self, feature: str) -> str:
        return figures.distribution_figure(self.predictor.bundle.summary, self.schema.feature(feature))


def field_info(f: Any) -> str:
    if isinstance(f, NumericFeature):
        return _seen(f)
    return f"one of {len(f.levels)} levels"


def typed_predict(predict_one: Callable[[dict], dict], schema: Schema) -> Callable[..., Prediction]:
    """`predict_one` with one keyword per feature, typed and described from the bundle: the API
    docs, gradio_client and the MCP tool `segment_customer` all read this signature and docstring.

    Every parameter is required, as every field is on POST /predict (`OMITTED_RULE`): an omitted
    one is refused naming it, never filled silently; None (null) means "unknown"."""
    by_param = keyword_record(schema)

    def segment_customer(*args: Any, **kwargs: Any) -> Prediction:
        bound = segment_customer.__signature__.bind_partial(*args, **kwargs)  # type: ignore[attr-defined]
        return predict_one(by_param(bound.arguments))  # type: ignore[return-value]

    params, hints = [], {}
    for f in schema.features:
        name = param_name(f.name)
        # a category is any text: its levels are in the description, and the validation core names
        # the field when a value is no level (an enum in the schema would be refused by MCP clients
        # with a message that names no field)
        hint = Optional[float] if isinstance(f, NumericFeature) else Optional[str]
        params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=hint))
        hints[name] = hint
    segment_customer.__signature__ = inspect.Signature(params, return_annotation=Prediction)  # type: ignore[attr-defined]
    segment_customer.__annotations__ = {**hints, "return": Prediction}

    def seen(f: Any) -> str:
        return f" ({_seen(f)})" if isinstance(f, NumericFeature) else ""
    args = "\n".join(f"    {param_name(f.name)}: {f.label}: {f.constraint}{seen(f)}"
                      "; null = unknown, filled like training filled it." for f in schema.features)
    segment_customer.__doc__ = (
        "Find a customer's segment. Returns the segment (id and name), the margin over the runner-up "
        "segment (1 - d1/d2: 0 on the border, 1 at the centre; not a probability), why (the features "
        "that put the customer there, in original units), the offers for the segment (each saying "
        f"whether it fits this customer), the point on the map and flags (unlike_training, imputed). "
        f"{OMITTED_RULE}\n\n"
        f"Args:\n{args}\n")
    return segment_customer


def keyword_record(schema: Schema) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Arguments by parameter name (`age`, `annual_income_k`) → a record by column name, as
    POST /predict takes it; omitted parameters stay omitted and unknown ones stay as sent, so
    `Schema.check` names them with the JSON route's very sentences."""
    columns = {param_name(f.name): f.name for f in schema.features}

    def record(arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {columns.get(str(k), k): v for k, v in arguments.items()}
    return record


def base_url(headers: Mapping[str, str], scheme: str) -> str:
    """This page's own address as the visitor reached it (behind the Spaces proxy too)."""
    host = headers.get("x-forwarded-host") or headers.get("host") or "127.0.0.1:7860"
    scheme = headers.get("x-forwarded-proto") or scheme
    return f"{scheme.split(',')[0].strip()}://{host.split(',')[0].strip()}/"


def bundle_text(path: Path, name: str) -> str:
    target = Path(path) / name
    if not target.is_file():
        return ""
    with open(target, encoding="utf-8", newline="") as fh:  # as written: a SQL literal may hold a CR
        return fh.read()


def card_body(path: Path) -> str:
    """The model card without its front matter and images (the app shows its own plots)."""
    text = bundle_text(path, "README.md")
    if text.startswith("---"):
        text = text.split("---", 2)[2]
    return "\n".join(line for line in text.splitlines() if not line.startswith("!["))


def _seen(f: NumericFeature) -> str:
    return f"training customers: {number_text(f.min)} to {number_text(f.max)}"
