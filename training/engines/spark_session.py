"""One Spark session for the engine: any master, quiet logs, and a bounded start-up.

`spark_session("local[*]")` runs Spark inside this machine; `local-cluster[N,CORES,MB]` starts N
executor JVMs on it (a real multi-process cluster, used by the tests); `spark://HOST:PORT`, `yarn`
and `k8s://https://HOST:PORT` pass through to Spark unchanged; `active` takes the session that
spark-submit (or a notebook) set up, with its master and settings. A master that cannot be reached is
an error within `timeout_s` seconds, never a hang: the host and port are tried first (a refused or
silent port fails in a few seconds, before any JVM starts); a master that accepts the connection
but never registers the application, or gives it no executors, is stopped at the deadline.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

from training.engines.spark_partitions import note_fixed_partitions

log = logging.getLogger(__name__)

MASTER_FORMS = ("local[*], local[N], local-cluster[N,CORES,MB], spark://HOST:PORT, yarn, "
                "k8s://https://HOST:PORT or active (the session spark-submit or a notebook started)")
_LOCAL = re.compile(r"^local(?:\[(?:\*|\d+)(?:,\s*\d+)?\])?$")
_LOCAL_CLUSTER = re.compile(r"^local-cluster\[\d+,\s*\d+,\s*\d+\]$")
_SPARK = re.compile(r"^spark://([^/\s]+)$")
_K8S = re.compile(r"^k8s://(?:https?://)?([^/\s]+?)(?::(\d+))?/?$")
CONNECT_TIMEOUT_S = 5.0
QUIET_LOG4J = Path(__file__).with_name("log4j2-quiet.properties")
LOCAL_DEFAULTS = {"spark.driver.memory": "3g", "spark.sql.shuffle.partitions": "8"}
COMMON_DEFAULTS = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                   "spark.sql.execution.arrow.pyspark.enabled": "true",
                   "spark.log.structuredLogging.enabled": "false"}
PANDAS_WARNING = "PySpark does not yet fully support pandas"


class SparkEngineError(ValueError):
    """Spark cannot run as asked: a bad or unreachable master, no Java, no pyspark."""


def master_endpoints(master: str) -> tuple[str, list[tuple[str, int]]]:
    """(kind, host/port pairs to try before starting Spark) for a master URL; kind is 'local',
    'local-cluster', 'spark', 'yarn' or 'k8s'. Raises SparkEngineError for anything else."""
    m = str(master).strip()
    if m == "active":
        return "active", []
    if _LOCAL.match(m):
        return "local", []
    if _LOCAL_CLUSTER.match(m):
        return "local-cluster", []
    if m == "yarn":
        return "yarn", []
    spark = _SPARK.match(m)
    if spark:
        pairs = []
        for part in spark.group(1).split(","):  # standalone HA: spark://h1:7077,h2:7077
            host, _, port = part.rpartition(":")
            if not host or not port.isdigit():
                raise SparkEngineError(f"--spark-master {m!r}: each master must be HOST:PORT "
                                       f"(e.g. spark://10.0.0.5:7077); got {part!r}")
            pairs.append((host.strip("[]"), int(port)))
        return "spark", pairs
    k8s = _K8S.match(m)
    if k8s:
        return "k8s", [(k8s.group(1).strip("[]"), int(k8s.group(2) or 443))]
    raise SparkEngineError(f"--spark-master must be one of {MASTER_FORMS}; got {m[:100]!r}")


def _reachable(pairs: list[tuple[str, int]], timeout_s: float) -> str | None:
    """None when any endpoint accepts a TCP connection, else why none did."""
    reasons = []
    for host, port in pairs:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                return None
        except OSError as exc:
            reasons.append(f"{host}:{port}: {exc.strerror or type(exc).__name__}")
    return "; ".join(reasons)


def _check_prerequisites(kind: str) -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkEngineError("the Spark engine needs pyspark: pip install -r requirements-spark.txt") from None
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise SparkEngineError("the Spark engine needs Java 17 (java not on PATH, JAVA_HOME unset): "
                               "apt-get install -y openjdk-17-jre-headless")
    if kind == "yarn" and not (os.environ.get("HADOOP_CONF_DIR") or os.environ.get("YARN_CONF_DIR")):
        raise SparkEngineError("--spark-master yarn needs HADOOP_CONF_DIR or YARN_CONF_DIR pointing at "
                               "the cluster's configuration (where the ResourceManager is)")


def spark_session(master: str = "local[*]", *, app_name: str = "customer-segments",
                  timeout_s: float = 120.0, conf: Mapping[str, str] | None = None) -> Any:
    """A SparkSession on `master` (module docstring), or SparkEngineError within ~`timeout_s`.

    `conf` adds or overrides Spark settings (e.g. ``{"spark.executor.memory": "8g"}``). Local
    masters run the executors' Python as this interpreter; cluster masters use the cluster's
    (set ``spark.pyspark.python`` / PYSPARK_PYTHON as the cluster documents)."""
    kind, pairs = master_endpoints(master)
    master = master.strip()
    _check_prerequisites(kind)
    if pairs:
        why = _reachable(pairs, min(CONNECT_TIMEOUT_S, timeout_s))
        if why:
            raise SparkEngineError(f"cannot reach the Spark master {master} ({why}); check "
                                   f"--spark-master and that the master is running")
    warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if kind == "active":  # spark-submit / Databricks / EMR steps: their master and settings
        session = _bounded(SparkSession.builder.appName(app_name).getOrCreate, timeout_s,
                           on_timeout=_kill_gateway, what="no Spark session came up")
        session.sparkContext.setLogLevel("ERROR")
        note_fixed_partitions(session, conf=None, cluster=True)
        return session
    active = SparkContext._active_spark_context
    if active is not None:
        if active.master != master:
            raise SparkEngineError(f"this process already runs a Spark session on {active.master}; "
                                   f"stop it before starting one on {master}")
        return SparkSession.builder.getOrCreate()
    local = kind in ("local", "local-cluster")
    if local:  # executors are on this machine: same interpreter, loopback networking
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings = {**COMMON_DEFAULTS, **(LOCAL_DEFAULTS if local else {}), **(conf or {})}
    quiet = f"-Dlog4j2.configurationFile={QUIET_LOG4J.as_uri()}"
    for side in ("driver", "executor") if local else ("driver",):  # JVM options add up
        key = f"spark.{side}.extraJavaOptions"
        settings[key] = f"{quiet} {settings.get(key, '')}".strip()
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    deadline = time.monotonic() + timeout_s
    spark = _bounded(builder.getOrCreate, timeout_s, on_timeout=_kill_gateway,
                     what=f"the Spark master {master} did not accept the application")
    spark.sparkContext.setLogLevel("ERROR")
    note_fixed_partitions(spark, conf=conf, cluster=not local)
    if not local:  # the master answered; make sure it also gives us executors
        left = max(5.0, deadline - time.monotonic())
        try:
            _bounded(lambda: _probe(spark), left, on_timeout=lambda: _cancel(spark),
                     what=f"the Spark master {master} gave this application no executors "
                          f"(are workers running, with enough free cores and memory?)")
        except SparkEngineError:
            spark.stop()
            raise
    log.info("Spark %s on %s", spark.version, master)
    return spark


def _bounded(fn: Any, timeout_s: float, *, on_timeout: Any, what: str) -> Any:
    """fn() in a thread; on timeout call on_timeout() and raise SparkEngineError(what…)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="spark-start", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        on_timeout()
        worker.join(10)
        raise SparkEngineError(f"{what} within {timeout_s:.0f} s; gave up")
    if "error" in box:
        raise _translate(box["error"]) from box["error"]
    return box["value"]


def _translate(exc: BaseException) -> BaseException:
    text = str(exc)
    if "JAVA_GATEWAY_EXITED" in text or "Java gateway process exited" in text:
        return SparkEngineError("Spark could not start its Java process (is Java 17 installed? "
                                "apt-get install -y openjdk-17-jre-headless); see the lines above")
    if isinstance(exc, SparkEngineError):
        return exc
    if "A master URL must be set" in text:
        return SparkEngineError("--spark-master active needs a session started by spark-submit or a "
                                "notebook; outside them, name the master (e.g. local[*])")
    first = text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
    return SparkEngineError(f"Spark could not start: {first}")


def _probe(spark: Any) -> None:
    spark.sparkContext.setJobGroup("segments-probe", "executor probe", interruptOnCancel=True)
    try:
        spark.range(1).count()
    finally:
        spark.sparkContext.setJobGroup("", "")


def _cancel(spark: Any) -> None:
    try:
        spark.sparkContext.cancelJobGroup("segments-probe")
    except Exception:  # noqa: BLE001 - best effort while giving up
        log.debug("cancelling the probe failed", exc_info=True)


def _kill_gateway() -> None:
    """Stop the JVM that PySpark started for a session that never came up, and forget it, so a
    later session in this process starts afresh."""
    from pyspark import SparkContext
    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    if proc is not None and proc.poll() is None:
        proc.kill()
        try:
            proc.wait(10)
        except Exception:  # noqa: BLE001
            log.debug("JVM did not exit after kill", exc_info=True)
    try:
        if gateway is not None:
            gateway.shutdown()
    except Exception:  # noqa: BLE001
        log.debug("gateway shutdown failed", exc_info=True)
    SparkContext._gateway = None
    SparkContext._jvm = None
    SparkContext._active_spark_context = None


_SHIPPED: dict[str, Any] = {}  # applicationId → the temp folder holding the zip (kept alive)


def ship_code(spark: Any) -> None:
    """Send this project's `model` and `training` packages to the executors (once per
    application): the pandas UDFs and partition functions of the engine run there. Their Python
    libraries (requirements.txt) must be installed on the cluster — see docs/spark.md."""
    import tempfile
    import zipfile
    app = spark.sparkContext.applicationId
    if app in _SHIPPED:
        return
    root = Path(__file__).resolve().parents[2]
    folder = tempfile.TemporaryDirectory(prefix="segments-code-")
    target = Path(folder.name) / "segments_code.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for package in ("model", "training"):
            for path in sorted((root / package).rglob("*")):
                if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                    zf.write(path, path.relative_to(root).as_posix())
    spark.sparkContext.addPyFile(str(target))
    _SHIPPED[app] = folder
