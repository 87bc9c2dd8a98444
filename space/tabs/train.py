"""The Train tab: upload a customer table or an order log, see how each column was read and
correct it, fit in the confined worker (`space.train`) with a progress bar tied to the fit's steps,
then see your own segments in every tab of this browser tab (`space.active`). `/train` is the same
for programs (file in → summary and bundle zip out; nothing is shown to any session)."""
from __future__ import annotations

from typing import Any

from model.contract.errors import CSVError
from model.contract.markdown import md_literal
from space.active import ActiveBundle
from space.render import training as pages
from space.tabs.common import Context, guard
from space.train.service import Choices, Trainer

KINDS = [("a number", "numeric"), ("a category", "categorical"), ("left out", "excluded")]
K_CHOICES = [("chosen from the evidence", "auto"), *[(str(k), str(k)) for k in range(2, 11)]]
SOURCES = [("Find out from the file", "auto"), ("A customer table (one row per customer)", "table"),
           ("An order log (one line per order)", "log")]
LOG_ROLES = ("customer", "date", "amount", "quantity", "price", "order")
FIT = {"concurrency_id": "train-fit", "concurrency_limit": 1}  # one fit at a time, UI and API alike
INSPECT = {"concurrency_id": "train-inspect", "concurrency_limit": 1}


def train_tab(ctx: Context, active: ActiveBundle) -> None:
    import gradio as gr

    trainer = Trainer(ctx.settings.train, ctx.handlers.files)
    with gr.Tab("Train", id="train"):
        gr.Markdown(pages.intro(ctx.settings.train, ready=trainer.ready, ttl_s=active.bundles.ttl_s,
                                estimate=trainer.estimate), elem_id="train-intro")
        with gr.Row(visible=trainer.ready):
            upload = gr.File(label="Your file (CSV)", file_types=[".csv", ".txt", ".tsv"], file_count="single",
                             elem_id="train-file", scale=3)
            source = gr.Radio(SOURCES, value="auto", label="What is in the file?", elem_id="train-source", scale=2)
        status = gr.Markdown(elem_id="train-status")
        reading = gr.State(None)  # how the worker read the uploaded file (server-side)
        with gr.Column(elem_id="train-panel"):
            @gr.render(inputs=[reading], triggers=[reading.change], show_progress="hidden")
            def columns_panel(read: Any) -> None:
                if not read:
                    return
                boxes, collect = _table_boxes(read) if read["source"] == "table" else _log_boxes(read)
                k = gr.Dropdown(K_CHOICES, value="auto", label="Number of segments", elem_id="train-k", interactive=True)
                with gr.Row():
                    again = gr.Button("Read again with these choices", elem_id="train-again")
                    go = gr.Button("Fit", variant="primary", elem_id="train-fit")

                def again_ui(file: Any, how: str, *values: Any) -> tuple[str, Any]:
                    return inspect_ui(file, how, collect(how, "auto", values))

                def go_ui(request: gr.Request, progress: Any = gr.Progress(), *values: Any) -> list[Any]:
                    # Gradio passes its special arguments by position, before the inputs
                    file, how, k_value, rest = values[0], values[1], values[2], values[3:]
                    return fit_ui(file, collect(how, k_value, rest), request, progress)
                go_ui.__annotations__["request"] = gr.Request
                again.click(guard(again_ui), [upload, source, *boxes], [status, reading], api_visibility="private",
                            **INSPECT)
                go.click(guard(go_ui), [upload, source, k, *boxes], fit_outputs, api_visibility="private", **FIT)
        result = gr.Markdown(elem_id="train-result")
        bundle_zip = gr.File(label="Your bundle (zip)", visible=False, interactive=False, elem_id="train-zip")
        mine = gr.State(None)  # token of this session's latest own bundle
        show_mine = gr.Button("Show my segments in every tab", visible=False, elem_id="show-mine")
        # /train for programs: hidden inputs, typed by their components
        with gr.Column(visible=False):
            api_file = gr.File(label="file")
            # text, not dropdowns: the worker's message (allowed values, value received) reaches the caller
            api_source = gr.Textbox("auto", label="source")
            api_k = gr.Textbox("auto", label="k")
            api_id = gr.Textbox("", label="id_column")
            api_kinds = gr.Textbox("", label="kinds")
            api_roles = gr.Textbox("", label="roles")
            api_log = gr.Textbox("", label="log_columns")
            api_summary = gr.JSON(label="summary")
            api_zip = gr.File(label="bundle_zip")
            api_go = gr.Button("train")

    def inspect_ui(file: Any, how: str, choices: Choices | None = None) -> tuple[str, Any]:
        if file is None:
            return "", None
        path = ctx.uploaded_path(file)
        choices = choices or Choices(source=how)
        try:
            read = trainer.inspect(path, choices)
        except (CSVError, ValueError) as exc:
            return pages.refused(str(exc)), None
        # the choices that gave this reading stay with it: the next changes add to them
        return (pages.reading_status(path.name, vars(read.facts), read.reading, read.seconds),
                {**read.reading, "choices": choices.job()})

    upload.upload(guard(inspect_ui), [upload, source], [status, reading], api_visibility="private", **INSPECT)
    source.change(guard(inspect_ui), [upload, source], [status, reading], api_visibility="private", **INSPECT)
    upload.clear(lambda: ("", None, ""), None, [status, reading, result], api_visibility="private")

    def fit_ui(file: Any, choices: Choices, request: Any, progress: Any) -> list[Any]:
        keep = [gr.skip()] * 4
        if file is None:
            return [pages.refused("choose a file first"), *keep]
        path = ctx.uploaded_path(file)
        progress(0, desc="waiting for the training worker")

        def on_step(event: dict[str, Any]) -> None:
            progress((event["n"], event["total"] or event["n"]), desc=event["message"])
        try:
            fitted = trainer.fit(path, choices, on_step=on_step)
            progress(1.0, desc="loading your segments")
            entry = active.bundles.add(session=request.session_hash, folder=fitted.folder,
                                       bundle_dir=fitted.bundle_dir, zip_path=fitted.zip_path,
                                       label=f"trained in this session on {path.name}")
        except (CSVError, ValueError) as exc:
            return [pages.refused(str(exc)), *keep]
        text = pages.fit_result(fitted.summary, seconds=fitted.seconds, peak_bytes=fitted.peak_rss_bytes)
        return [text, gr.update(value=str(fitted.zip_path), visible=True), entry.token, entry.token,
                gr.update(visible=False)]

    fit_outputs = [result, bundle_zip, active.state, mine, show_mine]

    show_mine.click(lambda token: token, mine, active.state, api_visibility="private")
    active.state.change(lambda shown, own: gr.update(visible=bool(own) and shown != own), [active.state, mine],
                        show_mine, api_visibility="private", show_progress="hidden")

    def train(file: Any, source: str = "auto", k: str = "auto", id_column: str = "", kinds: str = "",
              roles: str = "", log_columns: str = "", progress=gr.Progress()) -> tuple[dict, str]:
        """Train on a customer table or an order log: the segments (names, sizes, offers), how the
        features were read, and the bundle as a zip. Errors name the problem (a file over a cap names the cap).

        Args:
            file: the CSV: a customer table (one row per customer) or an order log (one line per order).
            source: auto (decided from the file), table or log.
            k: the number of segments, auto or 2 to 10.
            id_column: the column naming the customer (default: recognised).
            kinds: how to read columns, e.g. "stars=categorical; memo=excluded" (numeric, categorical, excluded).
            roles: what columns mean, e.g. "income=Salary; none=Score".
            log_columns: an order log's columns, e.g. "customer=Client; date=Day; amount=Total".
        """
        if file is None:
            raise ValueError("file: upload a CSV (a customer table or an order log)")
        choices = Choices(source=source, id_column=id_column.strip() or None, kinds=_pairs(kinds, "kinds"),
                          roles=[r.strip() for r in roles.split(";") if r.strip()],
                          log_columns=_pairs(log_columns, "log_columns"), k=k)
        fitted = trainer.fit(ctx.uploaded_path(file), choices,
                             on_step=lambda e: progress((e["n"], e["total"] or e["n"]), desc=e["message"]))
        return {**fitted.summary, "seconds": round(fitted.seconds, 2),
                "worker_peak_memory_mb": round(fitted.peak_rss_bytes / 2**20)}, str(fitted.zip_path)
    train._mcp_type = "none"  # a file and a minute of work: for gradio_client, not an MCP tool call
    api_go.click(guard(train), [api_file, api_source, api_k, api_id, api_kinds, api_roles, api_log],
                 [api_summary, api_zip], api_name="train", **FIT)


def _table_boxes(read: dict[str, Any]) -> tuple[list[Any], Any]:
    """The id column, then per other column its kind and role (what the worker read, changeable),
    and how the choices are read back (only what the visitor changed is sent)."""
    import gradio as gr
    names = [c["name"] for c in read["columns"]]
    roles = [("no role" if r == "none" else r.replace("_", " "), r) for r in read["roles_allowed"]]
    gr.Markdown("#### How each column was read\nChange a column's kind or role (what it means: names, "
                "traits and offers speak of roles), or the id column; **Read again** shows the result.")
    id_box = gr.Dropdown([("(none)", ""), *[(n, n) for n in names]], value=read["id_column"] or "",
                         label="Id column (names the customer; never a feature)", elem_id="train-id", interactive=True)
    boxes, shown = [id_box], []
    for c in read["columns"]:
        if c["kind"] == "id":
            continue
        with gr.Row(equal_height=True, elem_classes=["train-column"]):
            gr.Markdown(f"**{md_literal(c['name'])}**  \n{md_literal(c['note'])}", elem_classes=["train-col-name"])
            boxes.append(gr.Dropdown(KINDS, value=c["kind"], label="read as", interactive=True, min_width=120))
            boxes.append(gr.Dropdown(roles, value=c["role"] or "none", label="role", interactive=True, min_width=120))
        shown.append(c)

    def collect(source: str, k: str, values: tuple[Any, ...]) -> Choices:
        before = read.get("choices") or {}
        kinds = dict(before.get("kinds") or {})
        roles = dict(reversed(flag.split("=", 1)) for flag in before.get("roles") or ())  # column → role
        idc, rest = values[0] or None, values[1:]
        for c, kind, role in zip(shown, rest[0::2], rest[1::2]):
            if kind != c["kind"]:
                kinds[c["name"]] = kind
            if role != (c["role"] or "none"):
                roles[c["name"]] = role
        return Choices(source=source, id_column=idc, kinds=kinds, roles=[f"{r}={c}" for c, r in roles.items()], k=k)
    return boxes, collect


def _log_boxes(read: dict[str, Any]) -> tuple[list[Any], Any]:
    """Which column is the customer, the date, the money and the order (recognised, changeable)."""
    import gradio as gr
    names = [c["name"] for c in read["columns"]]
    found = read.get("log_roles", {})
    gr.Markdown("#### How the order log was read\nEach line is an order (or a product of one). Change a column "
                "below if it was taken wrongly; the customers' recency, orders, spend, time as a customer and "
                "average order are computed from them.")
    boxes = [gr.Dropdown([("(none found)", ""), *[(n, n) for n in names]], value=found.get(role, ""),
                         label=role, interactive=True, min_width=140, elem_id=f"train-log-{role}")
             for role in LOG_ROLES]

    def collect(source: str, k: str, values: tuple[Any, ...]) -> Choices:
        before = read.get("choices") or {}
        changed = {role: v for role, v in zip(LOG_ROLES, values) if v and v != found.get(role)}
        return Choices(source=source, log_columns={**(before.get("log_columns") or {}), **changed}, k=k)
    return boxes, collect


def _pairs(text: str, field: str) -> dict[str, str]:
    """"COLUMN=VALUE; COLUMN=VALUE" → {column: value} (column names may hold commas, not ';')."""
    out = {}
    for part in str(text).split(";"):
        if not part.strip():
            continue
        key, sep, value = part.rpartition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{field} must look like COLUMN=VALUE; COLUMN=VALUE; got {part.strip()[:60]!r}")
        out[key.strip()] = value.strip()
    return out
