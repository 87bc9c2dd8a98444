"""Typed records for JSON contracts: frozen dataclasses with a checked `from_dict` and `as_dict`.

In the manner of huggingface_hub's `ModelCardData` / `EvalResult`: every field has a type, and
reading a dict checks each value against it (int, float, str, bool, Literal, Optional, list[...],
dict[str, ...], nested records), naming the exact path of anything wrong
("segments[2].share: expected float, got 'abc'"). Unknown keys are refused too: a bundle of another
format must say so, not be half understood.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Mapping, TypeVar, Union, get_args, get_origin

from model.contract.errors import echo

R = TypeVar("R", bound="Record")
_HINTS: dict[type, dict[str, Any]] = {}


class RecordError(ValueError):
    """A dict does not match the record's types; the message names the path."""


class Record:
    """Mixin for frozen dataclasses (see the module docstring)."""

    @classmethod
    def from_dict(cls: type[R], data: Any, where: str | None = None) -> R:
        where = where or cls.__name__
        if not isinstance(data, Mapping):
            raise RecordError(f"{where}: expected an object, got {echo(data)}")
        hints = _hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
        unknown = [k for k in data if k not in fields]
        if unknown:
            raise RecordError(f"{where}: unknown field {echo(unknown[0])} (known: {', '.join(fields)})")
        values = {}
        for name, f in fields.items():
            if name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise RecordError(f"{where}.{name}: required field is missing")
                continue
            values[name] = convert(hints[name], data[name], f"{where}.{name}")
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, RecordError):
                raise
            raise RecordError(f"{where}: {exc}") from None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: dump(getattr(self, f.name)) for f in dataclasses.fields(self)  # type: ignore[arg-type]
                if f.init}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)  # resolves the annotations in the class's module
    return _HINTS[cls]


def convert(tp: Any, value: Any, where: str) -> Any:
    """`value` checked against the type `tp` (see the module docstring)."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return convert(arg, value, where)
            except RecordError as exc:
                errors.append(str(exc))
        raise RecordError(errors[0] if len(errors) == 1 else f"{where}: got {echo(value)}, which is none of "
                          + ", ".join(_name(a) for a in args))
    if origin is Literal:
        if value in args and type(value) in {type(a) for a in args}:
            return value
        raise RecordError(f"{where}: expected one of {', '.join(map(repr, args))}, got {echo(value)}")
    if origin is list:
        if not isinstance(value, list):
            raise RecordError(f"{where}: expected a list, got {echo(value)}")
        return [convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise RecordError(f"{where}: expected an object, got {echo(value)}")
        return {_key(k, where): convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Record):
        return tp.from_dict(value, where)
    if hasattr(tp, "from_dict"):  # model.contract.schema.Schema: raises ValueError naming the field
        try:
            return tp.from_dict(value)
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordError(f"{where}: {exc}") from None
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise RecordError(f"{where}: expected {_name(tp)}, got {echo(value)}")


def dump(value: Any) -> Any:
    """Plain JSON types from records, schemas, lists and dicts."""
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


def _key(key: Any, where: str) -> str:
    if not isinstance(key, str):
        raise RecordError(f"{where}: keys must be strings, got {echo(key)}")
    return key


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))
