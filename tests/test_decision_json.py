"""A decision written by ``Decision.to_json`` (what ``ringfence decide`` prints) is byte for byte
what orjson writes for ``to_dict``, compact and full, traced or not, whatever its instants; what
orjson cannot write goes the standard library's way, as before."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import pickle
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

import ringfence
from ringfence.contract.decision import Decision, PolicyRef
from ringfence.tools.decidework import decision_line, encode

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "calls.jsonl"


@pytest.fixture(scope="module")
def decisions() -> list[Decision]:
    policies = ringfence.load_library()
    calls = [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines()[:150]]
    made = []
    for i, call in enumerate(calls):
        try:
            made.append(policies.decide(call, trace=i % 5 == 0))
        except ringfence.CallError:
            continue
    assert any(d.violations for d in made) and any(d.warnings for d in made)
    assert any(d.trace for d in made) and any(d.meta for d in made)
    return made


def test_to_json_is_orjson_of_to_dict_in_both_forms(decisions):
    for decision in decisions:
        for compact in (True, False):
            expected = orjson.dumps(decision.to_dict(compact=compact)) + b"\n"
            assert decision.to_json(compact=compact) == expected
            with_attempt = {**decision.to_dict(compact=compact), "attempt_id": "a-1"}
            assert decision.to_json(compact=compact, extra={"attempt_id": "a-1"}) == \
                orjson.dumps(with_attempt) + b"\n"


def test_a_finding_and_a_policy_reference_are_written_once(decisions):
    found = next(d for d in decisions if d.violations).violations[0]
    assert found.fragment(True) is found.fragment(True)
    for compact in (True, False):  # the file's name differs
        assert orjson.dumps(found.fragment(compact)) == orjson.dumps(found.to_dict(compact=compact))
    ref = PolicyRef("p", "1", "sha256:0", True)
    assert ref.fragment() is ref.fragment()
    assert orjson.dumps(ref.fragment()) == orjson.dumps(ref.to_dict())
    assert ref == PolicyRef("p", "1", "sha256:0", True)  # what is written is no part of it


def test_policy_references_are_written_once_per_place_and_outcome(decisions):
    by_outcome: dict[tuple, set[int]] = {}
    for decision in decisions:
        judged = decision._refs
        assert judged is not None and list(judged.refs) == decision.policies
        by_outcome.setdefault((decision.country, decision.region, *decision.policies),
                              set()).add(id(judged))
        # written as the references are, by a decision that carries none of the judge's
        for compact in (True, False):
            made_by_hand = dataclasses.replace(decision, _refs=None)
            assert made_by_hand.to_json(compact=compact) == decision.to_json(compact=compact)
        assert judged.fragment(True) is judged.fragment(True)
    assert all(len(shared) == 1 for shared in by_outcome.values())
    assert any(len(ids) > 1 for ids in ({id(d._refs) for d in decisions if d.country == c}
                                        for c in {d.country for d in decisions}))
    # each decision has its own list of them, which the shared references are not
    first, second, *_ = (d for d in decisions if d._refs is decisions[0]._refs)
    assert first.policies is not second.policies


@pytest.mark.parametrize("at", [
    dt.datetime(2026, 6, 15, 12, tzinfo=dt.timezone(dt.timedelta(hours=-4))),
    dt.datetime(2026, 1, 15, 12, tzinfo=ZoneInfo("Europe/London")),  # UTC: "Z"
    dt.datetime(2026, 6, 15, 12, 0, 1, 250, tzinfo=ZoneInfo("Asia/Kolkata")),
    dt.datetime(1850, 6, 15, 12, tzinfo=ZoneInfo("America/New_York")),  # -04:56:02
    dt.datetime(2026, 6, 15, 12, tzinfo=dt.timezone(dt.timedelta(seconds=-3601, microseconds=9))),
    dt.datetime(2026, 6, 15, 12),
])
def test_instants_are_written_as_rfc3339_writes_them(at):
    decision = Decision("allow", at, [], [], [], None, None, [], _next_value=at)
    for _ in range(2):  # the second time, a fixed zone is one seen before
        assert decision.to_json() == orjson.dumps(decision.to_dict()) + b"\n"
    # a zone of whole minutes seen, then one of the same minute and some seconds more
    minutes = dt.timezone(dt.timedelta(hours=5, minutes=30))
    for zone in (minutes, dt.timezone(dt.timedelta(hours=5, minutes=30, seconds=7)), minutes):
        later = at.replace(tzinfo=zone)
        denied = Decision("deny", later, [], [], [], None, None, [], _next_value=later + HOUR)
        assert denied.to_json() == orjson.dumps(denied.to_dict()) + b"\n"


HOUR = dt.timedelta(hours=1)


def test_what_is_written_once_is_no_part_of_the_value(decisions):
    found = next(d for d in decisions if len(d.violations) > 1).violations[0]
    written = found.fragment(False)
    for same in (copy.copy(found), pickle.loads(pickle.dumps(found)),
                 dataclasses.replace(found)):
        assert same == found and same.fragment(False) is not written
        assert orjson.dumps(same.fragment(False)) == orjson.dumps(written)
    assert found.fragment(False) is written


def test_what_orjson_cannot_write_goes_the_standard_library_way(decisions):
    for meta in ({"n": 2**70}, {"s": "\ud800"}):
        decision = copy.copy(decisions[0])
        decision.meta = meta
        line = decision_line(7, {"id": decision.call_id}, decision, None, True)
        assert line == encode(7, {"id": decision.call_id}, decision.to_dict(compact=True))
