"""Finding a number in sorted 64-bit keys with a few Python operations.

``numpy.searchsorted`` costs about 1.4 µs for one scalar and a ``bisect`` over all the keys
about 2 µs (24 steps, each making an int); both measured in ``benchmarks/list_bench.py``'s
notes. Here a directory splits the key range into equal buckets, about four keys to a bucket;
a lookup reads the bucket's bounds and bisects inside it, in C, over two or three keys.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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
    bounds = np.zeros(buckets + 1, np.uint32 if len(keys) < 1 << 32 else np.int64)
    np.cumsum(np.bincount((keys - base) >> shift, minlength=buckets), out=bounds[1:])
    return Directory(base, shift, bounds)


def finders(keys: memoryview, directory: Directory,
            bounds: memoryview) -> tuple[Callable[[str], int], Callable[[str], bool]]:
    """``e164 -> position of its key in keys, or -1`` and ``e164 -> bool``. ``keys`` and
    ``bounds`` are the arrays as memoryviews (format q, and I or q): indexing one gives a
    Python int without numpy's cost. ``int(e164)`` reads the leading plus sign itself (slicing it
    off first costs as much again); numbers come from the call reader, already E.164."""
    base, shift, buckets = directory.base, directory.shift, len(bounds) - 1

    def find(e164: str) -> int:
        try:
            key = int(e164)
        except ValueError:  # not a number at all: never on a list
            return -1
        bucket = (key - base) >> shift
        if bucket < 0 or bucket >= buckets:
            return -1
        end = bounds[bucket + 1]
        at = bisect_left(keys, key, bounds[bucket], end)
        return at if at < end and keys[at] == key else -1

    # the membership test the evaluator calls per call: one Python frame, not two
    def contains(e164: str) -> bool:
        try:
            key = int(e164)
        except ValueError:
            return False
        bucket = (key - base) >> shift
        if bucket < 0 or bucket >= buckets:
            return False
        end = bounds[bucket + 1]
        at = bisect_left(keys, key, bounds[bucket], end)
        return at < end and keys[at] == key

    return find, contains
