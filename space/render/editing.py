"""Text for the Edit tab and the Model tab's history (pure; no gradio): the edit's diff against the
live bundle, what was changed and not re-measured, how to pin the Space, the repo's commits.
Everything from data is escaped: names, offers and commit titles are people's words."""
from __future__ import annotations

from html import escape
from typing import Any, Sequence

from model.contract.manifest import Manifest
from model.contract.markdown import md_literal


def diff_markdown(rows: Sequence[dict[str, str]], *, against: str) -> str:
    """The diff of an edit (`model.editing.diff`) as a list (a table is unreadable at 390 px)."""
    if not rows:
        return f"No difference with {md_literal(against)}."
    lines = [f"**Against {md_literal(against)}:**", ""]
    for r in rows:
        where = "all segments" if r["segment"] == "all" else f"segment {md_literal(r['segment'])}"
        before = md_literal(r["before"]) if r["before"] else "–"
        after = md_literal(r["after"]) if r["after"] else "–"
        lines.append(f"- **{where}, {md_literal(r['what'])}:** {before} → **{after}**")
    return "\n".join(lines)


def edit_summary(manifest: Manifest) -> str:
    """What the edit changed, what it could not measure again, and what serves it."""
    e = manifest.edit
    if e is None:
        return "No edit yet: the segments are as training proposed them."
    lines = ["**Changed** (oldest first):"] + [f"- {md_literal(c)}" for c in e.changes]
    if e.not_remeasured:
        lines += ["", "**Edited, not re-measured:**"] + [f"- {md_literal(n)}" for n in e.not_remeasured]
    lines += ["", f"**What serves it:** {md_literal(e.served)}"]
    return "\n".join(lines)


def sizes_html(manifest: Manifest) -> str:
    """Each segment's share as a bar (the sizes at a glance)."""
    from space.render.figures import colour
    rows = "".join(
        f'<div class="size-row"><span class="size-name">{s.id} · {escape(s.name)}</span>'
        f'<span class="size-bar" style="width:{max(1.0, 100 * s.share):.0f}%;background:{colour(s.id)}"></span>'
        f'<span class="size-value">{s.share:.1%} · {s.size:,}</span></div>' for s in manifest.segments)
    return f'<div class="edit-sizes" data-testid="edit-sizes">{rows}</div>'


def pin_markdown(repo: str, commit: str, *, space_id: str | None, set_on_space: bool) -> str:
    """How the Space is pinned to a new commit: done through the Hub API, or the two variables to set."""
    head = f"Published as commit `{commit}` of **{md_literal(repo)}**."
    if set_on_space and space_id:
        return (f"{head} The Space **{md_literal(space_id)}** now has `MODEL_REPO={md_literal(repo)}` and "
                f"`MODEL_REVISION={commit}`: it serves this commit after its next restart.")
    where = f"the Space **{md_literal(space_id)}**" if space_id else "your Space"
    return (f"{head} To serve it, set these variables in {where} (Settings → Variables and secrets), then "
            f"restart it:\n\n```text\nMODEL_REPO={repo}\nMODEL_REVISION={commit}\n```")


def history_markdown(entries: Sequence[Any], repo: str) -> str:
    """The repo's last commits (`space.history.Entry`), newest first, with what changed."""
    if not entries:
        return f"{md_literal(repo)} has no commits this app can read."
    lines = [f"Last {len(entries)} commits of **{md_literal(repo)}**, newest first.", "",
             "| commit | date | by | k | what changed since the commit before |", "|---|---|---|---:|---|"]
    for e in entries:
        sha = f"`{e.commit[:10]}`" + (" **live**" if e.live else "")
        changes = "; ".join(f"{md_literal(c['segment'])}: {md_literal(c['what'])} {md_literal(c['before'])} → "
                            f"{md_literal(c['after'])}" for c in e.changes[:8])
        if len(e.changes) > 8:
            changes += f"; and {len(e.changes) - 8} more"
        k = "–" if e.k is None else str(e.k)
        what = changes or ("no bundle at this commit" if e.k is None else "–")
        lines.append(f"| {sha} {md_literal(e.title)} | {e.date} | {md_literal(e.author)} | {k} | {what} |")
    return "\n".join(lines)
