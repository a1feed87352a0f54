"""Properties of the judgement on random policies and calls (Hypothesis; the generators are the
differential test's), for both evaluators:

- removing a fact from a call never turns a deny into an allow: a fact left out is not known,
  and not knowing can only deny more;
- deciding the same call at its ``next_allowed_at`` allows it.

A "fact" here is a field whose absence the call contract reads as not known (see
docs/fail-closed.md): not ``to_timezone``, ``to_region`` or ``technology`` (left out, the
number's zones and region and ``manual`` stand in), nor ``lists`` while the list is loaded (the
file answers alone). The policies leave out the two kinds of condition that ask about the request
rather than the world, so that no fact can be read from a field's absence: ``FIELD is present`` /
``is missing``, and ``last purchase`` / ``last inquiry`` (the contract has no other way to say
"no purchase" than to leave the instant out).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from test_core_differential import ATOMS, DNC, _call, policies

import ringfence
from ringfence.engine.runtime import months_before, months_later
from ringfence.errors import CallError

WORLD_ATOMS = [a for a in ATOMS if not a.endswith(("is present", "is missing"))
               and not a.startswith(("last purchase", "last inquiry"))]
STAND_INS = frozenset({"to", "at", "id", "meta", "to_timezone", "to_region", "technology"})


def _denials(folder: Any, text: str, loaded: bool, seed: int
             ) -> tuple[ringfence.PolicySet, list[tuple[dict[str, Any], ringfence.Decision]]]:
    """The policy ``text`` loaded (the dnc list with it or not), and those of eight random calls
    it denies, with their decisions; Hypothesis discards a policy the checker rejects and one
    that denies none of them."""
    path = folder / "random.rf"
    path.write_text(text, encoding="utf-8")
    try:
        policyset = ringfence.load(path, lists={"dnc": DNC} if loaded else None)
    except ringfence.PolicyError:
        assume(False)  # a combination the checker rejects
        raise
    rng = random.Random(seed)
    found = []
    for _ in range(8):
        call = _call(rng)
        try:
            decision = policyset.decide(call)
        except CallError:
            continue
        if decision.decision == "deny":
            found.append((call, decision))
    assume(found)
    return policyset, found


def _denies(policyset: ringfence.PolicySet, call: dict[str, Any]) -> tuple[bool, bool] | None:
    """Whether the generated function and the reference interpreter deny ``call``."""
    evaluator = policyset._evaluator
    try:
        ctx = evaluator.context(call)
    except CallError:
        return None
    fast = bool(evaluator.judge(ctx)[0])
    reference = bool(evaluator.interpreter.judge(ctx.at(ctx.t_dt))[0])
    return fast, reference


def _without_one_fact(call: dict[str, Any], loaded: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """The call with each fact left out in turn (named as missing_facts names it)."""
    for key in call:
        if key in STAND_INS or (key == "lists" and loaded):
            continue
        yield key, {k: v for k, v in call.items() if k != key}
        if isinstance(call[key], dict) and key in ("relationship", "lists_checked_at"):
            for member in call[key]:
                yield f"{key}.{member}", {**call, key: {
                    k: v for k, v in call[key].items() if k != member}}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(WORLD_ATOMS), seed=st.integers(0, 2**32 - 1), loaded=st.booleans())
def test_removing_a_fact_never_turns_a_deny_into_an_allow(
        tmp_path_factory: pytest.TempPathFactory, text: str, seed: int, loaded: bool) -> None:
    policyset, denied = _denials(tmp_path_factory.mktemp("remove"), text, loaded, seed)
    for call, _decision in denied:
        assert _denies(policyset, call) == (True, True)
        for fact, fewer in _without_one_fact(call, loaded):
            assert _denies(policyset, fewer) == (True, True), (fact, call)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), seed=st.integers(0, 2**32 - 1), loaded=st.booleans())
def test_a_call_made_at_its_next_allowed_at_is_allowed(
        tmp_path_factory: pytest.TempPathFactory, text: str, seed: int, loaded: bool) -> None:
    policyset, denied = _denials(tmp_path_factory.mktemp("next"), text, loaded, seed)
    for call, decision in denied:
        later = decision.next_allowed_at
        if later is None:  # waiting does not help: nothing to check
            continue
        again = {**call, "at": later.isoformat()}
        assert _denies(policyset, again) == (False, False), (call, later)
        assert policyset.decide(again).next_allowed_at == later


@given(when=st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31),
                         timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5)),
                                                    ZoneInfo("America/New_York")])),
       count=st.integers(-2400, 2400))
@example(when=dt.datetime(2024, 1, 31, 9, tzinfo=dt.UTC), count=1)  # to February's last day
@example(when=dt.datetime(2024, 2, 29, 9, tzinfo=dt.UTC), count=-12)  # a leap day, a year back
@example(when=dt.datetime(2026, 3, 31, 9, tzinfo=dt.UTC), count=-18)
@example(when=dt.datetime(1, 1, 1, tzinfo=dt.UTC), count=-1)  # before year 1
def test_months_are_moved_as_relativedelta_moves_them(when: dt.datetime, count: int) -> None:
    try:
        expected: dt.datetime | str = when + relativedelta(months=count)
    except ValueError:
        expected = "out of range"
    try:
        moved: dt.datetime | str = months_later(when, count)
    except ValueError:
        moved = "out of range"
    assert moved == expected
    if isinstance(moved, dt.datetime):
        assert moved.tzinfo is when.tzinfo and moved.time() == when.time()


@given(when=st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31),
                         timezones=st.sampled_from([
                             dt.UTC, dt.timezone(dt.timedelta(hours=-5)),
                             dt.timezone(dt.timedelta(hours=5, minutes=45)),
                             dt.timezone(dt.timedelta(hours=-23, minutes=59)),
                             ZoneInfo("America/New_York")])),
       whole=st.booleans(), count=st.integers(0, 2400))
@example(when=dt.datetime(2026, 3, 31, 9, tzinfo=dt.UTC), whole=True, count=18)
@example(when=dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=dt.UTC), whole=True, count=12)
@example(when=dt.datetime(2037, 12, 31, 23, 59, 59, tzinfo=dt.UTC), whole=False, count=1)
@example(when=dt.datetime(1901, 12, 14, tzinfo=dt.timezone(dt.timedelta(hours=-23))),
         whole=True, count=3)
def test_months_before_an_instant_are_its_datetime_moved_back(when: dt.datetime, whole: bool,
                                                               count: int) -> None:
    """months_before counts whole seconds on a fixed offset: the timestamp of months_later."""
    if whole:
        when = when.replace(microsecond=0)
    try:
        expected: float | str = months_later(when, -count).timestamp()
    except (ValueError, OverflowError):
        expected = "out of range"
    try:
        found: float | str = months_before(when, when.timestamp(), count)
    except (ValueError, OverflowError):
        found = "out of range"
    assert found == expected
