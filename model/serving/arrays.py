"""serving.npz on disk: the compiled model's arrays in .npy format inside a zip (`save_arrays`),
read back without pickles and within sizes declared in advance (`load_arrays`).

A zip entry says how large it decompresses to, and a .npy header says its array's shape and dtype,
both before any data is inflated: a 2 MB file of zeros can declare gigabytes. So every entry's
declared size and header are checked against the shapes the manifest implies (`expected_shapes`)
before it is read, and the read never goes past the declared size.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from model.contract.errors import BundleError

ARRAYS = {  # name → dtype kind: what serving.npz must hold, nothing else
    "num_fill": "f", "num_mean": "f", "num_scale": "f", "num_log1p": "b",
    "cat_fill": "i", "cat_sizes": "i", "centres": "f", "pca_components": "f", "pca_mean": "f",
}
# what it may hold besides: the segment of each centre, when people merged segments of a fit
# (`model.editing`): a segment is then the union of its centres' customers, served exactly
OPTIONAL = {"centre_segment": "i"}
MAX_ARRAY_BYTES = 256 * 2**20  # all arrays together, decompressed (the default bundle's: ~3 kB)
_HEADER_BYTES = 64 * 1024  # a .npy header is at most a few hundred bytes
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def expected_shapes(*, n_numeric: int, levels: Sequence[int], k: int,
                    centres: int | None = None) -> dict[str, tuple[int, ...]]:
    """The shape of every array, from the manifest's schema (numeric features, level counts) and k;
    `centres`: how many centres when people merged segments (the manifest's `edit.groups`), and
    then `centre_segment` is expected too."""
    d = n_numeric + int(sum(levels))
    out = {"num_fill": (n_numeric,), "num_mean": (n_numeric,), "num_scale": (n_numeric,),
           "num_log1p": (n_numeric,), "cat_fill": (len(levels),), "cat_sizes": (len(levels),),
           "centres": (k if centres is None else centres, d), "pca_components": (2, d), "pca_mean": (d,)}
    return out if centres is None else {**out, "centre_segment": (centres,)}


def save_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """serving.npz bytes: the `ARRAYS` in .npy format, in a zip with fixed timestamps, so the
    same model gives the same bytes (numpy.savez stamps the current time)."""
    missing = set(ARRAYS) - set(arrays)
    if missing or set(arrays) - set(ARRAYS) - set(OPTIONAL):
        raise ValueError(f"serving arrays must be exactly {sorted(ARRAYS)} (and optionally {sorted(OPTIONAL)}); "
                         f"got {sorted(arrays)}")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())
    return out.getvalue()


def load_arrays(path: Path, shapes: dict[str, tuple[int, ...]] | None = None) -> dict[str, np.ndarray]:
    """The arrays of serving.npz. With `shapes` (`expected_shapes`), each entry's declared size and
    .npy header are checked first; BundleError on anything else than the `ARRAYS`, finite."""
    file = Path(path).name
    try:
        with zipfile.ZipFile(path) as zf:
            entries = {i.filename: i for i in zf.infolist()}
            names = sorted(n[:-4] for n in entries if n.endswith(".npy"))
            wanted = set(ARRAYS) | ({n for n in OPTIONAL if n in shapes} if shapes is not None else
                                    set(names) & set(OPTIONAL))
            if sorted(entries) != sorted(f"{n}.npy" for n in names) or set(names) != wanted:
                raise BundleError(f"{file} must hold exactly {', '.join(sorted(wanted))}; "
                                  f"it holds {', '.join(sorted(entries))[:300]}")
            if shapes is not None:
                _check_declared(file, entries, shapes)
            arrays = {name: _read(zf, entries[f"{name}.npy"], shapes) for name in sorted(wanted)}
    except BundleError:
        raise
    except Exception as exc:  # a corrupt zip, an object array, a truncated file …
        raise BundleError(f"{file} cannot be read: {type(exc).__name__}: {str(exc)[:200]}") from None
    for name, kind in {**ARRAYS, **OPTIONAL}.items():
        if name not in arrays:
            continue
        if arrays[name].dtype.kind != kind:
            raise BundleError(f"{file}: {name} has dtype {arrays[name].dtype}, expected kind {kind!r}")
        if kind == "f" and not np.isfinite(arrays[name]).all():
            raise BundleError(f"{file}: {name} holds NaN or infinite values")
    return arrays


def _check_declared(file: str, entries: dict[str, zipfile.ZipInfo], shapes: dict[str, tuple[int, ...]]) -> None:
    """Declared sizes against the expected shapes, before anything is decompressed."""
    total = sum(8 * int(np.prod(s)) for s in shapes.values())
    if total > MAX_ARRAY_BYTES:
        raise BundleError(f"{file}: the manifest's schema and k make {total / 2**20:,.0f} MB of arrays; "
                          f"a bundle's arrays are at most {MAX_ARRAY_BYTES / 2**20:g} MB")
    for name, shape in shapes.items():
        declared = entries[f"{name}.npy"].file_size
        if declared > 8 * int(np.prod(shape)) + _HEADER_BYTES:
            raise BundleError(f"{file}: {name} declares {declared:,} bytes; the manifest's schema and k make "
                              f"shape {shape} (at most {8 * int(np.prod(shape)):,} bytes)")


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shapes: dict[str, tuple[int, ...]] | None) -> np.ndarray:
    """One entry: its .npy header checked before its data is read (no pickles)."""
    name = info.filename[:-4]
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        shape, fortran, dtype = (np.lib.format.read_array_header_1_0(fh) if version == (1, 0)
                                 else np.lib.format.read_array_header_2_0(fh))
        if shapes is not None and tuple(shape) != shapes[name]:
            raise BundleError(f"serving.npz: {name} has shape {tuple(shape)}; the manifest's schema "
                              f"and k make {shapes[name]}")
        if dtype.hasobject or dtype.itemsize > 8:
            raise BundleError(f"serving.npz: {name} has dtype {dtype}, which serving never uses")
        count = int(np.prod(shape))
        data = fh.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise BundleError(f"serving.npz: {name} is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()
