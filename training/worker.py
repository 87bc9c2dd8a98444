"""`python -m training.worker`: one training job for the Space, in a process of its own, confined.

The Space's server never imports this package (nor scikit-learn): it starts this module, writes one
job as JSON on stdin and reads JSON lines from stdout — `{"event": "step", "n", "total", "message"}`
while it works, then `{"event": "done", "result": …}` or `{"event": "error", "kind", "message"}`.
Jobs: `check` (can this environment train?), `inspect` (how the file is read: `describe`),
`fit` (the bundle folder and its zip).

Before anything heavy is imported, the process confines itself (`confine`):
- address space (RLIMIT_AS): an allocation beyond it fails (MemoryError), the server is untouched;
- CPU seconds (RLIMIT_CPU): a backstop to the server's wall-clock deadline;
- size of any file written (RLIMIT_FSIZE) and no core dumps;
- no network: its own empty network namespace (unshare(CLONE_NEWUSER | CLONE_NEWNET): not even a
  loopback that is up) where the kernel allows it, and in every case sockets other than AF_UNIX
  refused in Python; the server starts it without HF_TOKEN and with the Hub offline.
Exit status: 0 done, 2 the input cannot be used, 3 out of memory, 1 anything else.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any, Callable

MAX_JOB_BYTES = 64 * 1024
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000


def emit(event: str, **fields: Any) -> None:
    """One JSON line to the server."""
    sys.stdout.write(json.dumps({"event": event, **fields}, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def confine(limits: dict[str, int]) -> str:
    """Apply the limits (see the module docstring); returns how the network is cut."""
    for name, key in (("RLIMIT_AS", "memory_bytes"), ("RLIMIT_FSIZE", "file_bytes")):
        if limits.get(key):
            resource.setrlimit(getattr(resource, name), (int(limits[key]), int(limits[key])))
    if limits.get("cpu_seconds"):
        cpu = int(limits["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    how = _own_network_namespace()
    _refuse_sockets()
    return how


def _own_network_namespace() -> str:
    """Move into a new user + network namespace (no interface is up). Must run while the process
    has one thread, i.e. before numpy starts its thread pools."""
    try:
        import ctypes
        uid, gid = os.getuid(), os.getgid()
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
            return "sockets refused in Python (the kernel does not allow a private network namespace here)"
        # keep the same ids inside, so files are written as the server's user
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
        return "own empty network namespace (no interface up), and sockets refused in Python"
    except OSError:
        return "sockets refused in Python (the kernel does not allow a private network namespace here)"


def _refuse_sockets() -> None:
    import socket

    class NoNetwork(socket.socket):
        def __init__(self, family: Any = -1, type: Any = -1, proto: Any = -1, fileno: Any = None) -> None:
            if fileno is None and family != socket.AF_UNIX:  # -1 means AF_INET
                raise PermissionError("the training worker has no network")
            super().__init__(family, type, proto, fileno)

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError("the training worker has no network")
    socket.socket = NoNetwork  # type: ignore[misc]
    socket.create_connection = refused  # type: ignore[assignment]
    socket.getaddrinfo = refused  # type: ignore[assignment]


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Do one job (imports the build side only now, after `confine`)."""
    kind = job.get("kind")
    if kind == "check":
        return _check()
    from training.jobs import fit_job, inspect_job
    if kind == "inspect":
        return inspect_job(job)
    if kind == "fit":
        from training.fit import fit_steps
        return fit_job(job, steps(fit_steps(compare=True)))
    raise ValueError(f"job kind must be check, inspect or fit; got {str(kind)[:40]!r}")


def steps(total: int) -> Callable[[str], None]:
    """The `step` callback of `fit`: one line per step, numbered, with the total."""
    counter = {"n": 0}

    def step(message: str) -> None:
        counter["n"] += 1
        emit("step", n=counter["n"], total=total, message=message)
    return step


def _check() -> dict[str, Any]:
    import importlib
    versions = {}
    for name in ("numpy", "pandas", "sklearn", "scipy", "skops", "joblib", "matplotlib", "yaml"):
        versions[name] = getattr(importlib.import_module(name), "__version__", "?")
    import training.fit  # noqa: F401  (the whole build side imports)
    return {"versions": versions}


def out_of_memory(exc: BaseException) -> bool:
    """Under RLIMIT_AS an allocation fails as MemoryError, but loading a compiled module fails as
    ImportError/OSError ("failed to map segment", ENOMEM): the same cause, said the same way."""
    text = str(exc)
    return isinstance(exc, (ImportError, OSError)) and ("failed to map segment" in text
                                                        or "Cannot allocate memory" in text)


def written_for_people(exc: BaseException) -> bool:
    """A ValueError raised by this project's own code (its messages name the field and what to do),
    not one from inside scikit-learn, numpy or pandas (their messages speak of their internals)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    origin = os.path.abspath(last.tb_frame.f_code.co_filename) if last is not None else ""
    return origin.startswith(root) and os.sep + ".venv" + os.sep not in origin[len(root) - 1:]


def main() -> int:
    raw = sys.stdin.buffer.read(MAX_JOB_BYTES + 1)
    if len(raw) > MAX_JOB_BYTES:
        emit("error", kind="internal", message="the job is too large")
        return 1
    job = json.loads(raw)
    network = confine(job.get("limits", {}))
    started = time.perf_counter()
    try:
        result = run(job)
    except MemoryError:
        emit("error", kind="memory", message="memory")
        return 3
    except ValueError as exc:
        if written_for_people(exc):  # CSVError, TransactionsError, RoleError, our own checks
            emit("error", kind="input", message=str(exc))
            return 2
        import traceback
        traceback.print_exc()
        emit("error", kind="internal", message=type(exc).__name__)
        return 1
    except Exception as exc:  # logged by the server from stderr; the visitor gets a plain sentence
        if out_of_memory(exc):
            emit("error", kind="memory", message="memory")
            return 3
        import traceback
        traceback.print_exc()
        emit("error", kind="internal", message=type(exc).__name__)
        return 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    emit("done", result={**result, "network": network, "seconds": round(time.perf_counter() - started, 2),
                         "peak_rss_bytes": usage.ru_maxrss * 1024})
    return 0


if __name__ == "__main__":
    sys.exit(main())
