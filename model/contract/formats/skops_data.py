"""A skops file read as data: its numbers, without skops, scikit-learn or running anything.

A `.skops` file is a zip of ``schema.json`` — a tree of nodes, each naming the Python type it
stands for — and ``.npy`` arrays. `skops.io.load` rebuilds the objects (and needs their libraries
and a trust list); here the tree is only walked: JSON values, lists, tuples, dicts and arrays
(``numpy.load(allow_pickle=False)``) come back as plain Python and numpy values, an object as a
dict of its attributes with its class name under ``"__class__"``, and every other node (types,
functions, slices…) as an opaque marker. No name in the file is ever imported.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from model.contract.errors import BundleError

MAX_UNPACKED_BYTES = 256 * 2**20  # all entries together, checked before any is read (zip bombs)
MAX_DEPTH = 200


def read_skops(path: Path) -> Any:
    """The object tree of the skops file at `path` (module docstring); BundleError when it is not one."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            if "schema.json" not in infos:
                raise BundleError(f"{path.name} is not a skops file: it has no schema.json")
            total = sum(info.file_size for info in infos.values())
            if total > MAX_UNPACKED_BYTES:
                raise BundleError(f"{path.name} unpacks to {total:,} bytes; at most {MAX_UNPACKED_BYTES:,} are read")
            schema = json.loads(zf.read("schema.json").decode("utf-8"))
            return _Tree(zf, path.name).node(schema, 0)
    except BundleError:
        raise
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError, KeyError, TypeError,
            RecursionError) as exc:
        raise BundleError(f"{path.name} cannot be read: {type(exc).__name__}: {str(exc)[:200]}") from None


class _Tree:
    def __init__(self, zf: zipfile.ZipFile, name: str):
        self.zf, self.name = zf, name

    def node(self, n: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise BundleError(f"{self.name}: the object tree is nested deeper than {MAX_DEPTH} levels")
        if not isinstance(n, dict) or "__loader__" not in n:
            raise BundleError(f"{self.name}: unexpected schema entry {str(n)[:80]!r}")
        loader, content = n["__loader__"], n.get("content")
        if loader == "JsonNode":
            return json.loads(content) if n.get("is_json") else content
        if loader == "NdArrayNode":
            if n.get("type") == "numpy":
                return np.load(io.BytesIO(self.zf.read(n["file"])), allow_pickle=False)
            return [self.node(c, depth + 1) for c in content]  # "json": e.g. an array of strings
        if loader in ("ListNode", "TupleNode"):
            items = [self.node(c, depth + 1) for c in content]
            return tuple(items) if loader == "TupleNode" else items
        if loader == "DictNode":
            return {str(k): self.node(v, depth + 1) for k, v in content.items()}
        if loader == "ObjectNode":
            attrs = self.node(content, depth + 1) if isinstance(content, dict) and "__loader__" in content else {}
            return {**attrs, "__class__": f"{n.get('__module__')}.{n.get('__class__')}"}
        return {"__class__": f"{n.get('__module__')}.{n.get('__class__')}", "__loader__": loader}
