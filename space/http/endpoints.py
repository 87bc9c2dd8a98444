"""What the gate knows about each Gradio event: its inputs' names, which take a file, which are
dropdowns Gradio itself checks. Read once from the Blocks (duck-typed: it never imports gradio)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from model.contract.errors import echo

Problem = tuple[int, str, list[dict[str, str]]]
FILE_EXPECT = ("an uploaded file: POST /gradio_api/upload, then send "
               "{\"path\": <the path it returned>, \"meta\": {\"_type\": \"gradio.FileData\"}}, or null")


@dataclass(frozen=True)
class Endpoint:
    """One Gradio event as the API sees it."""
    name: str  # api_name without the leading "/"; "" for an event with no API name
    fn_index: int
    fields: tuple[str, ...]  # names of the positional inputs, in order
    expect: Mapping[str, str] = field(default_factory=dict)  # field → what is allowed, for messages
    check_arity: bool = True  # refuse a `data` list of another length
    keywords: bool = False  # documented, hence callable by keyword through /call/v2/<name>
    files: tuple[int, ...] = ()  # positions of file inputs: an uploaded file reference or null
    choices: Mapping[int, tuple[Any, ...]] = field(default_factory=dict)  # position → allowed values
    stream: bool = False  # takes streaming input (POST /stream/<event> is then legitimate)

    def problem(self, data: Any) -> Problem | None:
        """What is wrong with the `data` list of a call, if anything (a non-list is left to Gradio)."""
        if not isinstance(data, list):
            return None
        return self._arity(data) or self._files(data) or self._choices(data)

    def _arity(self, data: list[Any]) -> Problem | None:
        if not self.check_arity or len(data) == len(self.fields):
            return None
        n = len(self.fields)
        order = f"/{self.name} takes {n} value{'' if n == 1 else 's'} in this order: {', '.join(self.fields)}"
        if len(data) < len(self.fields):
            missing = self.fields[len(data):]
            detail = [{"field": f, "message": f"{f} is required ({self.expect.get(f, 'a value')})"} for f in missing]
            return 422, f"{order}; got {len(data)}, missing: {', '.join(missing)}", detail
        extra = data[len(self.fields):]
        return 422, f"{order}; got {len(data)}: remove the extra value(s) {echo(extra)}", [
            {"field": "data", "message": f"{len(extra)} value(s) too many"}]

    def _files(self, data: list[Any]) -> Problem | None:
        for i, value in enumerate(data):
            name = self.fields[i] if i < len(self.fields) else f"value {i + 1}"
            if i in self.files:
                if value is None or is_file_ref(value):
                    continue
                message = f"{name} must be {FILE_EXPECT}; got {echo(value)}"
            elif contains_file_ref(value):
                message = f"{name} cannot hold a file reference; got {echo(value)}"
            else:
                continue
            return 422, message, [{"field": name, "message": message}]
        return None

    def _choices(self, data: list[Any]) -> Problem | None:
        for i, allowed in self.choices.items():
            if i < len(data) and data[i] is not None and data[i] not in allowed:
                name = self.fields[i]
                message = f"{name} must be one of {', '.join(map(str, allowed))}; got {echo(data[i])}"
                return 422, message, [{"field": name, "message": message}]
        return None


def is_file_ref(d: Any) -> bool:
    """The shape Gradio treats as a file (gradio_client.utils.is_file_obj_with_meta)."""
    return (isinstance(d, dict) and isinstance(d.get("path"), str) and isinstance(d.get("meta"), dict)
            and d["meta"].get("_type", "") == "gradio.FileData")


def contains_file_ref(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if is_file_ref(node):
            return True
        stack.extend(node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())
    return False


def endpoints_of(blocks: Any, schema: Any, *, checked: Sequence[str] = ("predict", "predict_form")) -> list[Endpoint]:
    """The events of a Gradio Blocks (`.fns`, `.get_api_info()`). Events in `checked` take one
    value per schema feature, in schema order, named and described from the schema.

    Read once at start-up; events that `gr.render` creates in one session are looked up per
    request by `rendered_endpoints`."""
    from model.contract.schema import param_name
    documented = blocks.get_api_info().get("named_endpoints", {})
    fields = tuple(param_name(f.name) for f in schema.features)
    expect = {param_name(f.name): schema.expect(f) for f in schema.features}
    out = []
    for fn in blocks.fns.values():  # every event, named or not: the browser joins the queue for all
        doc = documented.get("/" + fn.api_name) if fn.api_name else None
        names = (fields if fn.api_name in checked else
                 tuple(p["parameter_name"] for p in doc["parameters"]) if doc else None)
        out.append(endpoint_of(fn, names=names, expect=dict(expect) if fn.api_name in checked else {},
                               keywords=doc is not None))
    return out


def endpoint_of(fn: Any, *, names: tuple[str, ...] | None = None, expect: Mapping[str, str] | None = None,
                keywords: bool = False) -> Endpoint:
    """One event (a Gradio BlockFunction) as the gate checks it: its inputs' names (from their
    labels unless given), which take a file, which are dropdowns with fixed choices."""
    names = names or tuple(_input_name(b, i) for i, b in enumerate(fn.inputs))
    files = tuple(i for i, b in enumerate(fn.inputs) if type(b).__name__ in ("File", "UploadButton"))
    choices = {i: tuple(v for _, v in b.choices) for i, b in enumerate(fn.inputs)
               if fn.preprocess and _checked_dropdown(b)}
    described = dict(expect or {})
    described |= {names[i]: FILE_EXPECT for i in files}
    described |= {names[i]: "one of " + ", ".join(map(str, c)) for i, c in choices.items()}
    return Endpoint(fn.api_name or "", fn._id, names, described, keywords=keywords, files=files, choices=choices,
                    stream=getattr(fn, "connection", "") == "stream")


def rendered_endpoints(blocks: Any) -> Callable[[Any, int], Endpoint | None]:
    """For the gate: the event `fn_index` of session `session_hash` when `gr.render` created it
    there (it exists only in that session's copy of the event table), checked like the page's
    own events; None for anything else. Reads Gradio's session table without adding to it."""
    def resolve(session_hash: Any, fn_index: int) -> Endpoint | None:
        holder = getattr(blocks, "state_holder", None)
        sessions = getattr(holder, "session_data", None)
        if not isinstance(session_hash, str) or sessions is None:
            return None
        state = sessions.get(session_hash)
        fn = state.blocks_config.fns.get(fn_index) if state is not None else None
        if fn is None or getattr(fn, "rendered_in", None) is None:
            return None
        return endpoint_of(fn)
    return resolve


def server_components_of(blocks: Any) -> list[int]:
    """Ids of the components that have server functions (`POST /component_server` targets)."""
    return [b._id for b in blocks.blocks.values() if getattr(b, "server_fns", None)]


def _input_name(block: Any, i: int) -> str:
    from model.contract.schema import param_name
    label = getattr(block, "label", None)
    return param_name(label) if isinstance(label, str) and label.strip() else f"value_{i + 1}"


def _checked_dropdown(block: Any) -> bool:
    """A dropdown whose preprocess refuses values outside its choices (echoing them in full)."""
    return (type(block).__name__ == "Dropdown" and not getattr(block, "allow_custom_value", True)
            and not getattr(block, "multiselect", False) and getattr(block, "type", "value") == "value")
