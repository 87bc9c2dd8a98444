"""The Predict tab: a form generated from the schema → the segment, the offers and the map; deep
links (`/?age=34&income=…`) fill and score the form on load."""
from __future__ import annotations

import json
import math
from typing import Any

from model.contract.markdown import inline_literal
from model.contract.schema import NumericFeature, param_name
from space.render import cards, pages
from space.tabs.common import Context, guard, plot

# Runs in the browser before the form is scored: bring the result card into view on a phone,
# where it sits below the form (on a desktop it is beside it and nothing moves).
SCROLL_TO_RESULT = """(...args) => {
  const card = document.querySelector('#result-block');
  if (card) { const top = card.getBoundingClientRect().top;
    if (top > window.innerHeight * 0.5 || top < 0) card.scrollIntoView({behavior: 'smooth', block: 'start'}); }
  return args; }"""


COPY_LINK = """() => {
  const card = document.querySelector('#result-block [data-link]');
  const rel = card && card.dataset.link;
  if (!rel) return 'Find a segment first: the link opens the app on that customer.';
  const url = new URL(rel, window.location.href).href;
  if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
  return url; }"""


def scroll_after_link(names: list[str]) -> str:
    """SCROLL_TO_RESULT once a deep link's customer is scored (the page opened on one of `names`)."""
    return ("(...args) => { const q = new URLSearchParams(window.location.search); "
            f"if ({json.dumps(names)}.some((n) => q.has(n))) ({SCROLL_TO_RESULT})(); return args; }}")


def predict_tab(ctx: Context) -> None:
    import gradio as gr

    ui, schema, predictor = ctx.handlers, ctx.schema, ctx.predictor
    with ctx.tab("Predict", id="predict"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=280):
                inputs = [field_input(f, ui.infos[f.name]) for f in schema.features]
                go = gr.Button("Find segment", variant="primary", elem_id="predict-btn")
            with gr.Column(scale=6, min_width=300):
                result_html = gr.HTML(cards.empty_result(), label="Segment", elem_id="result-block")
                with gr.Row():
                    copy_btn = gr.Button("Copy link to this customer", size="sm", elem_id="copy-link")
                    link_box = gr.Textbox(label="Link to this customer", interactive=False, elem_id="customer-link",
                                          buttons=["copy"], max_lines=1,
                                          placeholder="Press the button: a link that opens the app on this customer")
                offers_html = gr.HTML("", label="Offers")
                map_plot = gr.Plot(plot(ui.map.background()), label="Where this customer sits among "
                                   "everyone (the map squeezes all features into two directions; nearby "
                                   "points are similar customers)", elem_id="pca-map")
        # the form's map, drawn by a second step once the card is shown (inside the tab: gr.Tabs
        # may hold only gr.Tab, or the browser mislabels the tabs)
        map_json = gr.State(None)
        with gr.Accordion("Example customers: one typical member of each segment", open=True):
            gr.Examples(examples=cards.example_rows(predictor.segments, schema), inputs=inputs, label=None,
                        cache_examples=False, elem_id="examples")
        # the form's map, drawn by a second step once the card is shown. Inside the tab: a component
        # made directly in gr.Tabs counts as a tab, and the tab bar then shows shifted labels
        map_json = gr.State(None)

    def score_form(record: dict[str, Any], *, fill: bool = False) -> list[Any]:
        """Result card, offers, map and every field's state (a refused value marks its field with
        the message, its echoed value unable to make links or emphasis). `fill` also puts the values in the
        form (a deep link); a number field only ever gets a number (text stays in the message)."""
        answer = ui.form(record)
        fields = [gr.update(info=f"⚠ {inline_literal(answer.errors[n])}" if n in answer.errors else ui.infos[n],
                            elem_classes=["field-invalid"] if n in answer.errors else [],
                            **({"value": form_value(schema.feature(n), record[n])} if fill else {}))
                  for n in schema.names]
        return [answer.card, answer.offers, answer.map_json, *fields]

    def predict_ui(*values: Any) -> list[Any]:
        return score_form(dict(zip(schema.names, values)))

    def from_link(request: gr.Request) -> list[Any]:
        """A deep link (`?age=34&income=…`) fills the form and scores it on load."""
        record = pages.query_record(schema, dict(request.query_params) if request else {})
        if record is None:
            return [gr.skip()] * (3 + len(schema.names))
        return score_form(record, fill=True)

    def show_map(map_json: str | None) -> Any:
        """Second step of a form event: the map (re-drawing a few thousand points takes a phone
        a second or more; the result card is painted before it starts)."""
        return gr.skip() if map_json is None else plot(map_json)

    from_link.__annotations__["request"] = gr.Request  # gradio reads the hint as an object

    # preprocess=False: gr.Number(precision=0) would turn False into 0 and NaN into an anonymous
    # crash, and gr.Dropdown refuses " female " without naming the field; model.contract.schema
    # sees the raw values, as on every other surface.
    form_out = [result_html, offers_html, map_json, *inputs]
    events = [go.click(guard(predict_ui), inputs, form_out, api_name="predict_form",
                       api_visibility="undocumented", preprocess=False, js=SCROLL_TO_RESULT)]
    for box in inputs:
        if isinstance(box, gr.Number):  # Enter in a field scores the form
            events.append(box.submit(guard(predict_ui), inputs, form_out, api_visibility="private",
                                     preprocess=False, js=SCROLL_TO_RESULT))
    for event in events:
        event.then(show_map, map_json, map_plot, api_visibility="private")
    # in the browser only: the card carries its deep link; this makes it absolute and copies it
    copy_btn.click(None, None, link_box, js=COPY_LINK)
    if not ctx.visitor:  # deep links address the Space's own model
        link = ctx.demo.load(guard(from_link), None, form_out, api_visibility="private", preprocess=False)
        # a deep link scores the form on load: bring its result into view as a click would
        link.then(show_map, map_json, map_plot, api_visibility="private",
                  js=scroll_after_link([param_name(f.name) for f in schema.features]))


def form_value(f: Any, value: Any) -> Any:
    """What a field can show: a finite number in a number box, a level in a dropdown (in its
    trained spelling), else nothing (the refused text is in the field's message)."""
    if isinstance(f, NumericFeature):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return value if ok else None
    return f.constraint.parse(value)


def field_input(f: Any, info: str) -> Any:
    """The form field of one feature: a number box or a dropdown of its levels."""
    import gradio as gr
    elem = f"field-{param_name(f.name).replace('_', '-')}"
    if isinstance(f, NumericFeature):
        value = int(f.median) if f.integer and float(f.median).is_integer() else f.median
        return gr.Number(value=value, label=f.label, precision=0 if f.integer else None, info=info, elem_id=elem)
    return gr.Dropdown(list(f.levels), value=f.mode, label=f.label, info=info, elem_id=elem)
