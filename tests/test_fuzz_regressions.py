"""Crashes the fuzzing campaign (``benchmarks/fuzz.py``, issue #12) found, each kept as a test.

Every input here once raised something other than a ``RingfenceError``; each must now be either
accepted or cleanly rejected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ringfence.contract.request import parse_call, parse_call_reference
from ringfence.errors import CallError
from ringfence.facts.numberlist import NumberList


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("read", [parse_call, parse_call_reference])
@pytest.mark.parametrize("field", ["meta", "to", "history", "consent"])
def test_a_call_nested_past_the_recursion_limit_is_a_call_error(read, field):
    # Found as call:4 (seed 1): a Python value 2000 lists deep (json.loads cannot make one, an
    # API caller can) made the reference validator's message (repr) raise RecursionError.
    raw = {"to": "+13055550123", "at": "2026-06-15T12:00:00-04:00", field: _nested(2000)}
    with pytest.raises(CallError, match="nested too deeply"):
        read(raw)


@pytest.mark.parametrize("query", ["x", "", "+", "+1-", "number"])
def test_looking_up_text_that_is_not_a_number_finds_nothing(tmp_path: Path, query: str):
    # Found as list:5 (seed 1): `"x" in numbers` raised ValueError from int("").
    path = tmp_path / "dnc.csv"
    path.write_text("+13055550001\n", "utf-8")
    numbers = NumberList.from_file(path)
    assert query not in numbers
    assert numbers.lookup(query) == (False, None)
    assert numbers.listing(query) == (False, None)
    assert "+13055550001" in numbers
