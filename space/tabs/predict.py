"""The Predict tab: a form generated from the schema → the segment, the offers and the map; deep
links (`/?age=34&income=…`) fill and score the form on load."""
from __future__ import annotations

from typing import Any

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


def predict_tab(ctx: Context) -> None:
    import gradio as gr

    ui, schema, predictor = ctx.handlers, ctx.schema, ctx.predictor
    with gr.Tab("Predict", id="predict"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=280):
                inputs = [field_input(f, ui.infos[f.name]) for f in schema.features]
                go = gr.Button("Find segment", variant="primary", elem_id="predict-btn")
            with gr.Column(scale=6, min_width=300):
                result_html = gr.HTML(cards.empty_result(), label="Segment", elem_id="result-block")
                offers_html = gr.HTML("", label="Offers")
                map_plot = gr.Plot(plot(ui.map.background()), label="Where this customer sits among "
                                   "everyone (the map squeezes all features into two directions; nearby "
                                   "points are similar customers)", elem_id="pca-map")
        with gr.Accordion("Example customers: one typical member of each segment", open=True):
            gr.Examples(examples=cards.example_rows(predictor.segments, schema), inputs=inputs, label=None,
                        cache_examples=False, elem_id="examples")
        # the form's map, drawn by a second step once the card is shown. Inside the tab: a component
        # made directly in gr.Tabs counts as a tab, and the tab bar then shows shifted labels
        map_json = gr.State(None)

    def score_form(record: dict[str, Any], *, fill: bool = False) -> list[Any]:
        """Result card, offers, map and every field's state (a refused value marks its field with
        the message). `fill` also puts the values in the form (a deep link)."""
        answer = ui.form(record)
        fields = [gr.update(info=f"⚠ {answer.errors[n]}" if n in answer.errors else ui.infos[n],
                            elem_classes=["field-invalid"] if n in answer.errors else [],
                            **({"value": record[n]} if fill else {})) for n in schema.names]
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
    events.append(ctx.demo.load(guard(from_link), None, form_out, api_visibility="private", preprocess=False))
    for event in events:
        event.then(show_map, map_json, map_plot, api_visibility="private")


def field_input(f: Any, info: str) -> Any:
    """The form field of one feature: a number box or a dropdown of its levels."""
    import gradio as gr
    elem = f"field-{param_name(f.name).replace('_', '-')}"
    if isinstance(f, NumericFeature):
        value = int(f.median) if f.integer and float(f.median).is_integer() else f.median
        return gr.Number(value=value, label=f.label, precision=0 if f.integer else None, info=info, elem_id=elem)
    return gr.Dropdown(list(f.levels), value=f.mode, label=f.label, info=info, elem_id=elem)
