"""The compiled list search (``_listsearch.c``) against the reference searches (listindex.py).

The compiled finder may only ever be a faster road to the same answer: for every list and every
input, ``contains`` and ``value`` must answer as the reference ones do (or raise the same error).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from ringfence.facts import listindex
from ringfence.facts.listindex import Directory, Finders, build_directory, reference_finders
from ringfence.facts.listtext import NO_DATE


def test_the_compiled_search_is_built_and_in_use():
    # Built with the call reader when a C compiler is at hand (hatch_build.py); this machine
    # has one.
    from ringfence.facts import _listsearch  # noqa: F401  (ImportError: it was not built)
    off = bool(os.environ.get("RINGFENCE_PURE_PYTHON"))
    assert ("python" if off else "compiled") == listindex.SEARCH


def both(keys: np.ndarray, values: np.ndarray | None = None,
         directory: Directory | None = None) -> tuple[Finders, Finders]:
    """The reference and the compiled searches of the same arrays."""
    from ringfence.facts._listsearch import Finder
    keys = np.ascontiguousarray(keys, np.int64)
    directory = directory or build_directory(keys)
    key_view = keys.data.cast("B").cast("q")
    bounds = directory.bounds.data.cast("B").cast("I" if directory.bounds.dtype == np.uint32
                                                   else "q")
    value_view = None if values is None else values.data.cast("B").cast("q")
    reference = reference_finders(key_view, directory, bounds, value_view, NO_DATE)
    compiled = Finder(key_view, bounds, directory.base, directory.shift, value_view, NO_DATE,
                      reference.contains, reference.value)
    return reference, Finders(compiled.contains, compiled.value)


def answer(search, probe: object) -> object:
    try:
        return search(probe)
    except Exception as err:  # the same error is the same answer
        return type(err)


def assert_same(reference: Finders, compiled: Finders, probes: list[object]) -> None:
    for probe in probes:
        for name in ("contains", "value"):
            expected = answer(getattr(reference, name), probe)
            assert answer(getattr(compiled, name), probe) == expected, (name, probe)
            assert type(answer(getattr(compiled, name), probe)) is type(expected), (name, probe)


def probes_of(keys: np.ndarray, rng: np.random.Generator) -> list[object]:
    """Every key (or a sample), its neighbours, the ends and beyond, random numbers, and inputs
    that are not ``+`` and digits."""
    sample = keys if len(keys) <= 5000 else rng.choice(keys, 5000)
    numbers: list[int] = []
    for key in sample.tolist():
        numbers += [key - 1, key, key + 1]
    if len(keys):
        first, last = int(keys[0]), int(keys[-1])
        numbers += [first - 1, first, last, last + 1, last + 1000, max(first // 2, 0)]
    numbers += rng.integers(0, 10**15, 2000).tolist()
    numbers += [0, 1, 10**17, 10**18 - 1, 10**18, 2**63 - 1, 2**63, 2**64]
    texts: list[object] = [f"+{n}" for n in numbers if n >= 0]
    some = f"+{int(keys[len(keys) // 2])}" if len(keys) else "+12125550101"
    texts += ["", "+", "x", "+12a", "++1", "+-5", "-5", " " + some, some + " ", some + "\n",
              some.replace("+", "+0"), some.replace("+", "+00000000000"), some[1:],
              some[:3] + "_" + some[3:], some.replace("1", "\u0661"), some + "\u00e9",
              "+\u0661\u0662", None, 12125550101, 12.5, b"+12125550101"]
    return texts


@pytest.mark.parametrize("dated", [False, True])
@pytest.mark.parametrize("spread", ["nanp", "mixed", "dense", "one", "empty"])
def test_compiled_search_answers_as_the_reference(spread, dated):
    rng = np.random.default_rng(13)
    keys = {
        "nanp": lambda: rng.integers(12_000_000_000, 19_999_999_999, 20_000),
        # country codes of every length: buckets of very different fill, and the ends of E.164
        "mixed": lambda: np.concatenate([
            rng.integers(12_000_000_000, 12_100_000_000, 5000),
            rng.integers(44_2000_000_000, 44_8000_000_000, 5000),
            rng.integers(8613_000_000_000, 8619_000_000_000, 5000),
            np.array([1_000_000, 999_999_999_999_999])]),
        "dense": lambda: np.arange(12_125_550_000, 12_125_560_000),  # every key a neighbour
        "one": lambda: np.array([12_125_550_101]),
        "empty": lambda: np.empty(0, np.int64),
    }[spread]()
    keys = np.unique(keys).astype(np.int64)
    values = rng.integers(-(2**62), 2**62, len(keys)) if dated else None
    reference, compiled = both(keys, values)
    assert_same(reference, compiled, probes_of(keys, rng))


def test_wide_directory_and_huge_shift_answer_as_the_reference():
    # int64 bounds (lists of 2**32 keys or more), and a span so wide every key shares a bucket
    rng = np.random.default_rng(5)
    keys = np.unique(rng.integers(0, 2**63 - 1, 3000)).astype(np.int64)
    directory = build_directory(keys)
    wide = Directory(directory.base, directory.shift, directory.bounds.astype(np.int64))
    assert_same(*both(keys, directory=wide), probes_of(keys, rng))
    single = Directory(int(keys[0]), 65, np.array([0, len(keys)], np.uint32))
    assert_same(*both(keys, directory=single), probes_of(keys, rng))


def test_a_directory_past_the_keys_finds_nothing_rather_than_reading_beyond():
    # A damaged file's bounds must not make the compiled search read outside the keys.
    keys = np.array([12_125_550_101, 12_125_550_102], np.int64)
    directory = Directory(12_125_550_101, 0, np.array([0, 5, 1 << 31, 2], np.uint32))
    _, compiled = both(keys, directory=directory)
    for probe in ("+12125550101", "+12125550102", "+12125550103"):
        assert not compiled.contains(probe) and compiled.value(probe) is None
