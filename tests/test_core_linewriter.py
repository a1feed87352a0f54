"""The compiled line writer (``_linewriter.c``) against the reference path
(:func:`ringfence.tools.decidework.write_lines`, which writes :meth:`Decision.to_json`'s lines).

It may only ever be a faster road to the same bytes: every line it writes must be the
reference's, byte for byte; whatever it is not sure of, it must leave unwritten (stop before
it), and the block loop then writes that line the reference's way, errors and all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import ringfence
from ringfence.contract.decision import Decision, PolicyRefs
from ringfence.tools import decidework
from ringfence.tools.callstream import Block
from ringfence.tools.decidework import DecideOptions, Decider, Tally, decision_line

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "calls.jsonl"


def compiled() -> Any:
    from ringfence.contract import _linewriter
    return _linewriter.write_lines


def test_the_compiled_writer_is_built_and_in_use():
    # The wheel compiles it when a C compiler is at hand (hatch_build.py); without one the
    # reference path writes every line, correctly but slower. This machine has a compiler.
    in_use = decidework._write_lines
    off = bool(os.environ.get("RINGFENCE_PURE_PYTHON"))
    assert in_use is (decidework.write_lines if off else compiled())


@pytest.fixture(scope="module")
def policies() -> ringfence.PolicySet:
    return ringfence.load_library()


@pytest.fixture(scope="module")
def decisions(policies: ringfence.PolicySet) -> list[Decision]:
    """Decisions of the example calls: allowed and denied, with warnings, several zones,
    notes, ids and meta."""
    calls = [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines()]
    # a postal code unknown, or of another place than the number's: a note on the location
    calls += [{**call, "to_postal_code": code} for call in calls[:40] for code in ("00001", "10001")]
    made = []
    for call in calls:
        try:
            made.append(policies.decide(call))
        except ringfence.CallError:
            continue
    assert any(len(d.violations) > 1 for d in made) and any(d.warnings for d in made)
    assert any(len(d.timezones) > 1 for d in made) and any(d.location_note for d in made)
    assert any(d.meta for d in made) and any(d.allowed for d in made)
    return made


def write_one(writer: Any, decision: Decision, compact: bool) -> tuple[bytes, int, int, list]:
    """What a writer makes of a run of one decision: its bytes, where it stopped, how many it
    counted allowed, and the denials it named."""
    out, denials = bytearray(), []
    stop, allowed = writer(out, [(decision, None)], 0, compact, Decision, denials)
    return bytes(out), stop, allowed, denials


def assert_same_or_unwritten(decision: Decision, compact: bool) -> bool:
    """The compiled writer wrote the reference's line and tally, or nothing; whether it wrote."""
    mine = write_one(compiled(), decision, compact)
    if mine[1] == 0:
        assert mine == (b"", 0, 0, [])
        return False
    assert mine == write_one(decidework.write_lines, decision, compact)
    assert mine[0] == decision.to_json(compact=compact)
    return True


def test_every_example_decision_is_written_as_the_reference_writes_it(decisions):
    for decision in decisions:
        for compact in (True, False):
            assert assert_same_or_unwritten(decision, compact)  # none is beyond it


def variants(decision: Decision) -> list[Decision]:
    """The decision with the values the compiled writer must write exactly or leave alone."""
    texts = ["plain", 'quote " and \\ and /', "\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f", "é ü 中 😀",
             "\u2028\u2029", "\ud800", ""]
    ints = [0, -1, 7, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**40]
    nested: Any = 1
    for _ in range(70):  # deeper than the writer goes itself
        nested = [nested]
    metas: list[Any] = [
        None, {}, {"place": "Sydney"}, {"a": [1, 2.5, -0.0, 1e16, 1.5e-7, True, False, None]},
        {"deep": {"er": {"list": [{"x": "y"}, []]}}}, {"k\n\"": "v\u2028"}, {"t": (1, 2)},
        {1: "key not text"}, {"n": 2**70}, {"s": "\ud800"}, {"nested": nested},
        {"float": float("nan")}, {"bytes": b"x"}, {"when": dt.datetime(2026, 1, 1)},
        ["not", "a", "dict"], {"sub": DictSubclass(a=1)}, {"str": StrSubclass("x")},
    ]
    made = [dataclasses.replace(decision, call_id=value) for value in [*texts, *ints, None, True]]
    made += [dataclasses.replace(decision, meta=meta) for meta in metas]
    made += [dataclasses.replace(decision, location_note=text) for text in texts]
    made += [dataclasses.replace(decision, region=text, country=None) for text in texts]
    made += [dataclasses.replace(decision, timezones=[*decision.timezones, "Asia/Kolkata"]),
             dataclasses.replace(decision, timezones=[])]
    return made


class DictSubclass(dict):
    pass


class StrSubclass(str):
    __slots__ = ()


ZONES: list[dt.tzinfo | None] = [
    dt.UTC, dt.timezone(dt.timedelta(0)), dt.timezone(dt.timedelta(hours=-4)),
    dt.timezone(dt.timedelta(hours=5, minutes=45)), dt.timezone(dt.timedelta(hours=-9, minutes=-30)),
    dt.timezone(dt.timedelta(hours=5, minutes=30, seconds=7)),  # seconds: a str in the reference
    dt.timezone(dt.timedelta(seconds=-3601, microseconds=9)), ZoneInfo("America/New_York"),
    ZoneInfo("Europe/London"), ZoneInfo("UTC"), None]


def instants() -> list[dt.datetime]:
    days = [dt.datetime(2026, 6, 15, 12), dt.datetime(2026, 1, 5, 3, 4, 5, 6),
            dt.datetime(1850, 6, 15, 12, 0, 0, 999999), dt.datetime(5, 1, 1),
            dt.datetime(9999, 12, 30, 23, 59, 59), dt.datetime(2026, 11, 1, 1, 30, fold=1)]
    return [day.replace(tzinfo=zone) for day in days for zone in ZONES]


def test_odd_values_are_written_as_the_reference_writes_them_or_left_to_it(decisions):
    allowed = next(d for d in decisions if d.allowed and d.meta and d.call_id is not None)
    denied = next(d for d in decisions if len(d.violations) > 1 and d.warnings)
    written = unwritten = 0
    for decision in (*variants(allowed), *variants(denied)):
        for compact in (True, False):
            if assert_same_or_unwritten(decision, compact):
                written += 1
            else:
                unwritten += 1
    assert written > unwritten > 0


# the references of a judge that evaluated no policy: a decision made by hand has none (None),
# and its policies are the reference's to write
NO_POLICIES = PolicyRefs(())


def made_by_judge(verdict: str, at: dt.datetime, after: dt.datetime | None) -> Decision:
    return Decision(verdict, at, [], [], [], None, None, [], _next_value=after,
                    _refs=NO_POLICIES)


@pytest.mark.parametrize("at", instants(), ids=str)
def test_instants_are_written_as_the_reference_writes_them_or_left_to_it(at):
    tried = [made_by_judge("allow", at, at), made_by_judge("deny", at, None)]
    if at.tzinfo is not None:
        later = at + dt.timedelta(hours=1)
        tried += [made_by_judge("deny", at, later.astimezone(zone)) for zone in ZONES if zone]
    for decision in tried:
        for compact in (True, False):
            assert_same_or_unwritten(decision, compact)
            # a decision made by hand: its policies are written one by one, by the reference
            by_hand = dataclasses.replace(decision, _refs=None)
            assert write_one(compiled(), by_hand, compact) == (b"", 0, 0, [])


def test_instants_in_a_fixed_or_named_zone_of_whole_minutes_are_written_by_it():
    new_york = ZoneInfo("America/New_York")  # its offset changes: asked of each instant
    for zone in (dt.timezone(dt.timedelta(hours=-4)), ZoneInfo("Asia/Kathmandu"), dt.UTC,
                 new_york, new_york):
        at = dt.datetime(2026, 6, 15, 12, 0, 0, 250, tzinfo=zone)
        for after in (at, None, at + dt.timedelta(days=1), at + dt.timedelta(days=180)):
            assert assert_same_or_unwritten(made_by_judge("deny", at, after), True)


def test_a_block_is_written_and_counted_alike_by_both_writers(policies, monkeypatch):
    calls = EXAMPLES.read_text("utf-8").splitlines()
    odd = ['{"id": 5, "to": "x"}', "[1]", "not json", "",
           calls[0][:-1] + ', "meta": {"n": 123456789012345678901234}}',  # past 64 bits
           calls[1][:-1] + ', "meta": {"s": "\\ud800"}}']  # a lone surrogate
    data = "\n".join([*calls[:150], *odd, *calls[150:300], *odd]).encode()
    decider = Decider(policies, DecideOptions((), None, ()))
    mine = decider.block(Block(1, data))
    monkeypatch.setattr(decidework, "_write_lines", decidework.write_lines)
    assert decider.block(Block(1, data)) == mine
    assert mine.tally.errors >= 2 * 4 and mine.tally.allowed and mine.tally.denied
    lines = mine.data.splitlines()
    written = [json.loads(line) for line in lines]
    assert mine.tally.rules == Counter(f"{found['policy']}/{found['rule']}" for record in written
                                       if record.get("decision") == "deny"
                                       for found in record["violations"])
    # the standard library's lines (spaced), in their places
    assert lines[153].startswith(b'{"id": ') and b"123456789012345678901234" in lines[153]
    assert b"lone surrogate" in lines[154] and b'"line": 156' in lines[154]


def test_a_decision_left_to_the_reference_is_written_by_it(decisions):
    decision = dataclasses.replace(decisions[0], meta={"n": 2**70})
    out = bytearray()
    run = [(decisions[1], None), (decision, None), (decisions[2], None)]
    assert compiled()(out, run, 0, True, Decision, []) == (1, decisions[1].allowed)
    with pytest.raises(ValueError):
        compiled()(bytearray(), run, -1, True, Decision, [])
    tally, denials = Tally(), []
    decidework._write_run(out, [(1, {}), (2, {"id": decision.call_id}), (3, {})], run, True,
                          tally, denials)
    first, second, third = bytes(out).splitlines(keepends=True)[1:]
    assert (first, third) == (decisions[1].to_json(compact=True),
                              decisions[2].to_json(compact=True))
    assert second == decision_line(2, {"id": decision.call_id}, decision, None, True)[0]


def test_a_run_written_while_another_is_keeps_each_runs_lines(decisions):
    # The compiled writer keeps its buffer from one run to the next; a run written while one is
    # (here by the search a denial's next_allowed_at runs, as another thread could) writes in
    # its own, and neither loses or mixes lines.
    inner = [(d, None) for d in decisions[:30]]
    written_inside: list[bytes] = []

    def search(context: Any, violations: list) -> dt.datetime | None:
        out = bytearray()
        assert compiled()(out, inner, 0, True, Decision, []) == (30, sum(d.allowed for d, _ in inner))
        written_inside.append(bytes(out))
        return None

    denied = next(d for d in decisions if not d.allowed)
    expected = b"".join(d.to_json(compact=True) for d in decisions[:30])
    for _ in range(3):  # the kept buffer, taken again
        outer = [(d, None) for d in decisions[30:60]]  # the search runs once per decision
        outer.insert(7, (dataclasses.replace(denied, _search=search, _next_value=None), None))
        out = bytearray(b"before\n")
        stop, _allowed = compiled()(out, outer, 0, True, Decision, [])
        assert stop == len(outer)
        assert bytes(out) == b"before\n" + b"".join(d.to_json(compact=True) for d, _ in outer)
        assert written_inside.pop() == expected


def test_a_decision_class_changed_between_runs_is_read_as_it_is_now(decisions):
    # Where a decision keeps each field is found once per class and kept until the class
    # changes: a field replaced by a property afterwards is read through the property.
    class Checked(Decision):
        __slots__ = ()

    made = [Checked(**{f.name: getattr(d, f.name) for f in dataclasses.fields(Decision)})
            for d in decisions[:5]]
    run = [(d, None) for d in made]
    before = bytearray()
    assert compiled()(before, run, 0, True, Checked, [])[0] == 5
    assert bytes(before) == b"".join(d.to_json(compact=True) for d in made)
    Checked.region = property(lambda self: "XX-YY")  # type: ignore[assignment]
    after = bytearray()
    assert compiled()(after, run, 0, True, Checked, [])[0] == 5
    assert bytes(after) == b"".join(d.to_json(compact=True) for d in made)
    assert bytes(after).count(b'"region":"XX-YY"') == 5
