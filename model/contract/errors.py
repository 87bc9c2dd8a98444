"""Error types shared by the runtime. Each is a ValueError so callers can catch broadly,
and each carries a message written for a person: the field, what is allowed, what was received."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_ECHO = 100  # characters of user input echoed back in any message


def echo(value: object) -> str:
    """Render a received value for an error message, truncated so input is never echoed in bulk."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        value = value.item()  # a numpy scalar from a frame: show -5, not np.float64(-5.0)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        value = int(value)  # -5 and -5.0 are the same number: one message for JSON and CSV
    text = repr(value)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def envelope(message: str, detail: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The one error body of every HTTP surface: a sentence, and one entry per field."""
    return {"error": message, "detail": list(detail or [])}


class SchemaError(ValueError):
    """One or more fields of a record are invalid."""

    def __init__(self, errors: list[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors) or "invalid input")

    def envelope(self) -> dict[str, Any]:
        return envelope(str(self), [e.as_dict() for e in self.errors])


class BundleError(ValueError):
    """A bundle is missing, tampered with, or was built with incompatible library versions."""


REBUILD = "rebuild the bundle with `python -m training fit` (this app reads bundle formats 1 and 2)"


class ManifestError(BundleError):
    """manifest.json or summary.json does not match the contract."""


class CSVError(ValueError):
    """An uploaded or training CSV cannot be used as a whole (encoding, delimiter, header, caps)."""


class EditError(ValueError):
    """An edit of a bundle's segments (`model.editing`) cannot be made as asked: the message says
    which part of it, what is allowed and what was received. Nothing is written."""


class ClaimError(ValueError):
    """A segment's name, trait or offer says something its own numbers contradict: training
    refuses to write such a bundle (training.description.claims.verify)."""


class TrainError(ValueError):
    """Training in the Space refused a file or stopped: the message says why and what to do."""


class DiskBudgetError(ValueError):
    """What a request would write does not fit in the app's disk budget (per visitor or in total)."""
