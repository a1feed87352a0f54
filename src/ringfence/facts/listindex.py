"""Finding a number in sorted 64-bit keys with a few Python operations, or in C.

For one number, ``numpy.searchsorted`` costs about 1.4 µs and a ``bisect`` over ten million
keys about 2 µs (24 steps, each making an int), against about 0.5 µs here (measured on the
development machine under load). A directory splits the key range into equal buckets, about
four keys to a bucket; a lookup reads the bucket's bounds and bisects inside it, in C.

The compiled finder (``_listsearch.c``) does the same search without the interpreter: about
0.05 µs a lookup when the keys it reads are in the CPU's cache, 0.25 µs at random over ten
million keys (the memory reads). :func:`reference_finders` is the reference, used when the
package was built without a C compiler or ``RINGFENCE_PURE_PYTHON`` is set.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ringfence.facts._listsearch import Finder

# keys per bucket, as a power of two: 4 keeps the directory at a quarter of the keys' count
_PER_BUCKET_BITS = 2


@dataclass(frozen=True)
class Directory:
    """Bucket ``b`` holds the keys ``k`` with ``(k - base) >> shift == b``, at positions
    ``bounds[b]`` to ``bounds[b + 1]`` of the sorted keys."""

    base: int
    shift: int
    bounds: npt.NDArray[np.uint32] | npt.NDArray[np.int64]


def build_directory(keys: npt.NDArray[np.int64]) -> Directory:
    """The directory of sorted unique keys (an O(n) count, no search)."""
    if not len(keys):
        return Directory(0, 0, np.zeros(1, np.uint32))
    base = int(keys[0])
    span = int(keys[-1]) - base
    shift = max(0, span.bit_length() - len(keys).bit_length() + _PER_BUCKET_BITS)
    buckets = (span >> shift) + 1
    bounds: npt.NDArray[np.uint32] | npt.NDArray[np.int64] = (
        np.zeros(buckets + 1, np.uint32) if len(keys) < 1 << 32 else
        np.zeros(buckets + 1, np.int64))
    np.cumsum(np.bincount((keys - base) >> shift, minlength=buckets), out=bounds[1:])
    return Directory(base, shift, bounds)


def _compiled_finder() -> type[Finder] | None:
    """The compiled ``Finder`` class, or None when the package was built without it or
    ``RINGFENCE_PURE_PYTHON`` is set (to compare the two roads, or to rule one out)."""
    try:
        from ringfence.facts._listsearch import Finder
    except ImportError:  # built without a C compiler: the reference finder searches every list
        return None
    return None if os.environ.get("RINGFENCE_PURE_PYTHON") else Finder


_FINDER = _compiled_finder()
#: Which road searches lists in this process: "compiled" or "python".
SEARCH = "python" if _FINDER is None else "compiled"


class Finders(NamedTuple):
    """A list's searches, each taking a number as the call reader gives it: ``+`` and digits
    (other input is read as ``int()`` reads it, and finds nothing when it cannot be read)."""

    contains: Callable[[str], bool]
    """``e164 -> bool``: whether its key is in the keys."""
    value: Callable[[str], int | None]
    """``e164 -> int | None``: the value stored beside its key (``missing`` for every key when
    the list stores none), None when the key is not in the keys."""


def finders(keys: memoryview, directory: Directory, bounds: memoryview,
            values: memoryview | None, missing: int) -> Finders:
    """The compiled searches when the C finder is in use (:data:`SEARCH`), else
    :func:`reference_finders`; arguments as there."""
    reference = reference_finders(keys, directory, bounds, values, missing)
    if _FINDER is None:
        return reference
    # the compiled finder hands whatever is not "+" and digits to the reference searches
    finder = _FINDER(keys, bounds, directory.base, directory.shift, values, missing,
                     reference.contains, reference.value)
    return Finders(finder.contains, finder.value)


def reference_finders(keys: memoryview, directory: Directory, bounds: memoryview,
                      values: memoryview | None, missing: int) -> Finders:
    """The searches of sorted unique keys and their directory, in Python: the reference.
    ``keys``, ``bounds`` and ``values`` are the arrays as memoryviews (format q, I or q, q):
    indexing one gives a Python int without numpy's cost. ``int(e164)`` reads the leading plus
    sign itself (slicing it off first costs as much again)."""
    base, shift = directory.base, directory.shift

    # A number outside the keys' range needs no test of its own: past the end, the bounds'
    # index raises IndexError; below the start, a negative bucket reads the bounds from the end
    # (Python indexing), a range of bigger keys where bisect cannot find it.
    def contains(e164: str) -> bool:
        try:
            key = int(e164)
            bucket = (key - base) >> shift
            end = bounds[bucket + 1]
            at = bisect_left(keys, key, bounds[bucket], end)
        except (ValueError, IndexError):  # not a number, or out of range: never on the list
            return False
        return at < end and keys[at] == key

    # contains is the test the evaluator makes per call (one Python frame); a stored value,
    # needed more rarely, costs a second search
    def value(e164: str) -> int | None:
        if not contains(e164):
            return None
        if values is None:
            return missing
        key = int(e164)
        bucket = (key - base) >> shift
        return values[bisect_left(keys, key, bounds[bucket], bounds[bucket + 1])]

    return Finders(contains, value)
