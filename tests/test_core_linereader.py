"""The compiled line reader (``_callreader.read_line``) against the road it stands for.

``read_line(line)`` reads a call straight from the bytes of its line of JSON. It may only ever be
a faster road to the same result: for every line it reads, the Call must be exactly the one
``parse_call`` gives for the line's dict (as ``decide`` reads lines: orjson), and its request the
line's dict; every line it is not sure of (outside the plain JSON it reads, or a call the dict
reader would hand over or the schema rejects) it hands over (None). The lines here are generated
calls written in several ways, and the same lines broken byte by byte.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import tracemalloc
from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from test_core_callreader import values
from test_core_request import _mutate, _valid_call, full_call
from test_core_support import NYC

from ringfence.contract import request
from ringfence.errors import CallError
from ringfence.tools.jsonlines import NotJson, parse_json

pytestmark = pytest.mark.skipif(request.read_line is None,
                                reason="the compiled reader is not in use")
GOOD_AT = "2026-06-15T12:00:00-04:00"


def read_line(line: bytes) -> Any:
    assert request.read_line is not None
    return request.read_line(line)


def reference(line: bytes) -> Any:
    """What ``decide`` makes of the line without the line reader: the Call of its dict, the
    CallError naming what is wrong, or the NotJson of a line that is no JSON."""
    value = parse_json(line)
    if isinstance(value, NotJson):
        return value
    try:
        return request.parse_call(value)
    except CallError as err:
        return err


def same_as_reference(line: bytes) -> bool:
    """Whether the line reader reads ``line`` (it gives exactly the reference's Call, whose
    request is the line's dict); False when it hands the line over. Fails when it gives
    anything else."""
    fast, slow = read_line(line), reference(line)
    if fast is None:
        return False
    assert type(fast) is request.Call, line
    assert type(slow) is request.Call, (line, slow)
    assert values(fast) == values(slow), line
    given = orjson.loads(line)
    assert fast.raw == given and dict(fast.raw) == given, line
    assert (fast.raw.get("id"), fast.raw.get("meta")) == (given.get("id"), given.get("meta"))
    assert type(fast.lists_checked_at) is type(slow.lists_checked_at)
    assert dict(fast.lists_checked_at.items()) == dict(slow.lists_checked_at.items()), line
    assert fast.history == slow.history, line
    return True


def writings(raw: dict[str, Any], rng: random.Random) -> list[bytes]:
    """The same call written as JSON in several ways: compact, spaced, escaped, reindented."""
    spaced = json.dumps(raw, ensure_ascii=False).encode()
    escaped = json.dumps(raw).encode()  # non-ASCII as \\u escapes
    indented = json.dumps(raw, indent=rng.choice([None, 1]), separators=(" ,\t", " :\r"),
                          ensure_ascii=False).replace("\n", " ").encode()
    return [orjson.dumps(raw), spaced, escaped, indented, b" \t" + orjson.dumps(raw) + b"\r "]


def test_the_full_call_is_read_from_its_line_as_from_its_dict():
    raw = full_call()
    assert same_as_reference(orjson.dumps(raw))
    call = read_line(orjson.dumps(raw))
    assert call.raw.get("id") == "c-1" and call.raw.get("meta") == raw["meta"]
    assert call.raw.get("absent", 5) == 5 and call.raw["to"] == NYC and "history" in call.raw


def test_generated_calls_read_the_same_from_every_writing_of_their_line():
    rng = random.Random(20261201)
    read = 0
    for raw in [_valid_call(rng) for _ in range(600)]:
        results = [same_as_reference(line) for line in writings(raw, rng)]
        read += sum(results)
        if request.read_compiled is not None and request.read_compiled(raw) is not None \
                and all(" " <= ch < "\x80" for ch in orjson.dumps(raw).decode()):
            assert results[0], f"a plain line of a call the dict reader reads was handed over: {raw}"
    assert read > 1500


def test_mutated_calls_are_read_the_same_or_handed_over():
    rng = random.Random(11)
    read = handed_over = 0
    for _ in range(400):
        base = _valid_call(rng)
        for _ in range(4):
            line = orjson.dumps(_mutate(base, rng))
            if same_as_reference(line):
                read += 1
            else:
                handed_over += 1
                assert read_line(line) is None
    assert read > 100 and handed_over > 500  # mutations that stay valid, and not


# Lines every JSON reader reads, but outside the plain subset the line reader reads, or that
# the schema rejects, or the dict reader hands over: all go the usual road.
ODD_LINES = [
    b"", b" ", b"\r", b"{}", b"[]", b"null", b"1", b'"x"', b"{", b"}", b"{,}",
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z"',  # no end
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z"}}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z"} x',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z"}{}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z",}',  # a comma too many
    b'{"to":"+12125550101" "at":"2026-06-15T12:00:00Z"}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","to":"+12125550102"}',  # twice
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","meta":{"a":1,"a":2}}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z",'
    b'"lists_checked_at":{"a":"2026-01-01","a":"2026-01-02"}}',
    b'{"\\u0074o":"+12125550101","at":"2026-06-15T12:00:00Z"}',  # an escaped key
    b'{"to":"+1212555010\\u0031","at":"2026-06-15T12:00:00Z"}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","subject":"caf\xc3\xa9"}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","subject":"caf\xe9"}',  # not UTF-8
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","subject":"a\tb"}',  # raw tab
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","subject":"a\x7fb"}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","subject":"\\"q\\""}',
    b'\xef\xbb\xbf{"to":"+12125550101","at":"2026-06-15T12:00:00Z"}',  # a byte order mark
    *(b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","id":%s}' % number for number in (
        b"0", b"-0", b"01", b"-01", b"7", b"-7", b"1.0", b"1e2", b"1E2", b"-", b"--1", b"+1",
        b"123456789012345678", b"-123456789012345678", b"1234567890123456789",
        b"9223372036854775807", b"9223372036854775808", b"1" * 400, b"1.5e999", b"NaN",
        b"Infinity", b"-Infinity", b"true", b"false", b"null", b"[]", b"{}", b"tru", b"nul")),
    *(b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","meta":%s}' % meta for meta in (
        b"{}", b"[]", b"1", b'{"a":[1,[2,[3,{"b":null}]]],"c":true,"d":false,"e":-5}',
        b'{"a":1.5}', b'{"a":[1,]}', b'{"a":[,1]}', b'{"a" :[ ] , "b" : { } }',
        b'{"a":' + b"[" * 63 + b"]" * 63 + b"}", b'{"a":' + b"[" * 64 + b"]" * 64 + b"}",
        b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}", b'{"":""}', b'{"a":"\\/"}')),
    b'{"to":"+12125550101","at":"2026-02-30T12:00:00Z"}',  # not in the calendar
    b'{"to":"+12125550101","at":"2026-06-15t12:00:00z"}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","purpose":"Marketing"}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","purpose":"new_one"}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","line_type":"Unknown"}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","history":[{"at":"2026-06-01",'
    b'"outcome":"Busy"}]}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","history":[{"at":"2026-06-01T00:00:00Z"'
    b',"outcome":"busy","purpose":"Marketing"}]}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","history":[{"at":"2026-06-01T00:00:00Z"'
    b',"outcome":"busy","purpose":"fresh"}]}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":{}}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":[]}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":{"a b":"2026-01-01"}}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":{"a":"2026-13-01"}}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":{"a":1}}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":'
    b'{"a":"2026-01-01T00:00:00.5+05:30" , "b" : "1999-12-31"}}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":{"a":"2026-01-01",}}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":{"a":"2026-01-01"',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":{%s}}' % b",".join(
        b'"l%d":"2026-01-01"' % i for i in range(64)),
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":{%s}}' % b",".join(
        b'"l%d":"2026-01-01"' % i for i in range(65)),
    b'{"to":"+12125550101"}', b'{"at":"2026-06-15T12:00:00Z"}', b'{"colour":"red"}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","relationship":{"contract_active":1}}',
    b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","consent":[{"type":"express",'
    b'"purposes":["marketing","Outside_Hours"],"at":"2026-01-01T00:00:00Z"}]}',
]


@pytest.mark.parametrize("line", ODD_LINES)
def test_odd_lines_are_read_the_same_or_handed_over(line):
    if not same_as_reference(line):
        assert read_line(line) is None


def test_lines_broken_byte_by_byte_are_read_the_same_or_handed_over():
    # Every way a line can go wrong, near enough: bytes changed, dropped, doubled, inserted.
    rng = random.Random(5)
    alphabet = b'{}[]":,\\ 0123456789-+.eEtfnulaxZT\t\r\x00\x1f\x7f\xc3\xa9\xff'
    bases = [orjson.dumps(full_call())] + [orjson.dumps(_valid_call(rng)) for _ in range(60)]
    read = handed_over = 0
    for base in bases:
        for _ in range(60):
            line = bytearray(base)
            for _ in range(rng.choice([1, 1, 2, 3])):
                at = rng.randrange(len(line))
                kind = rng.randrange(4)
                if kind == 0:
                    line[at] = rng.choice(alphabet)
                elif kind == 1:
                    del line[at]
                elif kind == 2:
                    line.insert(at, line[at])
                else:
                    line.insert(at, rng.choice(alphabet))
            if same_as_reference(bytes(line)):
                read += 1
            else:
                handed_over += 1
    assert read > 200 and handed_over > 1000


def test_the_request_of_a_line_is_its_dict_as_a_read_only_mapping():
    line = orjson.dumps(full_call())
    raw = read_line(line).raw
    assert isinstance(raw, Mapping) and not isinstance(raw, dict)
    given = orjson.loads(line)
    assert raw == given and raw == read_line(line).raw and raw != {}
    assert list(raw) == list(given) and len(raw) == len(given)
    assert list(raw.keys()) == list(given) and list(raw.values()) == list(given.values())
    assert list(raw.items()) == list(given.items()) and raw.copy() == given
    assert repr(raw) == repr(given) and raw["meta"] == given["meta"]
    with pytest.raises(KeyError):
        raw["colour"]
    with pytest.raises(TypeError):
        raw["to"] = NYC  # type: ignore[index]
    with pytest.raises(TypeError):
        hash(raw)
    bare = read_line(b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z"}').raw
    assert (bare.get("id"), bare.get("meta", 3), bare.get(1)) == (None, 3, None)


def test_the_checked_dates_of_a_line_are_its_texts_made_when_read():
    line = (b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z","lists_checked_at":'
            b'{"tps":"2026-01-01","dnc":"2026-01-02T00:00:00Z"}}')
    dates = read_line(line).lists_checked_at
    assert type(dates) is request.CheckedDates
    given = dates._given
    assert isinstance(given, Mapping) and not isinstance(given, dict)
    expected = {"tps": "2026-01-01", "dnc": "2026-01-02T00:00:00Z"}
    assert dict(given) == expected and list(given) == list(expected) and len(given) == 2
    assert given.keys() == list(expected)
    assert ("tps" in given, "x" in given, 1 in given, "t\u00e9" in given) == (True, False, False, False)
    assert (given.get("dnc"), given.get("x"), given.get("x", 0)) == ("2026-01-02T00:00:00Z", None, 0)
    assert repr(given) == repr(expected)
    with pytest.raises(KeyError):
        given["x"]


def test_a_call_read_from_its_line_is_taken_as_read():
    call = read_line(orjson.dumps(full_call()))
    assert request.parse_call(call) is call
    assert request.parse_call_reference(call) is call
    assert request.read_compiled is None or request.read_compiled(call) is call


def _held_after(work: Any) -> int:
    """Bytes still held after 20,000 rounds of ``work``, past 2,000 that fill the caches
    (dates, zones) for good."""
    sizes = []
    tracemalloc.start()
    try:
        for rounds in (2000, 20000):
            for _ in range(rounds):
                work()
            gc.collect()
            sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    return sizes[1] - sizes[0]


def test_reading_lines_leaks_no_references_and_no_memory():
    line = orjson.dumps(full_call())
    block = b"\n".join([line, *ODD_LINES[:40], line])

    def work() -> None:
        call = read_line(line)
        dict(call.raw), list(call.lists_checked_at.items())
        for other in ODD_LINES[:40]:
            read_line(other)
        found, _ = request.read_lines(block, 1)
        dict(found[-1][1].raw)

    gc.collect()
    before = sys.getrefcount(line), sys.getrefcount(block)
    for _ in range(1000):
        work()
    gc.collect()
    assert (sys.getrefcount(line), sys.getrefcount(block)) == before
    assert _held_after(work) < 10_000  # bytes; a leak of one object per read would be ~1 MB


def test_blocks_are_read_as_calls_in_reads_them():
    # read_lines cuts a block into lines as calls_in does, numbers them alike, leaves out the
    # same blank lines, and hands over (as their bytes) the lines read_line hands over.
    from ringfence.tools.jsonlines import calls_in, lines_read

    rng = random.Random(8)
    pool = [*(orjson.dumps(_valid_call(rng)) for _ in range(80)), *ODD_LINES, b"", b"\t\r"]
    for _ in range(80):
        data = b"\n".join(rng.sample(pool, rng.randint(1, 30))) + rng.choice([b"", b"\n", b"\r\n"])
        first = rng.randint(1, 10 ** 6)
        fast, slow = lines_read(first, data, request.read_lines), calls_in(first, data)
        assert [number for number, _ in fast] == [number for number, _ in slow]
        for (_, got), (_, want) in zip(fast, slow, strict=True):
            if type(got) is request.Call:
                assert values(got) == values(request.parse_call(want)) and got.raw == want
            else:
                assert got == want
    with pytest.raises(TypeError):
        request.read_lines("{}", 1)


def test_no_python_code_runs_while_a_line_is_read():
    # new_words is shared while a call is read: collections (which may run Python code that
    # reads another call) wait until the reader returns.
    items = ",".join(f'{{"type":"express","purposes":["{"fresh" if i == 0 else "marketing"}"],'
                     f'"at":"2026-06-15T12:00:{i:02d}Z"}}' for i in range(50))
    line = f'{{"to":"+12125550101","at":"2026-06-15T12:00:00Z","consent":[{items}]}}'.encode()
    during: list[Any] = []

    def meddle(phase: str, info: object) -> None:
        if phase == "start":
            during.append(read_line(b'{"to":"+12125550101","at":"2026-06-15T12:00:00Z"}'))

    reader = request.read_line
    assert reader is not None
    threshold = gc.get_threshold()
    gc.callbacks.append(meddle)
    gc.set_threshold(1)
    try:
        call = reader(line)
        seen = list(during)  # allocates: a collection comes now, after the read
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(meddle)
    assert gc.isenabled() and seen and all(not other.new_words for other in seen)
    # a read inside (by a collection) would have reset what the first consent set
    assert call is not None and call.new_words and len(call.consent) == 50


def test_a_line_read_goes_to_the_reference_when_it_is_not_bytes_or_unconfigured():
    with pytest.raises(TypeError):
        read_line("{}")  # type: ignore[arg-type]
    from ringfence.contract import _callreader
    with pytest.raises(TypeError):
        _callreader.configure_lines(3)


def test_decide_writes_the_same_lines_with_and_without_the_line_reader():
    # decide reads lines with read_line when it has no ledger; every output line (decisions,
    # their ids and meta, the error records of lines that are no call or that deciding
    # refuses, with their ids) must be the one the dicts give.
    from ringfence.tools.callstream import Block
    from ringfence.tools.decidework import DecideOptions, decider

    rng = random.Random(3)
    lines = [orjson.dumps({**_valid_call(rng), "id": f"c{i}", "meta": {"i": i}}) for i in range(150)]
    lines += [orjson.dumps({**full_call(), "id": 9, "purpose": "fresh_purpose"}),  # undeclared
              orjson.dumps({**full_call(), "id": "r", "to_region": "ZZ"}),  # no such region
              orjson.dumps({**full_call(), "id": "n", "to": "+999999"}),
              *(line.replace(b"\n", b" ") for line in ODD_LINES)]
    rng.shuffle(lines)
    block = Block(1, b"\n".join(lines) + b"\n")
    for full in (False, True):
        work = decider(DecideOptions(policies=(), jurisdiction="auto", lists=(), full=full),
                       with_ledger=False)
        assert work._read_lines is request.read_lines
        fast = work.block(block)
        work._read_lines = None
        slow = work.block(block)
        assert fast.data == slow.data and fast.tally == slow.tally
        assert fast.data.count(b'"error"') > 20 and fast.data.count(b'"decision"') > 100
