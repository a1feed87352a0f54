"""The compiled call reader (``_callreader.c``) against the reference path.

The reader may only ever be a faster road to the same :class:`Call`: for every call it accepts,
the reference path (JSON Schema, then the Python conversion) must accept it too and give the same
values; whatever it is not sure of, it must hand over (answer None).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import random
import sys
import tracemalloc
from pathlib import Path
from typing import NamedTuple

import pytest
from test_core_request import _mutate, _valid_call, full_call
from test_core_support import NYC

from ringfence.contract import request
from ringfence.contract.request import parse_call_reference
from ringfence.errors import CallError

GOOD_AT = "2026-06-15T12:00:00-04:00"


def read(raw: object):
    from ringfence.contract import _callreader
    return _callreader.read(raw)


def test_the_compiled_reader_is_built_and_in_use():
    # The wheel compiles it when a C compiler is at hand (hatch_build.py); without one the
    # reference path reads every call, correctly but slower. This machine has a compiler.
    from ringfence.contract import _callreader  # noqa: F401  (ImportError: the C call reader was not built)
    off = bool(os.environ.get("RINGFENCE_PURE_PYTHON"))
    assert ("python" if off else "compiled") == request.READER


# Everything a Call holds, with the types that tell a date from a timestamp: one definition,
# the fuzzing harness's, which compares the two readers the same way.
_HARNESS = importlib.util.spec_from_file_location(
    "ringfence_fuzz_values", Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz.py")
assert _HARNESS is not None and _HARNESS.loader is not None
_fuzz = sys.modules[_HARNESS.name] = importlib.util.module_from_spec(_HARNESS)  # (dataclasses)
_HARNESS.loader.exec_module(_fuzz)
values = _fuzz.call_values


def reference(raw: object):
    try:
        return parse_call_reference(raw)
    except CallError as err:
        return err


def test_full_call_reads_the_same_by_both_roads():
    raw = full_call()
    fast = read(raw)
    assert fast is not None and fast.raw is raw
    assert values(fast) == values(parse_call_reference(raw))


def test_generated_and_mutated_calls_read_the_same_or_are_handed_over():
    rng = random.Random(20261128)
    accepted = handed_over = 0
    for _ in range(400):
        base = _valid_call(rng)
        fast = read(base)
        assert fast is not None, f"a valid call was handed over: {base}"
        assert values(fast) == values(parse_call_reference(base)), base
        for _ in range(4):
            mutated = _mutate(base, rng)
            fast, ref = read(mutated), reference(mutated)
            if fast is None:
                handed_over += 1
                continue
            accepted += 1
            assert not isinstance(ref, CallError), f"accepted what the schema rejects: {mutated}"
            assert values(fast) == values(ref), mutated
    # Both kinds happened: mutations that stay valid (deleting an optional field) and not.
    assert accepted > 100 and handed_over > 500


@pytest.mark.parametrize("change", [
    {"colour": "red"},                                   # not a field of the contract
    {"id": True}, {"id": 1.0}, {"id": None},             # not a string or an integer to Python
    {"to": "+1212555010\u0661"},                         # a digit of another script
    {"to": NYC + "\n"},
    {"at": "2026-02-30T12:00:00Z"},                      # not in the calendar
    {"at": "2026-06-15T24:00:00Z"}, {"at": "2026-06-15T23:59:60Z"},
    {"at": "2026-06-15T12:00:00+05:60"},                 # Python reads this as +06:00
    {"at": "2026-06-15T12:00:00+24:00"},
    {"at": "2026-06-15T12:00:00.1234567890Z"},           # ten fraction digits
    {"at": "2026-06-15T12:00:00."}, {"at": "2026-06-15"}, {"at": "1899-12-31T23:59:59Z"},
    {"at": "2026-06-15T12:00:00"}, {"at": "2026-06-15X12:00:00Z"},
    {"history": ({"at": GOOD_AT},)},                     # a tuple, not a list
    {"history": [{"at": GOOD_AT, "outcome": "hung_up"}]},
    {"history": [{"outcome": "busy"}]},
    # the rules read attempts as given: words in another case are lowered in a copy
    {"history": [{"at": GOOD_AT, "outcome": "Busy"}]},
    {"history": [{"at": GOOD_AT, "purpose": "Marketing"}]},
    {"consent": [{"type": "express", "purposes": ["has space"], "at": GOOD_AT}]},
    {"consent": [{"type": "express", "at": GOOD_AT}]},
    {"consent": [{"type": "express", "purposes": [], "at": GOOD_AT, "number": "12125550101"}]},
    {"consent": [{"type": "express", "purposes": [], "at": GOOD_AT, "seller": ""}]},
    {"consent": [{"type": "express", "purposes": [], "at": GOOD_AT, "seller": 7}]},
    {"seller": ""},
    {"relationship": {"contract_active": 1}},
    {"lists": [{"name": "dnc", "listed_at": "2026-02-30"}]},
    {"lists_checked_at": {"has space": "2026-01-01"}},
    {"opt_outs": [{"at": GOOD_AT, "purposes": "marketing"}]},
    {"meta": []}, {"to_timezone": ""}, {"to_region": "us-fl"}, {"purpose": "1st"},
])
def test_what_the_reader_is_not_sure_of_goes_to_the_reference(change):
    raw = {"to": NYC, "at": GOOD_AT, **change}
    assert read(raw) is None
    assert read({"to": NYC, "at": GOOD_AT}) is not None


def test_a_call_that_is_not_a_dict_is_handed_over():
    from collections import OrderedDict
    assert read(["to", NYC]) is None
    assert read(OrderedDict(to=NYC, at=GOOD_AT)) is None


def _random_instant(rng: random.Random) -> str:
    year = rng.choice([1900, 1970, 1999, 2026, 2255, 2256, 2999, rng.randint(1900, 2999)])
    month = rng.randint(1, 12)
    day = rng.randint(1, 31 if month != 2 else 29)
    frac = rng.choice(["", "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))])
    hours, minutes = rng.randint(0, 23), rng.randint(0, 59)
    offset = rng.choice(["Z", "z", f"{rng.choice('+-')}{hours:02d}:{minutes:02d}", "-00:00"])
    return (f"{year:04d}-{month:02d}-{day:02d}{rng.choice('Tt ')}{rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}{frac}{offset}")


def test_instants_convert_exactly_as_python_does():
    # Years past 2255 take the exact-division path (the microseconds no longer fit in 53 bits).
    rng = random.Random(5)
    seen_years = set()
    for _ in range(3000):
        text = _random_instant(rng)
        raw = {"to": NYC, "at": text, "history": [{"at": text}]}
        fast, ref = read(raw), reference(raw)
        if isinstance(ref, CallError):  # 2026-02-31 and the like
            assert fast is None, text
            continue
        assert fast is not None, text
        assert (fast.at, fast.at.utcoffset(), fast.at_ts, fast.history_at) == \
            (ref.at, ref.at.utcoffset(), ref.at_ts, ref.history_at), text
        seen_years.add(fast.at.year)
    assert {1900, 2255, 2256, 2999} <= seen_years


def test_dates_read_the_same_whichever_were_read_before():
    # The reader keeps the dates it made, one per place of a table of days: dates that share a
    # place (1024 days apart), read in turn, and maps it hands over part way, change nothing.
    import datetime as dt

    rng = random.Random(9)
    start = dt.date(2020, 1, 1)
    days = [start + dt.timedelta(days=rng.choice([0, 1, 1024, 2048, 3000, -5])) for _ in range(300)]
    for i, day in enumerate(days):
        checked = {"dnc": day.isoformat(), "tps": days[i - 1].isoformat(),
                   "company": "2026-06-01T00:00:00Z"}
        lists = [{"name": "dnc", "listed_at": day.isoformat()}]
        raw = {"to": NYC, "at": GOOD_AT, "lists_checked_at": checked, "lists": lists}
        fast = read(raw)
        assert values(fast) == values(reference(raw)), raw
        assert fast.lists_checked_at["dnc"] == day and fast.lists["dnc"] == day
        assert list(fast.lists_checked_at) == list(checked)  # in the order given
        broken = {**raw, "lists_checked_at": {**checked, "x": "2026-02-30"}}
        assert read(broken) is None and raw["lists_checked_at"] == checked


def test_reading_leaks_no_references_and_no_memory():
    raw = full_call()
    held = [raw, raw["to"], raw["history"], raw["history"][0], raw["consent"][0]["type"],
            raw["consent"][0]["purposes"], raw["lists"][0]["name"], raw["meta"]]
    gc.collect()  # garbage of earlier tests may hold the same (interned) strings
    before = [sys.getrefcount(x) for x in held]
    for _ in range(1000):
        read(raw)
    gc.collect()
    assert [sys.getrefcount(x) for x in held] == before
    tracemalloc.start()
    try:
        for _ in range(2000):
            read(raw)
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(20000):
            read(raw)
        gc.collect()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert second - first < 10_000  # bytes; a leak of one object per read would be ~1 MB


def test_no_python_code_runs_while_a_call_is_read():
    # A collection can run Python code (gc callbacks, __del__) that changes the request; the
    # reader keeps borrowed pointers into it, so collections wait until it returns.
    items = [{"type": "express", "purposes": ["marketing"], "at": f"2026-06-15T12:00:{i:02d}Z"}
             for i in range(50)]
    raw = {"to": "+1212" + "5550101", "at": GOOD_AT, "consent": items}
    during = []

    def meddle(phase, info):
        if phase == "start":
            during.append(len(items))
            items.clear()
            raw.clear()

    from ringfence.contract import _callreader
    reader = _callreader.read  # bound first: nothing allocates between the threshold and the read
    threshold = gc.get_threshold()
    gc.callbacks.append(meddle)
    gc.set_threshold(1)  # a collection at every allocation...
    try:
        fast = reader(raw)
        seen = list(during)  # ...but none inside the read, where the reader allocates a lot
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(meddle)
    assert gc.isenabled()
    assert fast is not None and len(fast.consent) == 50 and fast.to == NYC
    assert seen == [50] and raw == {}  # the first collection came after the read, and meddled
    gc.disable()
    try:
        read({"to": NYC, "at": GOOD_AT})
        assert not gc.isenabled()  # a caller's own choice is kept
    finally:
        gc.enable()


def test_a_class_that_does_not_fit_leaves_the_reader_as_it_was():
    from ringfence.contract import _callreader
    dates = request.CheckedDates
    wrong = type("Wrong", (), {"__slots__": (*(f"pad{i}" for i in range(40)), "raw", "to")})
    with pytest.raises(AttributeError):
        _callreader.configure(wrong, dict(request.RECORDS), dict(request.DEFAULTS), dates)
    # Records whose fields are not the schema's keys, in order, are refused too.
    swapped = {**request.RECORDS, "opt_outs": NamedTuple("OptOut", [("purposes", tuple), ("at", float)])}
    with pytest.raises(TypeError, match="opt_outs"):
        _callreader.configure(request.Call, swapped, dict(request.DEFAULTS), dates)
    with pytest.raises(TypeError, match="no default"):
        _callreader.configure(request.Call, dict(request.RECORDS), {}, dates)
    # The class holding a map of dates must keep them in a slot named _given.
    with pytest.raises(TypeError, match="_given"):
        _callreader.configure(request.Call, dict(request.RECORDS), dict(request.DEFAULTS),
                              type("Dates", (), {"_given": None}))
    assert values(read(full_call())) == values(parse_call_reference(full_call()))


def test_digit_runs_are_found_as_the_reference_finds_them():
    # jsonlines sends a line with a long run of digits to the exact parser; the compiled scan
    # looks at one byte in `length` and must agree with the translate-and-search everywhere.
    from ringfence.contract._callreader import digit_run
    from ringfence.tools import jsonlines

    rng = random.Random(13)
    pieces = [b"1", b"9", b"0", b"a", b"-", b'"', b".", b"e", b"\xc3\xa9", b"12345678"]
    lines = [b"", b"7" * 18, b"7" * 19, b"x" + b"7" * 19, b"7" * 19 + b"x",
             *(b"".join(rng.choices(pieces, k=rng.randrange(60))) for _ in range(3000))]
    for line in lines:
        assert digit_run(line, jsonlines.LONG_RUN) == jsonlines.long_digit_run(line), line
    for length in (1, 2, 5):
        for line in lines[:300]:
            assert digit_run(line, length) == (b"0" * length in line.translate(
                jsonlines._DIGITS_ONLY)), (line, length)
    with pytest.raises(ValueError):
        digit_run(b"1", 0)


def test_numbers_are_located_in_the_table_as_its_get_locates_them():
    # StandardFacts asks the location table through the compiled nanp_answer: it must give
    # LocationTable.get's answer (the very object) for every text, None where get gives None.
    from ringfence.contract._callreader import nanp_answer
    from ringfence.facts.locationtable import nanp_table

    table = nanp_table()
    key_lengths = bytes(2 + depth for depth in table.depths)  # "+1" and the block's digits
    rng = random.Random(19)
    numbers = [f"+1{rng.randrange(10**10):010d}" for _ in range(3000)]
    texts = [*numbers, "", "+1", "+12125550101", "+1212555010", "+121255501012", "12125550101+",
             "+2212555010", "-12125550101", "+1212555010\u0661", "+1212555010\xe9", "+1\uff12\uff11"
             "25550101", type("Text", (str,), {})("+12125550101")]
    for number in numbers[:300]:  # every place of a ten-digit number spoiled once
        texts += [number[:at] + bad + number[at + 1:] for at in range(12) for bad in "a/:+ "]
    for text in texts:
        assert nanp_answer(key_lengths, table._blocks, text) is table.get(text), text
    assert sum(table.get(text) is not None for text in texts) > 3000
    if not os.environ.get("RINGFENCE_PURE_PYTHON"):
        assert table.lookup.func is nanp_answer  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        nanp_answer(key_lengths, table._blocks, b"+12125550101")


def test_lines_are_cut_as_bytes_split_cuts_them():
    # jsonlines cuts a block into lines with the compiled split_lines (memchr): bytes.split's
    # answer on blocks that end with a line break or not, blank lines, any bytes.
    from ringfence.contract._callreader import split_lines

    rng = random.Random(5)
    pieces = [b"\n", b"\n\n", b"{}", b"\r", b"\x00", b"\xe2\x80\xa8", b"x" * 900]
    for data in (b"", b"\n", b"a", b"a\n", *(b"".join(rng.choices(pieces, k=rng.randrange(40)))
                                          for _ in range(500))):
        assert split_lines(data) == data.split(b"\n"), data
    with pytest.raises(TypeError):
        split_lines(bytearray(b"a\nb"))  # type: ignore[arg-type]


def test_a_call_with_other_dates_is_the_same_copy_by_both_roads():
    # Call.in_zone's copy: the compiled with_dates against the Python copy it stands for.
    from ringfence.contract._callreader import with_dates

    rng = random.Random(7)
    for raw in (full_call(), *(_valid_call(rng) for _ in range(200))):
        call = read(raw)
        before = values(call)
        lists, checked = {"a": 1.5}, {"b": None}
        fast, slow = (copy(call, lists, checked)
                      for copy in (with_dates, request.with_dates_python))
        assert type(fast) is request.Call and fast is not call and fast.raw is call.raw
        assert fast.lists is lists and fast.lists_checked_at is checked
        assert values(fast) == values(slow)
        assert values(call) == before  # the call copied is not changed
    with pytest.raises(TypeError):
        with_dates({"to": "+12125551234"}, None, {})


def test_list_checks_are_kept_as_given_and_converted_alike_when_read():
    # lists_checked_at is checked when the call is read and kept as the texts it gives
    # (request.CheckedDates), each converted when read: by the compiled reader's
    # date_or_seconds or the reference path's _date_or_seconds, which must agree on every text
    # both read, and refuse the same texts.
    import datetime as dt

    from ringfence.contract._callreader import date_or_seconds

    rng = random.Random(11)
    texts = ["2024-02-29", "1900-03-01", "2999-12-31", "2026-06-01T00:00:00Z",
             "2026-06-01 23:59:59.5-09:30", "1970-01-01T00:00:00.000001+14:00"]
    for _ in range(3000):
        day = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(400_000))
        fraction = rng.choice(["", f".{rng.randrange(10 ** 6):06d}", f".{rng.randrange(1000):03d}"])
        offset = rng.choice(["Z", f"{rng.choice('+-')}{rng.randrange(24):02d}:{rng.randrange(60):02d}"])
        texts += [day.isoformat(), f"{day}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:"
                  f"{rng.randrange(60):02d}{fraction}{offset}"]
    for text in texts:
        fast, slow = date_or_seconds(text), request._date_or_seconds(text)
        assert (type(fast), fast) == (type(slow), slow), text
    for text in ("2026-02-30", "2025-02-29", "2026-13-01", "2026-06-01T24:00:00Z", "x", "2026"):
        with pytest.raises(ValueError):
            date_or_seconds(text)
        with pytest.raises(ValueError):
            request._date_or_seconds(text)
    for i in range(0, len(texts) - 13, 13):
        checked = {f"list{k}": text for k, text in enumerate(texts[i:i + 13])}
        raw = {"to": NYC, "at": GOOD_AT, "lists_checked_at": checked}
        fast, slow = read(raw), parse_call_reference(raw)
        for call in (fast, slow):
            assert type(call.lists_checked_at) is request.CheckedDates
            assert call.lists_checked_at._given is checked  # kept as given: not converted yet
        assert values(fast) == values(slow)
        assert [fast.lists_checked_at.get(name) for name in (*checked, "none")] == [
            slow.lists_checked_at.get(name) for name in (*checked, "none")]
    # A date that is not real is refused when the call is read, as ever: the compiled reader
    # hands the call over and the reference path names it.
    broken = {"to": NYC, "at": GOOD_AT, "lists_checked_at": {"a": "2026-06-01", "b": "2026-02-30"}}
    assert read(broken) is None
    with pytest.raises(CallError) as refused:
        request.parse_call(broken)
    assert (refused.value.path, refused.value.message) == (
        "lists_checked_at.b", "'2026-02-30' is not a real date")
