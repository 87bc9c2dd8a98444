"""Environment → the Space's settings (the training CLI reads its own: HF_TOKEN, HF_ENDPOINT and
Spark's variables, in `training.publishing.push` and `training.engines.spark_session`)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from model.contract.bundle import DEFAULT_BUNDLE_DIR
from space.train.limits import TrainLimits, train_limits


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw[:40]!r}") from exc


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw[:40]!r}") from exc


@dataclass(frozen=True)
class Settings:
    model_dir: Path = DEFAULT_BUNDLE_DIR
    model_repo: str | None = None  # OWNER/NAME on the Hub; None → local bundle only
    model_revision: str | None = None  # commit sha to pin (a branch works, with a warning)
    hf_endpoint: str = "https://huggingface.co"
    hf_token: str | None = field(default=None, repr=False)
    hub_timeout_s: float = 10.0
    hub_cache_dir: Path | None = None
    server_name: str = "0.0.0.0"
    server_port: int = 7860
    cors_origins: tuple[str, ...] = ()
    max_upload_bytes: int = 20 * 1024 * 1024
    max_batch_rows: int = 200_000
    max_upload_request_bytes: int = 20 * 1024 * 1024 + 64 * 1024  # all files of one upload request
    # everything the app writes (uploads, scored files, session bundles), in total and per client: the
    # oldest go first
    max_disk_bytes: int = 2 * 1024**3
    max_disk_bytes_per_client: int = 256 * 1024**2
    max_body_bytes: int = 64 * 1024  # one customer (POST /predict), any Gradio API call
    max_batch_instances: int = 10_000  # customers in one POST /predict {"instances": [...]}
    max_batch_body_bytes: int = 6 * 1024 * 1024  # its body: 10,000 customers of ~600 bytes
    body_timeout_s: float = 10.0  # a JSON body slower than this gets 408
    json_concurrency: int = 32
    queue_size: int = 64
    gradio_concurrency: int = 4
    mcp_server: bool = True  # serve the MCP server at /gradio_api/mcp/ (MCP_SERVER=0 turns it off)
    train: TrainLimits = field(default_factory=TrainLimits)  # the Train tab's caps (TRAIN_*)
    # The address visitors use, for what is built once for everyone (the API docs' snippets); None →
    # https://SPACE_HOST on a Space, else this server's own loopback address.
    public_url: str | None = None
    # X-Forwarded-Host/-Proto/-For come from a proxy we trust (on by default on a Space: its proxy
    # sets them); otherwise they are removed from every request before anything reads them.
    trust_forwarded: bool = False
    rate_limit: float = 0.0  # requests per second per client on the JSON route and the Gradio API; 0 = off
    # "Sign in with Hugging Face" on the Edit tab, to publish an edit: on a Space with `hf_oauth: true`
    # (the Hub sets OAUTH_CLIENT_ID), or locally with HF_OAUTH=1 and a token (gradio mocks the sign-in)
    oauth: bool = False
    space_id: str | None = None  # OWNER/NAME when running as a Space (SPACE_ID): the Space to pin


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0, got {raw[:40]!r}")


def _public_url(env: dict[str, str]) -> str | None:
    raw = env.get("PUBLIC_URL", "").strip().rstrip("/")
    if raw and not raw.startswith(("http://", "https://")):
        raise ValueError(f"PUBLIC_URL must start with http:// or https://, got {raw[:60]!r}")
    space_host = env.get("SPACE_HOST", "").strip()
    return raw or (f"https://{space_host}" if space_host else None)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build Settings from `env` (default: os.environ)."""
    env = dict(os.environ if env is None else env)
    on_space = bool(env.get("SPACE_ID", "").strip())
    origins = tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip())
    cache = env.get("HUB_CACHE_DIR", "").strip()
    upload = _int(env, "MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
    return Settings(
        model_dir=Path(env.get("MODEL_DIR") or DEFAULT_BUNDLE_DIR),
        model_repo=env.get("MODEL_REPO", "").strip() or None,
        model_revision=env.get("MODEL_REVISION", "").strip() or None,
        hf_endpoint=(env.get("HF_ENDPOINT", "").strip() or "https://huggingface.co").rstrip("/"),
        hf_token=env.get("HF_TOKEN", "").strip() or None,
        hub_timeout_s=_float(env, "HUB_TIMEOUT_S", 10.0),
        hub_cache_dir=Path(cache) if cache else None,
        server_name=env.get("GRADIO_SERVER_NAME", "").strip() or "0.0.0.0",
        server_port=_int(env, "GRADIO_SERVER_PORT", 7860),
        cors_origins=origins,
        max_upload_bytes=upload,
        max_batch_rows=_int(env, "MAX_BATCH_ROWS", 200_000),
        max_upload_request_bytes=_int(env, "MAX_UPLOAD_REQUEST_BYTES", upload + 64 * 1024),
        max_disk_bytes=_int(env, "MAX_DISK_BYTES", 2 * 1024**3),
        max_disk_bytes_per_client=_int(env, "MAX_DISK_BYTES_PER_CLIENT", 256 * 1024**2),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024),
        max_batch_instances=_int(env, "MAX_BATCH_INSTANCES", 10_000),
        max_batch_body_bytes=_int(env, "MAX_BATCH_BODY_BYTES", 6 * 1024 * 1024),
        body_timeout_s=_float(env, "BODY_TIMEOUT_S", 10.0),
        json_concurrency=_int(env, "JSON_CONCURRENCY", 32),
        queue_size=_int(env, "QUEUE_SIZE", 64),
        gradio_concurrency=_int(env, "GRADIO_CONCURRENCY", 4),
        mcp_server=_flag(env, "MCP_SERVER", True),
        train=train_limits(env),
        public_url=_public_url(env),
        trust_forwarded=_flag(env, "TRUST_FORWARDED_HEADERS", on_space),
        rate_limit=_float(env, "RATE_LIMIT", 0.0),
        oauth=bool(env.get("OAUTH_CLIENT_ID", "").strip())
        or _flag(env, "HF_OAUTH", False),
        space_id=env.get("SPACE_ID", "").strip() or None,
    )
