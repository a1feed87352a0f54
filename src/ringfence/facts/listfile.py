"""The compiled number-list file (``.rfl``), read by memory mapping.

Layout: 8 bytes of magic, a little-endian u32 format version, a u32 header length, the header
(JSON), then arrays, each starting at a multiple of 64 bytes: the sorted unique keys (int64, the
number's digits), the stored listings (int64, when the list has dates) and the lookup directory
(:mod:`ringfence.facts.listindex`). Loading maps the file and reads only the header: the pages of
the arrays are read by the lookups that touch them.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ringfence.errors import InputError
from ringfence.facts.listindex import Directory

# \x89 and CR LF / LF as in PNG's signature: a file that went through a text-mode copy no longer
# reads as a compiled list
MAGIC = b"\x89RFL\r\n\x1a\n"
VERSION = 1
_PREFIX = struct.Struct("<8sII")
_ALIGN = 64
_DTYPES: dict[str, np.dtype[Any]] = {"int64": np.dtype("<i8"), "uint32": np.dtype("<u4")}


@dataclass(frozen=True)
class Compiled:
    """A compiled list's arrays (views of the mapped file) and its header."""

    keys: npt.NDArray[np.int64]
    stored: npt.NDArray[np.int64] | None
    directory: Directory
    header: dict[str, Any]


def is_compiled(path: Path) -> bool:
    """Whether the file starts with the compiled list's magic (whatever its name ends with)."""
    try:
        with path.open("rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False  # the text reader reports the unreadable file


def write(path: Path, keys: npt.NDArray[np.int64], stored: npt.NDArray[np.int64] | None,
          directory: Directory, meta: dict[str, Any]) -> None:
    """Write a compiled list; written beside the target and renamed, so a reader never maps a
    half-written file."""
    arrays = {"keys": keys, "stored": stored, "bounds": directory.bounds}
    header: dict[str, Any] = {
        **meta, "count": len(keys), "dates": stored is not None,
        "directory": {"base": directory.base, "shift": directory.shift}, "arrays": {}}
    # offsets depend on the header's length, which depends on the offsets: reserve room
    place = _ALIGN * 64
    for name, array in arrays.items():
        if array is not None:
            header["arrays"][name] = {"offset": place, "dtype": _dtype_name(array),
                                      "length": len(array)}
            place += -(-array.nbytes // _ALIGN) * _ALIGN
    text = json.dumps(header, sort_keys=True).encode("utf-8")
    if _PREFIX.size + len(text) > _ALIGN * 64:
        raise InputError(f"{path}: the list's metadata is too long to store")
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("wb") as fh:
            fh.write(_PREFIX.pack(MAGIC, VERSION, len(text)) + text)
            for name, array in arrays.items():
                if array is not None:
                    fh.seek(header["arrays"][name]["offset"])
                    # the array's own bytes (a copy of hundreds of MB at registry scale saved)
                    fh.write(np.ascontiguousarray(array).astype(_DTYPES[_dtype_name(array)],
                                                               copy=False).data)
            fh.truncate(place)
        os.replace(temp, path)
    except OSError as err:
        temp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {err.strerror}") from None


def _dtype_name(array: npt.NDArray[Any]) -> str:
    return "uint32" if array.dtype == np.uint32 else "int64"


def read(path: Path) -> Compiled:
    """Map a compiled list; InputError naming the file when it is not a whole, known one."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        if isinstance(mapped, mmap.mmap) and hasattr(mmap, "MADV_RANDOM"):
            # lookups jump about: no read-ahead, no mapping of the pages around the one read,
            # so that only the pages lookups touch become resident
            mapped.madvise(mmap.MADV_RANDOM)
    except OSError as err:
        raise InputError(f"cannot read list file {path}: {err.strerror}") from None
    if len(mapped) < _PREFIX.size:
        raise InputError(f"{path}: not a compiled list (too short)")
    magic, version, length = _PREFIX.unpack_from(mapped)
    if magic != MAGIC:
        raise InputError(f"{path}: not a compiled list (no ringfence list signature)")
    if version != VERSION:
        raise InputError(f"{path}: compiled list format {version}; this ringfence reads format "
                         f"{VERSION} (compile the list again with `ringfence lists compile`)")
    try:
        header = json.loads(bytes(mapped[_PREFIX.size:_PREFIX.size + length]))
        arrays = {name: _array(mapped, spec) for name, spec in header["arrays"].items()}
        directory = Directory(int(header["directory"]["base"]),
                              int(header["directory"]["shift"]), arrays["bounds"])
        keys = arrays["keys"]
        if len(keys) != header["count"] or len(directory.bounds) < 1:
            raise ValueError("count")
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path}: a damaged compiled list ({type(err).__name__}: {err}); "
                         "compile it again") from None
    return Compiled(keys, arrays.get("stored"), directory, header)


def _array(mapped: mmap.mmap | bytes, spec: dict[str, Any]) -> npt.NDArray[Any]:
    dtype = _DTYPES[spec["dtype"]]
    offset, length = int(spec["offset"]), int(spec["length"])
    if offset < 0 or length < 0 or offset + length * dtype.itemsize > len(mapped):
        raise ValueError("an array runs past the end of the file (truncated?)")
    array: npt.NDArray[Any] = np.frombuffer(mapped, dtype, length, offset)
    return array
