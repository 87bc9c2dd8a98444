"""The Edit tab: people own the segments. Rename a segment, write its offers (add, remove, reorder),
merge two, or start from another k of the evidence table — with a live preview of the cards, the
map, the sizes and the diff against the live bundle — then download the result as a bundle zip or,
signed in with Hugging Face, publish it as a commit of the model repo and pin the Space to it.

An edit lives in the visitor's session (a gr.State): until it is published by an account that may
write the model repo, nobody else sees it. Bad input (a duplicate or empty name, a segment merged
with itself, a k outside the evidence table, a malformed offer) is said in the status line and
changes nothing."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from model.contract.errors import EditError
from model.contract.markdown import md_literal
from model.editing.spec import segment_id
from space.editor import Editor, with_words
from space.http.origin import client_id
from space.hub import _DeadlineExceeded, _run_with_deadline
from space.publish import PublishRefused, publish, sign_in_available, token_for
from space.render import cards, figures
from space.render.editing import diff_markdown, edit_summary, pin_markdown, sizes_html
from space.tabs.common import Context, guard, plot

PUBLISH_TIMEOUT_S = 90.0
INTRO = ("Own the segments: rename one, write its offers, merge two, or start from another number of segments "
         "that the evidence table measured (no refit). The preview below is yours alone: other visitors keep "
         "seeing the live model until an account that may write the model repo publishes an edit.")


def edit_tab(ctx: Context, active: Any = None) -> None:
    """The tab; `active` (`space.active.ActiveBundle`) lets a visitor see the edit in every tab of
    their own session."""
    import gradio as gr

    editor = Editor(ctx.live, ctx.handlers.files)
    live = ctx.manifest
    settings = ctx.settings
    with gr.Tab("Edit", id="edit"):
        gr.Markdown(INTRO)
        state = gr.State({})
        shown = gr.State(0)  # the segment (its choice value) whose name and offers the fields hold
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=300):
                k_box = gr.Dropdown(editor_k_choices(editor), value=live.edit.k if live.edit else live.k,
                                    label="Number of segments", allow_custom_value=True, elem_id="edit-k")
                with gr.Row():
                    merge_a = gr.Dropdown(_choices(live, None), label="Merge segment", allow_custom_value=True,
                                          elem_id="edit-merge-a")
                    merge_b = gr.Dropdown(_choices(live, None), label="with segment", allow_custom_value=True,
                                          elem_id="edit-merge-b")
                merge_btn = gr.Button("Merge these two", elem_id="edit-merge")
                segment = gr.Dropdown(_choices(live, None), value=0, label="Segment to rename or re-offer",  # = shown
                                      allow_custom_value=True, elem_id="edit-segment")
                name = gr.Textbox(live.segments[0].name, label="Name (your words)", max_length=200, elem_id="edit-name")
                offers = gr.Dataframe(_offer_table(live.segments[0]), headers=["order", "title", "rationale"],
                                      datatype=["number", "str", "str"], interactive=True, row_count=4,
                                      column_widths=["70px", "38%", "52%"],
                                      label="Offers (change the order numbers to reorder; "
                                      "empty a row to remove it; add rows below)", elem_id="edit-offers", wrap=True)
                words_btn = gr.Button("Apply name and offers", variant="primary", elem_id="edit-apply")
                reset_btn = gr.Button("Start again from the live segments", size="sm", elem_id="edit-reset")
            with gr.Column(scale=7, min_width=300):
                status = gr.Markdown("No edit yet: the segments below are the live ones.", elem_id="edit-status",
                                     label="Edit status")
                diff = gr.Markdown(label="Changes against the live bundle", elem_id="edit-diff")
                sizes = gr.HTML(sizes_html(live), label="Sizes", elem_id="edit-sizes-block")
                summary = gr.Markdown(label="What the edit changed", elem_id="edit-summary")
        edit_map = gr.Plot(plot(ctx.handlers.map.background()), label="Map of the edited segments", elem_id="edit-map")
        preview = gr.HTML(cards.segment_cards(ctx.predictor.segments, ctx.schema, live.rules),
                          label="Edited segment cards", elem_id="edit-cards")
        if active is not None:
            use_btn = gr.Button("Use this edit in my session (every tab, for me only)", elem_id="edit-use")
        with gr.Row():
            zip_btn = gr.Button("Download the edited bundle (zip)", elem_id="edit-zip")
            zip_file = gr.File(label="Edited bundle", interactive=False, elem_id="edit-zip-file")
        if sign_in_available(settings):
            gr.LoginButton(elem_id="edit-login")
        publish_btn = gr.Button("Publish as a new commit of the model repo", variant="primary", elem_id="edit-publish")
        published = gr.Markdown(_publish_note(ctx), elem_id="edit-published", label="Publishing")

    outputs = [state, status, diff, sizes, summary, edit_map, preview, segment, merge_a, merge_b, name, offers, shown]

    def refuse(message: str, keep: dict[str, Any]) -> list[Any]:
        """Bad input: the message, and nothing else changes (the segment chosen and the text typed stay)."""
        return [keep, message] + [gr.skip()] * 11

    def render(new_state: dict[str, Any], message: str, *, keep: dict[str, Any] | None = None) -> list[Any]:
        """Every preview output for `new_state`; on bad input, `message` and the previous state."""
        try:
            edited = editor.apply(new_state)
        except EditError as exc:
            return refuse(f"⚠ {md_literal(str(exc))}", keep if keep is not None else new_state)
        manifest = edited.manifest if edited else live
        segs = manifest.segments
        bare = [str(s.id) for s in segs if not s.offers]
        if bare:  # a merged segment keeps only the offers that hold for all its parts
            message += (f" ⚠ Segment{'s' if len(bare) > 1 else ''} {', '.join(bare)} "
                        f"{'have' if len(bare) > 1 else 'has'} no offer: write one below.")
        map_json = figures.MapFigure(edited.sample, segs).background() if edited else ctx.handlers.map.background()
        choices = _choices(manifest, edited)
        return [new_state, message, diff_markdown(editor.diff(edited), against="the live bundle") if edited else "",
                sizes_html(manifest), edit_summary(manifest) if edited else "", plot(map_json),
                cards.segment_cards(segs, ctx.schema, manifest.rules),
                gr.update(choices=choices, value=choices[0][1]),  # the first segment, its words below
                gr.update(choices=choices, value=None), gr.update(choices=choices, value=None),
                segs[0].name, _offer_table(segs[0]), choices[0][1]]

    def choose_k(k: Any, current: dict[str, Any]) -> list[Any]:
        try:
            k = int(k)
        except (TypeError, ValueError):
            return refuse(f"⚠ the number of segments must be one of {md_literal(', '.join(str(c) for _, c in editor.k_choices()))}; got {md_literal(str(k)[:40])}", current)
        base = live.edit.k if live.edit else live.k
        new = {} if k == base and live.edit is None else {"k": k}
        return render(new, f"Preview: {k} segments (the k={k} fit of the evidence table; earlier changes of this "
                           "edit dropped).", keep=current)

    def merge(a: Any, b: Any, current: dict[str, Any]) -> list[Any]:
        if a is None or b is None:
            return refuse("⚠ choose two segments to merge", current)
        try:
            pair = [segment_id(a, "the first segment to merge"), segment_id(b, "the second segment to merge")]
        except EditError as exc:
            return refuse(f"⚠ {md_literal(str(exc))}", current)
        new = {**current, "merges": [*current.get("merges", []), pair]}
        return render(new, "Preview: merged. The merged segment's stability is not re-measured.", keep=current)

    def words(sid: Any, text: str, table: Any, current: dict[str, Any]) -> list[Any]:
        try:
            if sid is None:
                raise EditError("choose the segment to rename or re-offer")
            new = with_words(current, editor.apply(current), live, start_id=segment_id(sid, "the segment"),
                             name=text, offers=table)
        except (EditError, ValueError) as exc:
            return refuse(f"⚠ {md_literal(str(exc))}", current)
        if editor.spec(new) == editor.spec(current):  # say so: "applied" for what the preview already shows would be a false claim
            return refuse("⚠ nothing changed: the name and offers are those the preview already shows", current)
        return render(new, "Preview: name and offers applied.", keep=current)

    def pick(sid: Any, current: dict[str, Any], now: Any) -> tuple[Any, Any, Any]:
        """The name and offers of the chosen segment, as the preview has them. The segment whose words
        the fields already hold changes nothing: the dropdown reports a choice more than once (on the
        click and again as it loses focus), and a late second answer overwrote what the visitor had
        started typing."""
        if sid == now:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            edited = editor.apply(current)
        except EditError:
            edited = None
        manifest = edited.manifest if edited else live
        id_map = edited.id_map if edited else {s.id: s.id for s in live.segments}
        try:
            start = segment_id(sid, "the segment")
        except EditError:
            return gr.skip(), gr.skip(), gr.skip()
        if start not in id_map:
            return gr.skip(), gr.skip(), gr.skip()
        seg = manifest.segments[id_map[start]]
        return seg.name, _offer_table(seg), sid

    def reset() -> list[Any]:
        return render({}, "No edit: the segments below are the live ones.")

    def download(current: dict[str, Any], request: gr.Request) -> Any:
        scope = getattr(getattr(request, "request", None), "scope", None)
        owner = client_id(scope) if scope else "unknown"  # the zip counts against this visitor's disk share
        return editor.zip(current, owner=owner)  # EditError ("nothing to download yet") reaches them via guard

    def publish_edit(current: dict[str, Any], profile: Any, oauth_token: Any) -> str:
        token = token_for(oauth_token, on_space=bool(settings.space_id), local_token=settings.hf_token)
        if not sign_in_available(settings):
            return _publish_note(ctx)
        if profile is None or token is None:
            return "⚠ Sign in with Hugging Face first. Until then your edit is a preview for you only."
        source = ctx.live.source
        if source.kind != "hub" or not source.repo:
            return ("⚠ This Space serves a local bundle, so there is no model repo to publish to: download the zip "
                    "and push it with `python -m training push`.")
        try:
            def work() -> Any:
                with tempfile.TemporaryDirectory(prefix="publish-") as tmp:
                    edited = editor.written(current, Path(tmp) / "bundle")
                    message = f"Edit segments: {edited.changes[0]}"[:150] + (
                        f" (+{len(edited.changes) - 1} more)" if len(edited.changes) > 1 else "")
                    return publish(Path(tmp) / "bundle", repo=source.repo, token=token, endpoint=settings.hf_endpoint,
                                   parent=source.commit, message=message, space_id=settings.space_id)
            done = _run_with_deadline(work, time.monotonic() + PUBLISH_TIMEOUT_S)
        except _DeadlineExceeded:
            return f"⚠ the Hub did not answer within {PUBLISH_TIMEOUT_S:g} s; nothing may have been published"
        except (EditError, PublishRefused) as exc:
            return f"⚠ {md_literal(str(exc))}"
        return pin_markdown(done.repo, done.commit, space_id=done.space_id, set_on_space=done.pinned)

    def use_in_session(current: dict[str, Any], request: gr.Request) -> Any:
        """The edited bundle, shown in every tab of this session only (`space.active`)."""
        folder = Path(tempfile.mkdtemp(prefix="edit-session-"))
        try:
            editor.written(current, folder / "bundle")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        entry = active.bundles.add(session=request.session_hash, folder=folder, bundle_dir=folder / "bundle",
                                   zip_path=None, label="your edited preview (not published)")
        return entry.token

    use_in_session.__annotations__["request"] = gr.Request
    download.__annotations__["request"] = gr.Request
    if active is not None:
        use_btn.click(guard(use_in_session), state, active.state, api_name="edit_use", api_visibility="undocumented")
    # gradio injects the visitor's sign-in by these hints (read as objects, not strings)
    publish_edit.__annotations__.update(profile=gr.OAuthProfile | None, oauth_token=gr.OAuthToken | None)
    opts = dict(api_visibility="undocumented")
    k_box.input(guard(choose_k), [k_box, state], outputs, api_name="edit_k", **opts)
    merge_btn.click(guard(merge), [merge_a, merge_b, state], outputs, api_name="edit_merge", **opts)
    words_btn.click(guard(words), [segment, name, offers, state], outputs, api_name="edit_words", **opts)
    segment.input(guard(pick), [segment, state, shown], [name, offers, shown], api_name="edit_pick", **opts)
    reset_btn.click(guard(reset), None, outputs, api_name="edit_reset", **opts)
    zip_btn.click(guard(download), state, zip_file, api_name="edit_zip", **opts)
    publish_btn.click(guard(publish_edit), state, published, api_name="edit_publish", concurrency_limit=1, **opts)


def editor_k_choices(editor: Editor) -> list[tuple[str, int]]:
    try:
        return editor.k_choices()
    except Exception:  # a bundle whose statistics cannot be read still offers its own k
        m = editor.bundle.manifest
        return [(f"{m.k} segments", m.k)]


def _choices(manifest: Any, edited: Any) -> list[tuple[str, int]]:
    """(label, the id of the first segment it came from) of every segment of the preview."""
    id_map = edited.id_map if edited is not None else {s.id: s.id for s in manifest.segments}
    first: dict[int, int] = {}
    for start, new in sorted(id_map.items()):
        first.setdefault(new, start)
    return [(f"{s.id} · {s.name}", first[s.id]) for s in manifest.segments if s.id in first]


def _offer_table(seg: Any) -> list[list[Any]]:
    return [[i, o.title, o.rationale] for i, o in enumerate(seg.offers, start=1)]


def _publish_note(ctx: Context) -> str:
    if not sign_in_available(ctx.settings):
        return ("Publishing needs sign-in with Hugging Face, which is not enabled here (a Space enables it with "
                "`hf_oauth: true` in its README). Download the zip instead and push it with "
                "`python -m training push --bundle FOLDER --repo OWNER/NAME`.")
    if ctx.live.source.kind != "hub":
        return "This app serves a local bundle: download the zip to publish it yourself."
    return (f"Sign in with an account that may write **{md_literal(ctx.live.source.repo)}** to publish your edit as a "
            "new commit; otherwise it stays a preview for you.")
