"""Crashes the fuzzing campaign (``benchmarks/fuzz.py``, issue #12) found, each kept as a test.

Every input here once raised something other than a ``RingfenceError``; each must now be either
accepted or cleanly rejected.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ringfence
from ringfence.contract.request import parse_call, parse_call_reference
from ringfence.errors import CallError, PolicyError
from ringfence.facts.numberlist import NumberList
from ringfence.testing.problems import SuiteError
from ringfence.testing.runner import PolicyCache
from ringfence.testing.suite import load_suite


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


@pytest.mark.parametrize("read", [parse_call, parse_call_reference])
def test_a_lone_surrogate_beside_a_recased_value_is_a_call_error(read):
    # Found as call:6506 (seed 7): a value in another case ("landLine") made the reference path
    # try the call again in lowercase, and that second validation raised UnicodeEncodeError on
    # a lone surrogate elsewhere in the call (a list name) instead of rejecting it.
    raw = {"to": "+13054606530", "at": "2026-08-21T06:30:00-04:00", "line_type": "landLine",
           "lists": [], "lists_checked_at": {"natio\udc94al_dnc": "2026-07-31"}}
    with pytest.raises(CallError):
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


# Found as suite:8359 (seed 2026): a suite naming a policy 'not not not ...' (a name longer than
# the system allows) raised OSError (ENAMETOOLONG) from Path.is_file(); ringfence.load did too.
LONG = "x" * 300


def test_loading_a_policy_whose_name_is_too_long_for_the_system_is_not_found():
    with pytest.raises(PolicyError) as err:
        ringfence.load(LONG + ".rf")
    assert err.value.diagnostics[0].code == "RF601"
    with pytest.raises(PolicyError):
        ringfence.load(LONG)  # looks like a shipped id


@pytest.mark.parametrize("body, problem", [
    (f"policies: [{LONG}.rf]\n", "policy file not found"),
    (f"policies: [us-fl.rf]\nlists: {{national_dnc: {LONG}.csv}}\n", "list file not found"),
])
def test_a_suite_naming_a_file_too_long_for_the_system_is_a_suite_error(tmp_path, body, problem):
    path = tmp_path / "long.test.yaml"
    path.write_text(body + "cases:\n  - name: one\n    call: {to: '+13055550123', "
                    "at: '2026-06-15T12:00:00-04:00'}\n    expect: {decision: allow}\n", "utf-8")
    with pytest.raises(SuiteError, match=problem):
        load_suite(path)


def test_a_suite_naming_a_policy_id_too_long_for_the_system_cannot_load_it(tmp_path):
    path = tmp_path / "long.test.yaml"
    path.write_text(f"policies: [{LONG}]\ncases:\n  - name: one\n    call: {{to: '+13055550123', "
                    "at: '2026-06-15T12:00:00-04:00'}\n    expect: {decision: allow}\n", "utf-8")
    with pytest.raises(SuiteError, match="no policy file, folder or shipped policy id") as err:
        PolicyCache().get(load_suite(path))
    assert isinstance(err.value.__cause__, PolicyError)  # not an OSError rendered as a problem


@pytest.mark.parametrize("read", [parse_call, parse_call_reference])
def test_a_call_with_deep_meta_and_a_lowercase_instant_is_read(read):
    # Found as call:56098 (seed 2026): the reference path rewrites lowercase instants on a deep
    # copy of the call, and copying a "meta" 500 objects deep (json.loads makes one) raised
    # RecursionError; the compiled reader accepted the same call.
    meta = json.loads('{"a":' * 600 + "1" + "}" * 600)
    call = read({"to": "+13055550123", "at": "2026-06-15t12:00:00z", "meta": meta})
    assert call.raw["meta"] is meta
    assert call.at_ts == parse_call_reference(
        {"to": "+13055550123", "at": "2026-06-15T12:00:00Z"}).at_ts


@pytest.mark.parametrize("listed_at", ["2126-10-04", "2226-10-04"])
def test_next_allowed_at_past_the_holiday_calendars_is_found_or_none(listed_at):
    # Found as call:44560 (seed 2026, a hang over 10 s): counting business days from a listing
    # dated after the last year the holiday calendars know (2100) never counted one, so the
    # search walked day by day to year 9999 (building a calendar per year) and then raised
    # OverflowError. Candidates are only proposals the rules judge: unknown stops the count.
    policies = ringfence.load("us-federal", "us-ok")
    decision = policies.decide({"to": "+14054050629", "at": "2026-12-09T18:59:00-06:00",
                                "purpose": "marketing",
                                "lists": [{"name": "national_dnc", "listed_at": listed_at}]})
    assert decision.decision == "deny"
    assert decision.next_allowed_at is None  # no instant within the horizon clears every rule
