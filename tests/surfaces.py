"""Helpers for the hardening tests: call each public surface of a running app, read its answer,
and check that an error message is one a person can act on and leaks nothing."""
from __future__ import annotations

import json
import math
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
NAN, INF = math.nan, math.inf
# what must never reach a client: tracebacks, source paths, the environment
LEAK_MARKERS = ("Traceback", 'File "', "site-packages", str(ROOT), "HF_TOKEN", "root:x:0:0")
MAX_MESSAGE = 700  # one field's message with a truncated echo stays well under this


def gradio_call(base: str, api_name: str, data: Any = None, *, body: str | bytes | None = None,
                timeout: float = 30.0) -> tuple[str, Any]:
    """POST /gradio_api/call/<api_name>, then read its event stream to the end.

    `data` is serialised with Python's json (NaN and Infinity become bare tokens, which
    gradio_client cannot send); `body` is sent as is. Returns ("complete", outputs),
    ("error", message) or ("http <status>", response text) when the POST itself is refused."""
    content = body if body is not None else json.dumps({"data": data})
    r = httpx.post(f"{base}/gradio_api/call/{api_name}", content=content,
                   headers={"content-type": "application/json"}, timeout=timeout)
    if r.status_code != 200:
        return f"http {r.status_code}", r.text
    event_id = r.json()["event_id"]
    event = ""
    with httpx.stream("GET", f"{base}/gradio_api/call/{api_name}/{event_id}", timeout=timeout) as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line[5:])
                if event == "error":
                    return "error", payload.get("error") if isinstance(payload, dict) else payload
                return "complete", payload
    raise AssertionError(f"the stream of {api_name} ended without complete or error")


def raw_get(base: str, path: str, *, timeout: float = 10.0) -> tuple[int, bytes]:
    """GET `path` exactly as written (no client-side normalisation of `..` or `%2e`)."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if sum(map(len, chunks)) > 2_000_000:
                break
    head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


def allowed_text(feature: Any) -> list[str]:
    """What an error about `feature` must say is allowed."""
    if hasattr(feature, "levels"):
        return [", ".join(feature.levels)]
    from model.contract.constraints import number_text
    return [f"between {number_text(feature.hard_min)} and {number_text(feature.hard_max)}"]


def assert_no_leak(text: str) -> None:
    for marker in LEAK_MARKERS:
        assert marker not in text, f"{marker!r} leaked in: {text[:300]}"


def assert_clear(message: Any, *, field: str | None = None, allowed: list[str] = (), sent: Any = None) -> None:
    """A message that names the field and what is allowed, echoes at most ~100 characters of
    the input, and leaks nothing."""
    assert isinstance(message, str) and message.strip(), f"no message: {message!r}"
    if field is not None:
        assert field in message, f"{field!r} not named in: {message[:300]}"
    for text in allowed:
        assert text in message, f"{text!r} not in: {message[:300]}"
    assert len(message) < MAX_MESSAGE + len(", ".join(allowed)) * 2, f"message too long ({len(message)})"
    shown = sent if isinstance(sent, str) else json.dumps(sent, default=str) if sent is not None else ""
    if len(shown) > 110:
        assert shown[:110] not in message, "more than ~100 characters of the input echoed"
    assert_no_leak(message)
