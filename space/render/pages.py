"""What the Batch, Monitor and API tabs show: batch summaries, the example file, the API and MCP
help with code that runs against this very server (pure; no gradio)."""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Mapping

from model.contract.manifest import Manifest, Segment
from model.contract.markdown import md_code, md_literal as _md
from model.contract.schema import OMITTED_RULE, NumericFeature, Schema, param_name

PREVIEW_ROWS = 20


def batch_summary(summary: Mapping[str, Any]) -> str:
    lines = [f"**{summary['scored']:,}** rows scored, **{summary['rejected']:,}** rejected "
             f"(of {summary['rows']:,}); {summary['unlike_training']:,} flagged as unlike the training data."]
    read = summary.get("read")
    if read:  # how the file was read (model.tables.sniff), with the evidence
        lines += ["", "How the file was read: " + "; ".join(f"{_md(k)} {_md(v)}" for k, v in read.items()) + "."]
    if summary.get("bundle"):  # which model scored the file (also the scored file's `bundle` column)
        lines += ["", f"Scored by bundle {_md(summary['bundle'])}."]
    log = summary.get("log")
    if log:
        lines += ["", f"Order log: {log['lines_in']:,} lines, {log['lines_kept']:,} kept → {log['customers']:,} "
                      f"customers (recency counted to {_md(log['as_of'])})."
                  + ("" if not log["dropped"] else " Set aside: "
                     + ", ".join(f"{_md(k.replace('_', ' '))} {v:,}" for k, v in log["dropped"].items()) + ".")]
    if summary["per_segment"]:
        lines += ["", "| segment | customers |", "|---|---:|"]
        lines += [f"| {_md(name)} | {n:,} |" for name, n in summary["per_segment"].items()]
    if summary["errors"]:
        lines += ["", f"**Rejected rows** (first {len(summary['errors'])}; each has its reason in the error column):", ""]
        lines += [f"- {'line ' + str(e['line']) if 'line' in e else 'customer ' + _md(e['customer'])}: "
                  f"{_md(e['error'])}" for e in summary["errors"]]
    return "\n".join(lines)


def batch_error(message: str) -> str:
    """A file that could not be used at all: said on the page, not in a pop-up that vanishes."""
    return f"**The file was not scored.** {_md(message)}"


def example_csv_text(manifest: Manifest) -> str:
    """Realistic customers to try batch scoring with: per segment, its typical member and two near
    it (the quartiles of each number, the common levels), plus one with a missing cell — values
    that occur together, so the scored file looks like a real one."""
    schema = manifest.schema
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(([schema.id_column] if schema.id_column else []) + schema.names)
    n = 0
    for seg in manifest.segments:
        for which in ("median", "q25", "q75"):
            n += 1
            w.writerow(([n] if schema.id_column else []) + _typical(seg, schema, which))
    n += 1
    last = _typical(manifest.segments[0], schema, "median")
    last[0] = ""  # not known: filled like training filled it
    w.writerow(([n] if schema.id_column else []) + last)
    return buf.getvalue()


def _typical(seg: Segment, schema: Schema, which: str) -> list[Any]:
    row: list[Any] = []
    for f in schema.features:
        if isinstance(f, NumericFeature):
            v = getattr(seg.profile.numeric[f.name], which)
            v = f.median if v is None else v
            row.append(int(round(v)) if f.integer else round(v, 2))
        else:
            shares = sorted((seg.profile.categorical.get(f.name) or {f.mode: 1.0}).items(), key=lambda t: -t[1])
            row.append(shares[1][0] if which == "q75" and len(shares) > 1 and shares[1][1] >= 0.25 else shares[0][0])
    return row


def preview(scored_csv: bytes, limit: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """The first rows of a scored file, for the page (the file itself is the download)."""
    reader = csv.reader(io.StringIO(scored_csv.decode("utf-8"), newline=""))
    header = next(reader, [])
    rows = []
    for row in reader:
        rows.append(row)
        if len(rows) >= limit:
            break
    return header, rows


def api_help(schema: Schema, base_url: str, *, space_id: str | None = None, max_instances: int = 10_000,
             max_batch_bytes: int = 6 * 2**20) -> str:
    """The API tab: gradio_client, curl and MCP, filled with a typical customer and this server's
    own address (or the Space's id on a Space), and the batch caps of this server."""
    example = schema.example()
    batch = json.dumps({"instances": [example, {**example, schema.names[0]: None}]})
    kwargs = ", ".join(f"{param_name(k)}={v!r}" for k, v in example.items())
    target = json.dumps(space_id or base_url)
    mcp_url = base_url.rstrip("/") + "/gradio_api/mcp/"
    return f"""### Python (`gradio_client`)
```python
from gradio_client import Client
client = Client({target})
result = client.predict({kwargs}, api_name="/predict")
print(result["segment_name"], result["margin"], [w["text"] for w in result["why"]])
segments = client.predict(api_name="/segments")
```
### HTTP (JSON)
```bash
curl -s -X POST {base_url.rstrip("/")}/predict -H 'Content-Type: application/json' \\
  -d '{json.dumps(example)}'
curl -s -X POST {base_url.rstrip("/")}/predict -H 'Content-Type: application/json' \\
  -d '{batch}'
```
{OMITTED_RULE} Many customers in one request: `{{"instances": [...]}}` (the KServe / TensorFlow Serving v1 request),
up to {max_instances:,} customers and {max_batch_bytes / 2**20:g} MB; the answer is
`{{"predictions": [...]}}` in the same order, each customer's answer or its own error (one bad
row never fails the others). Every answer names the bundle that computed it (`bundle`: the Hub
commit, or the sha256 of the manifest). `GET /segments` lists every segment with its offers and,
for a bundle with a money column, what it is worth (share of customers and of revenue, revenue and
orders per customer); `GET /health` says which bundle is live; `GET /openapi.json` (and `/docs`)
describe the JSON routes. Errors are `422` with one entry per field.

### AI agents (MCP)
This app is an MCP server (streamable HTTP) at {md_code(mcp_url)} with three tools: `segment_customer`,
`list_segments` and `score_csv`. Add it to an MCP client's configuration (e.g. Claude Desktop,
Cursor) as a server with that URL:
```json
{json.dumps({"mcpServers": {"customer-segments": {"url": mcp_url}}}, indent=2)}
```
or call it from Python with the official `mcp` package:
```python
import asyncio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

async def main():
    async with streamable_http_client({json.dumps(mcp_url)}) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            print([tool.name for tool in (await session.list_tools()).tools])
            answer = await session.call_tool("segment_customer", {json.dumps({param_name(k): v for k, v in example.items()})})
            print(answer.content[0].text[:200])

asyncio.run(main())
```
"""


def deep_link(base_url: str, record: Mapping[str, Any]) -> str:
    """A link that opens the app on a customer: the form is filled and scored on load."""
    from urllib.parse import urlencode
    return base_url.rstrip("/") + "/?" + urlencode({param_name(k): v for k, v in record.items()})


def query_record(schema: Schema, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The customer a deep link describes (`deep_link`), as the form would send it; None when the
    query names no field. Text that reads as a number becomes one for numeric fields; anything
    else is left for `Schema.check` to judge and explain."""
    params = {param_name(f.name): f for f in schema.features}
    if not any(k in params for k in query):
        return None
    record: dict[str, Any] = {}
    for key, f in params.items():
        raw = query.get(key)
        if raw is None or raw == "":
            record[f.name] = None
        elif isinstance(f, NumericFeature):
            try:
                record[f.name] = float(raw)
            except ValueError:
                record[f.name] = raw
        else:
            record[f.name] = raw
    return record
