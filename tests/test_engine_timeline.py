"""``next_allowed_at`` computed from the rules' structure (engine/timeline.py) against the
reference search over candidate instants (``Schedule.reference``): equal answers on random
policies over every kind of condition, on every shipped suite case and on the bundled example
calls; the answer is allowed when the call is decided there, and nothing earlier is; clock
changes and nonexistent local times are placed as the window atoms judge them."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_core_differential import _call, load_random, policies

import ringfence
from ringfence.engine.runtime import Ctx, business_days_between
from ringfence.engine.timeline import (
    Span,
    Uncomputable,
    age_breaks,
    day_starts,
    window_openings,
    zones_openings,
)
from ringfence.errors import CallError
from ringfence.errors import Span as SourceSpan
from ringfence.language import nodes
from ringfence.testing.cli import load_suites

ROOT = Path(__file__).resolve().parent.parent
SPAN = SourceSpan("t.rf", 1, 1)


def _compare(policyset: ringfence.PolicySet, call: dict) -> dt.datetime | bool | None:
    """The computed answer for ``call`` after checking it equals the search's; False when the
    call is allowed or rejected."""
    evaluator = policyset._evaluator
    try:
        ctx = evaluator.gather(call)  # as decide leaves it: the bare dates as given
    except CallError:
        return False
    violations = evaluator.judge(ctx)[0]
    if not violations:
        return False
    schedule = evaluator.schedule
    computed = schedule.next_allowed(ctx, violations)
    assert computed == schedule.reference(ctx, violations), (call, evaluator.source)
    # on the call's own clock
    assert computed is None or computed.utcoffset() == ctx.call.at.utcoffset()
    return computed


def _decide_at(policyset: ringfence.PolicySet, call: dict, at: dt.datetime) -> ringfence.Decision:
    return policyset.decide({**call, "at": at.isoformat()})


def _check_first(policyset: ringfence.PolicySet, call: dict, found: dt.datetime) -> None:
    """Deciding the call at ``found`` allows it; at every earlier candidate instant of the
    search, and a second before ``found``, it is denied."""
    assert _decide_at(policyset, call, found).decision == "allow", (call, found)
    evaluator = policyset._evaluator
    ctx = evaluator.context(call)
    start = ctx.t_dt.astimezone(dt.UTC)
    earlier = {c for c in evaluator.schedule._candidates(ctx, start) if start < c < found}
    before = found - dt.timedelta(seconds=1)
    if before > start:
        earlier.add(before)
    for instant in earlier:
        assert evaluator.judge(ctx.at(instant.astimezone(ctx.call.at.tzinfo)))[0], (call, instant)


def _shifted(value: object, days: int) -> object:
    """``value`` with every instant in it moved by ``days`` days."""
    if isinstance(value, dict):
        return {k: _shifted(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, days) for v in value]
    if isinstance(value, str) and len(value) > 10 and value[4] == "-" and "T" in value:
        return (dt.datetime.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
    return value


# The random calls fall from 2026-06-15; moved to the weeks of the clock changes in the
# callees' zones too (2026-03-08 and 2026-11-01 in the United States, 2026-10-25 in France).
SHIFTS = [0, -99, 132, 139]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), seed=st.integers(0, 2**32 - 1), shift=st.sampled_from(SHIFTS))
def test_random_policies_computed_equals_searched(tmp_path_factory: pytest.TempPathFactory,
                                                  text: str, seed: int, shift: int) -> None:
    policyset = load_random(tmp_path_factory.mktemp("timeline") / "random.rf", text)
    rng = random.Random(seed)
    for _ in range(12):
        call = _shifted(_call(rng), shift)
        assert isinstance(call, dict)
        found = _compare(policyset, call)
        if isinstance(found, dt.datetime):
            _check_first(policyset, call, found)
    assert policyset._evaluator.schedule.searched == 0  # every atom kind is placed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), seed=st.integers(0, 2**32 - 1), shift=st.sampled_from(SHIFTS))
def test_a_violated_rule_reads_alike_from_the_whole_set_and_alone(
        tmp_path_factory: pytest.TempPathFactory, text: str, seed: int, shift: int) -> None:
    # A rule violated at the call is judged by the whole set at its points while it is the
    # only one violated: at every candidate instant the whole set's findings must say what
    # its own judgement says (its policy's applicability unknown included), for every
    # constraint the timeline walks.
    policyset = load_random(tmp_path_factory.mktemp("whole") / "random.rf", text)
    evaluator = policyset._evaluator
    constraints = evaluator.schedule.timeline.constraints
    rng = random.Random(seed)
    for _ in range(8):
        call = _shifted(_call(rng), shift)
        try:
            ctx = evaluator.context(call)
        except CallError:
            continue
        start = ctx.t_dt.astimezone(dt.UTC)
        candidates = sorted(c for c in set(evaluator.schedule._candidates(ctx, start))
                            if c > start)[:40]
        for finding in evaluator.judge(ctx)[0]:
            constraint = constraints[finding.policy, finding.rule]
            if ctx.t >= constraint.settled:
                continue  # violated for good: never walked
            for instant in candidates:
                judged = ctx.at(instant.astimezone(ctx.call.at.tzinfo))
                whole = evaluator.judge(judged)[0]
                assert constraint.allows(whole) == constraint.allowed(judged), (call, instant)


def test_shipped_suites_and_examples_never_fall_back_and_agree() -> None:
    policyset = ringfence.load_library()
    lines = (ROOT / "examples" / "calls.jsonl").read_text(encoding="utf-8").splitlines()
    calls = [json.loads(line) for line in lines]
    suites = load_suites(sorted((ROOT / "policies").glob("*.test.yaml")))
    calls += [case.call for suite in suites for case in suite.cases]
    found = [_compare(policyset, call) for call in calls]
    times = [f for f in found if isinstance(f, dt.datetime)]
    schedule = policyset._evaluator.schedule
    assert schedule.searched == 0 and schedule.computed > len(times)
    assert len(times) > 50  # windows, caps and periods that clear within the horizon
    for call, when in zip(calls, found, strict=True):
        if isinstance(when, dt.datetime):
            assert _decide_at(policyset, call, when).decision == "allow"


NEW_YORK = "+12125550123"


def _window_policy(tmp_path: Path, window: str) -> ringfence.PolicySet:
    path = tmp_path / "w.rf"
    path.write_text(f'policy w "W"\n  version 1\n  applies to US\n\nrule w "W"\n  cite "T"\n'
                    f"  {window}\n", encoding="utf-8")
    return ringfence.load(path)


@pytest.mark.parametrize(("window", "at", "expected"), [
    # 2026-03-08 in New York: clocks jump from 02:00 to 03:00. 02:30 does not exist; the
    # window opens when the clock first shows 02:30 or later, at the jump (07:00Z).
    ("allow only between 02:30 and 04:00 exclusive, callee local time",
     "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z"),
    # 2026-11-01: clocks go back from 02:00 EDT to 01:00 EST. At 01:45 EDT the window
    # 00:30-01:30 is closed; it opens again when the clock is put back (06:00Z), not the next
    # night.
    ("allow only between 00:30 and 01:30 exclusive, callee local time",
     "2026-11-01T05:45:00Z", "2026-11-01T06:00:00Z"),
    # 01:15 happens twice that night: closed at 01:45 EDT, open at the second 01:15 (EST).
    ("allow only between 01:15 and 01:20 exclusive, callee local time",
     "2026-11-01T05:45:00Z", "2026-11-01T06:15:00Z"),
])
def test_clock_changes_are_placed_as_the_window_judges_them(
        tmp_path: Path, window: str, at: str, expected: str) -> None:
    policyset = _window_policy(tmp_path, window)
    call = {"to": NEW_YORK, "to_timezone": "America/New_York", "at": at}
    decision = policyset.decide(call)
    assert decision.decision == "deny"
    found = decision.next_allowed_at
    assert found is not None
    assert found.astimezone(dt.UTC) == dt.datetime.fromisoformat(expected)
    assert _compare(policyset, call) == found
    _check_first(policyset, call, found)


def test_the_search_places_the_bare_dates_it_reads(tmp_path: Path) -> None:
    # decide leaves a call's bare dates as given; the search (the fallback and the tests'
    # reference) places them in the callee's zone itself, as Evaluator.context would: a
    # listing on 2026-06-10 is ten days old at midnight of the 20th in New York (04:00Z).
    path = tmp_path / "l.rf"
    path.write_text('policy l "L"\n  version 1\n  applies to US\n  uses list x\n\n'
                    'rule l "L"\n  cite "T"\n  deny if callee on list x listed within 10 days\n',
                    encoding="utf-8")
    policyset = ringfence.load(path)
    evaluator = policyset._evaluator
    call = {"to": NEW_YORK, "at": "2026-06-16T12:00:00Z",
            "lists": [{"name": "x", "listed_at": "2026-06-10"}],
            "lists_checked_at": {"x": "2026-06-15"}}
    given, placed = evaluator.gather(call), evaluator.context(call)
    assert given.call.lists_checked_at == {"x": dt.date(2026, 6, 15)}  # not placed
    expected = dt.datetime(2026, 6, 20, 4, 0, 1, tzinfo=dt.UTC)
    schedule = evaluator.schedule
    assert schedule.search(given) == schedule.search(placed) == expected
    assert policyset.decide(call).next_allowed_at == expected


def test_an_atom_kind_without_change_points_falls_back_to_the_search(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ringfence.engine import runtime, timeline

    monkeypatch.delitem(timeline.BREAKS, runtime.window_open)  # before the load reads it
    policyset = _window_policy(tmp_path, "allow only between 09:00 and 17:00 exclusive, "
                                         "callee local time")
    call = {"to": NEW_YORK, "at": "2026-06-16T02:00:00Z"}
    evaluator = policyset._evaluator
    ctx = evaluator.context(call)
    violations = evaluator.judge(ctx)[0]
    with pytest.raises(Uncomputable):
        evaluator.schedule.timeline.next_allowed(ctx, violations)
    schedule = evaluator.schedule
    found = schedule.next_allowed(ctx, violations)
    assert schedule.searched == 1 and schedule.computed == 0
    assert found is not None and found.astimezone(dt.UTC) == dt.datetime(2026, 6, 16, 13,
                                                                          tzinfo=dt.UTC)


def test_a_rule_that_cannot_change_settles_a_denial_before_any_judgement(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Outside the window, and opted out days ago: the opt-out's points all lie before the call,
    # so waiting never clears it, whatever the window does; nothing is judged.
    path = tmp_path / "o.rf"
    path.write_text('policy o "O"\n  version 1\n  applies to US\n\n'
                    'rule w "W"\n  cite "T"\n'
                    '  allow only between 09:00 and 17:00 exclusive, callee local time\n\n'
                    'rule o "O"\n  cite "T"\n  deny if opted out at least 1 day ago\n',
                    encoding="utf-8")
    policyset = ringfence.load(path)
    evaluator = policyset._evaluator
    call = {"to": NEW_YORK, "at": "2026-06-16T02:00:00Z",
            "opt_outs": [{"at": "2026-06-13T12:00:00Z"}]}
    ctx = evaluator.gather(call)
    violations = evaluator.judge(ctx)[0]
    assert [f.rule for f in violations] == ["w", "o"]
    schedule = evaluator.schedule
    assert schedule.reference(ctx, violations) is None
    judged: list[object] = []
    from ringfence.engine.timeline import _Constraint

    monkeypatch.setattr(_Constraint, "allowed", lambda self, ctx: judged.append(ctx))
    monkeypatch.setattr(schedule.timeline, "violations_at", lambda ctx: judged.append(ctx))
    assert schedule.next_allowed(ctx, violations) is None
    assert judged == []


def test_a_finding_without_a_rule_is_raised_after_those_before_it(tmp_path: Path) -> None:
    # Those before it are walked first; a rule violated for good before it settles the call
    # before any walk, one after it is not looked at.
    import dataclasses

    policyset = _window_policy(tmp_path, "allow only between 09:00 and 17:00 exclusive, "
                                         "callee local time")
    evaluator = policyset._evaluator
    timeline = evaluator.schedule.timeline
    ctx = evaluator.context({"to": NEW_YORK, "at": "2026-06-16T02:00:00Z"})
    (window,) = evaluator.judge(ctx)[0]
    stranger = dataclasses.replace(window, rule="nowhere")
    with pytest.raises(Uncomputable, match="w/nowhere"):
        timeline.next_allowed(ctx, [window, stranger])
    constraint = timeline.constraints[window.policy, window.rule]
    settled = constraint.settled
    try:
        constraint.settled = ctx.t  # violated for good from the call's instant on
        assert timeline.next_allowed(ctx, [window, stranger]) is None
        with pytest.raises(Uncomputable):  # after it: not looked at
            timeline.next_allowed(ctx, [stranger, window])
    finally:
        constraint.settled = settled


def test_a_window_read_in_eight_zones_opens_where_all_of_them_are_open(tmp_path: Path) -> None:
    # An Australian mobile number may be in any of eight zones, from Cocos (UTC+6:30) to Lord
    # Howe (UTC+11 in summer): the window is open only where it is open in every one, and the
    # openings of one zone while another is still closed are passed over unjudged. Calls every
    # five hours over a week that starts the day Sydney's clocks go forward (2026-10-04), and
    # around a national holiday (2026-12-25).
    path = tmp_path / "w.rf"
    path.write_text('policy w "W"\n  version 1\n  applies to AU\n\nrule w "W"\n  cite "T"\n'
                    "  allow only\n    monday to friday 09:00 to 20:00 inclusive\n"
                    "    saturday 09:00 to 17:00 inclusive\n"
                    "    closed on national public holidays\n    callee local time\n",
                    encoding="utf-8")
    policyset = ringfence.load(path)
    found = []
    for start in (dt.datetime(2026, 10, 3, tzinfo=dt.UTC), dt.datetime(2026, 12, 22, tzinfo=dt.UTC)):
        for hours in range(0, 7 * 24, 5):
            call = {"to": "+61412345678", "at": (start + dt.timedelta(hours=hours)).isoformat()}
            when = _compare(policyset, call)
            if isinstance(when, dt.datetime):
                _check_first(policyset, call, when)
                found.append(when)
    assert len(found) > 20
    assert policyset._evaluator.schedule.searched == 0


def test_a_window_closed_in_some_zones_stays_closed_until_the_latest_of_their_openings(
        tmp_path: Path) -> None:
    # Each zone's clock judged alone, as the window's own check judges a callee in that zone
    # only, around Sydney's clock change and a national holiday.
    from ringfence.engine.runtime import WindowSpec, window_check
    from ringfence.engine.timeline import _Walk, window_openings

    path = tmp_path / "w.rf"
    path.write_text('policy w "W"\n  version 1\n  applies to AU\n\nrule w "W"\n  cite "T"\n'
                    "  allow only monday to friday 09:00 to 20:00 inclusive\n"
                    "    closed on national public holidays\n    callee local time\n",
                    encoding="utf-8")
    evaluator = ringfence.load(path)._evaluator
    (window,) = [r.window for p in evaluator.policies for r in p.rules]
    assert isinstance(window, WindowSpec)
    constraint = evaluator.schedule.timeline.constraints["w", "w"]
    for start in (dt.datetime(2026, 10, 2, tzinfo=dt.UTC), dt.datetime(2026, 12, 23, tzinfo=dt.UTC)):
        ctx = evaluator.context({"to": "+61412345678", "at": start.isoformat()})
        walk = _Walk(ctx, 14 * 86400.0, lambda judged: evaluator.judge(judged)[0], {})
        span = next(walk.spans(False))
        # Another call to the same zones, a day later: the answers kept serve it too.
        later = evaluator.context({"to": "+61412345679",
                                   "at": (start + dt.timedelta(days=1)).isoformat()})
        other = _Walk(later, 14 * 86400.0, lambda judged: evaluator.judge(judged)[0], {})
        closed = 0
        for hours in range(0, 96, 1):
            instant = ctx.t + hours * 3600.0 + 1.0
            expected = -math.inf
            for zone in ctx.zones:
                alone = Ctx(ctx.call, dt.datetime.fromtimestamp(instant, dt.UTC), (zone,),
                            ctx.country, ctx.region, ctx.facts)
                if window_check(alone, window, set()) is not True:
                    closed += 1
                    opens = window_openings(zone, window.hours, span.first, span.last)
                    expected = max(expected, min(t for t in opens if t > instant))
            assert walk.closed_until(constraint, window, instant, span) == expected, instant
            assert other.closed_until(constraint, window, instant, span) == expected, instant
        assert closed > 100  # zones closed at many of the instants


def test_an_opening_where_another_zone_is_closed_is_passed_over_unjudged(
        tmp_path: Path) -> None:
    # Saturday 2026-06-13 23:00Z: closed everywhere in Australia (Sunday morning in the east).
    # Monday 09:00 comes first at Lord Howe, last at Cocos (UTC+6:30, 02:30Z): only there is
    # the window open in all eight zones, and that is the one instant judged.
    path = tmp_path / "w.rf"
    path.write_text('policy w "W"\n  version 1\n  applies to AU\n\nrule w "W"\n  cite "T"\n'
                    "  allow only monday to friday 09:00 to 20:00 inclusive\n"
                    "    callee local time\n", encoding="utf-8")
    policyset = ringfence.load(path)
    evaluator = policyset._evaluator
    ctx = evaluator.gather({"to": "+61412345678", "at": "2026-06-13T23:00:00Z"})
    assert len(ctx.zones) == 8
    violations = evaluator.judge(ctx)[0]
    judged: list[Ctx] = []
    timeline = evaluator.schedule.timeline

    def counted(at: Ctx) -> list[Any]:
        judged.append(at)
        return evaluator.judge(at)[0]

    timeline.violations_at = counted
    found = evaluator.schedule.next_allowed(ctx, violations)
    assert found == evaluator.schedule.reference(ctx, violations)
    assert found is not None and found.astimezone(dt.UTC) == dt.datetime(2026, 6, 15, 2, 30,
                                                                          tzinfo=dt.UTC)
    assert [at.t for at in judged] == [found.timestamp()]


def test_an_argument_reader_reads_what_the_interpreter_reads() -> None:
    from ringfence.engine import ir
    from ringfence.engine.runtime import Attr, Env

    policyset = ringfence.load_library()
    evaluator = policyset._evaluator
    interpreter = evaluator.interpreter
    lines = (ROOT / "examples" / "calls.jsonl").read_text(encoding="utf-8").splitlines()
    contexts = [evaluator.context(json.loads(line)) for line in lines[:40]]
    args = {a for atom in ir.policy_atoms(evaluator.policies) for a in atom.apply.args
            if isinstance(a, Attr | Env)}
    assert len(args) > 10
    for arg in args:
        read = interpreter.reader(arg)
        for ctx in contexts:
            assert read(ctx) == interpreter.argument(arg, ctx), arg


@pytest.mark.parametrize(("dated", "at", "expected"), [
    # Only its dates change a rule without timed atoms: it stops binding at the start of
    # 2026-06-20 in New York (04:00Z), within the horizon.
    ("effective until 2026-06-20", "2026-06-15T15:00:00Z", "2026-06-20T04:00:00Z"),
    # Both dates long past: it is violated at every instant from the call's on.
    ("effective from 2004-01-29", "2026-06-15T15:00:00Z", None),
    # A date past the horizon: nothing changes within it.
    ("effective until 2027-01-01", "2026-06-15T15:00:00Z", None),
])
def test_a_rule_without_timed_atoms_changes_only_at_its_dates(
        tmp_path: Path, dated: str, at: str, expected: str | None) -> None:
    path = tmp_path / "d.rf"
    path.write_text('policy d "D"\n  version 1\n  applies to US\n  effective from 2003-10-01\n\n'
                    f'rule d "D"\n  cite "T"\n  {dated}\n  deny if from is missing\n',
                    encoding="utf-8")
    policyset = ringfence.load(path)
    call = {"to": NEW_YORK, "to_timezone": "America/New_York", "at": at}
    found = _compare(policyset, call)
    assert found is not False
    assert (found if found is None else found.astimezone(dt.UTC)) == (
        expected if expected is None else dt.datetime.fromisoformat(expected))
    if found is not None:
        _check_first(policyset, call, found)
    assert policyset._evaluator.schedule.searched == 0


# ---- where an age's and a business-day count's changes are placed --------------------------

_SPAN_AT = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # Paris puts its clocks back at 01:00Z
_ZONES = [ZoneInfo("America/New_York"), ZoneInfo("Europe/Paris"), ZoneInfo("Pacific/Kiritimati"),
          dt.timezone(dt.timedelta(hours=-23, minutes=-59)), dt.timezone(dt.timedelta(hours=23))]


def _span(zone: dt.tzinfo, country: str | None = "US", region: str | None = "US-NY",
          days: float = 14) -> Span:
    base = ringfence.load_library()._evaluator.context({"to": NEW_YORK, "at": _SPAN_AT.isoformat()})
    ctx = Ctx(base.call, _SPAN_AT, (zone,), country, region, base.facts)
    return Span(ctx, ctx.t, ctx.t + days * 86400)


def _duration(amount: int, kind: str) -> Any:
    return nodes.Duration(amount, "day", kind, SPAN)  # type: ignore[arg-type]


@pytest.mark.parametrize("zone", _ZONES, ids=str)
@pytest.mark.parametrize("n", [0, 1, 7, 30])
def test_calendar_days_are_placed_where_they_end_within_the_stretch(zone: dt.tzinfo,
                                                                    n: int) -> None:
    # Only the days near the stretch are placed: what lands in it is what placing the starts
    # of both days n and n + 1 after the event's date, wherever they fall, would place.
    span = _span(zone)
    age = nodes.Age("within", _duration(n, "calendar"), None, SPAN)
    for hours in range(-24 * (n + 30), 24 * 30, 7):
        event = span.lo + hours * 3600.0
        day = dt.datetime.fromtimestamp(event, zone).date()
        every = {event, *day_starts(day + dt.timedelta(days=n), zone),
                 *day_starts(day + dt.timedelta(days=n + 1), zone)}
        placed = set(age_breaks(span, age, event))
        assert placed <= every
        assert {t for t in placed if span.lo < t <= span.hi} == \
            {t for t in every if span.lo < t <= span.hi}, (zone, n, hours)


def _business_reference(span: Span, event: float, n: int) -> set[float]:
    """Where the count of business days since the event's date reaches n or n + 1 or becomes
    unknown, counted afresh from the event's date to each day of the stretch."""
    scratch = span.ctx.at(span.ctx.t_dt)
    first = dt.datetime.fromtimestamp(event, span.home).date()
    last = dt.datetime.fromtimestamp(span.hi, span.home).date() + dt.timedelta(days=1)
    found: set[float] = set()
    before = business_days_between(scratch, first, first)
    day = first
    while day < last:
        day += dt.timedelta(days=1)
        count = business_days_between(scratch, first, day)
        if (count is None and before is not None) or (count is not None and count != before
                                                        and count in (n, n + 1)):
            found.update(span.day_start(day))
        before = count
    return {t for t in found if span.lo < t <= span.hi}


@pytest.mark.parametrize(("country", "region"), [("US", "US-NY"), ("LK", None), (None, None)])
@pytest.mark.parametrize("n", [1, 2, 3, 10, 25])
def test_business_days_are_placed_where_the_count_reaches_n_or_becomes_unknown(
        country: str | None, region: str | None, n: int) -> None:
    # Sri Lanka's holidays are known up to 2026 only: counts that reach into 2027 become
    # unknown; a callee whose country is not known has no known business day.
    zone = ZoneInfo("America/New_York")
    for at in (_SPAN_AT, dt.datetime(2026, 12, 20, 15, tzinfo=dt.UTC)):
        for days in (1, 14):
            base = _span(zone, country, region, days)
            ctx = base.ctx.at(at)
            span = Span(ctx, ctx.t, ctx.t + days * 86400)
            for back in range(-1, 7 * (n // 5 + 2) + 20):
                event = span.lo - back * 86400.0 - 3600.0
                # Each change in the stretch is placed (a few more instants may be: judged
                # there, nothing changes)
                placed = set(span.business_days(event, n))
                assert _business_reference(span, event, n) <= placed, (country, n, at, back)


def test_business_days_are_kept_by_whose_holidays_they_count() -> None:
    # An opt-out on Monday 2026-06-22, ten business days: in New York, Friday 2026-07-03 is
    # Independence Day observed, so the count reaches 10 on the 7th; in Britain on the 6th.
    # Each answer is the one computed afresh (Span._business_days), whichever was kept first.
    zone = ZoneInfo("America/New_York")
    event = dt.datetime(2026, 6, 22, 15, tzinfo=dt.UTC).timestamp()
    at = dt.datetime(2026, 6, 30, 15, tzinfo=dt.UTC)
    base = _span(zone).ctx  # one fact source for all
    answers = {}
    shared: dict[tuple[object, ...], tuple[float, ...]] = {}  # one Timeline's, for all
    for country, region in (("US", "US-NY"), ("GB", None), ("US", "US-NY")):
        ctx = Ctx(base.call, at, (zone,), country, region, base.facts)
        span = Span(ctx, ctx.t, ctx.t + 14 * 86400, shared)
        kept = span.business_days(event, 10)
        ends = (dt.date(2026, 6, 29), dt.date(2026, 7, 15))
        assert kept == tuple(span._business_days(dt.date(2026, 6, 22), ends, 10, None))
        answers[country] = kept
    reached = {c: dt.datetime.fromtimestamp(min(t), zone).date() for c, t in answers.items()}
    assert reached == {"US": dt.date(2026, 7, 7), "GB": dt.date(2026, 7, 6)}
    assert len(shared) == 2  # kept apart by country, found again for the second New York call


def test_a_window_opens_where_any_of_the_callees_zones_opens() -> None:
    hours = tuple(((dt.time(9), dt.time(20), True),) if day < 5 else () for day in range(7))
    zones = tuple(ZoneInfo(name) for name in ("Australia/Perth", "Australia/Sydney",
                                               "Australia/Lord_Howe", "Indian/Cocos"))
    first = int(dt.datetime(2026, 10, 3, tzinfo=dt.UTC).timestamp() // 86400)  # Sydney: DST
    for last in (first, first + 14):
        merged = zones_openings(zones, hours, first, last)
        assert list(merged) == sorted({t for zone in zones
                                       for t in window_openings(zone, hours, first, last)})
        assert len(merged) > max(len(window_openings(zone, hours, first, last))
                                 for zone in zones)  # the zones open at different instants


def test_what_placing_finds_missing_is_named_apart_from_the_calls_judgement() -> None:
    # A history filter on a fact the call leaves out: the event's instants are unknown, and
    # the fact is named in the span's one scratch context, never in the call's.
    from ringfence.engine import runtime
    from ringfence.engine.timeline import _last_event

    judged = ringfence.load_library()._evaluator.context(
        {"to": NEW_YORK, "at": _SPAN_AT.isoformat(), "history": []})
    assert judged.call.campaign is None and judged.call.history == ()
    before = set(judged.missing)
    span = Span(judged, judged.t, judged.t + 14 * 86400)
    filters = runtime.HistoryFilter(("campaign",), None)
    assert list(_last_event(span, judged, "attempt", filters, None)) == []
    assert span.scratch() is span.scratch() and span.scratch() is not judged
    assert span.scratch().t == judged.t and "campaign" in span.scratch().missing
    assert judged.missing == before


def test_business_days_kept_go_with_their_policy_set() -> None:
    # An autodialed call to a number that asked not to be called (an opt-out two months old):
    # the revocation's business days are placed to find when the call may be made. What the
    # computation kept there is the policy set's own, so a policy set let go frees its facts
    # (whose lists can be hundreds of MB).
    import gc
    import weakref

    policyset = ringfence.load("us-federal")
    facts = weakref.ref(policyset.facts)
    call = {"to": "+16016624534", "at": "2026-11-07T19:00:00-06:00", "from": "+12025550143",
            "purpose": "informational", "technology": "autodialer", "line_type": "landline",
            "consent": [], "lists": [], "history": [],
            "lists_checked_at": {"national_dnc": "2026-10-30"},
            "opt_outs": [{"at": "2026-09-09T19:00:00-05:00"}]}
    decision = policyset.decide(call)
    assert [v.rule for v in decision.violations] == ["consent-revocation"]
    assert decision.next_allowed_at is None  # revoked for good
    assert policyset._evaluator.schedule.timeline.business  # kept by this policy set
    del policyset, decision
    gc.collect()
    assert facts() is None


def test_a_walk_judges_an_instant_at_the_timestamp_its_datetime_holds(tmp_path: Path) -> None:
    # The walk hands a whole-second instant to the context it judges rather than have it work
    # the timestamp out again; a finer fraction, which a datetime rounds to the microsecond,
    # is worked out from the datetime as before.
    from ringfence.engine.timeline import _Walk

    path = tmp_path / "w.rf"
    path.write_text('policy w "W"\n  version 1\n  applies to US\n\nrule w "W"\n  cite "T"\n'
                    "  allow only monday to friday 09:00 to 20:00 inclusive\n"
                    "    callee local time\n", encoding="utf-8")
    evaluator = ringfence.load(path)._evaluator
    ctx = evaluator.context({"to": "+12025550123", "at": "2026-11-01T01:30:00-04:00"})
    walk = _Walk(ctx, 14 * 86400.0, lambda judged: evaluator.judge(judged)[0], {})
    for instant in (ctx.t + 3600.0, ctx.t + 0.25, ctx.t + 4e-7, ctx.t + 2.0000004):
        judged = walk.at(instant)
        assert judged.t == judged.t_dt.timestamp()
        assert judged.t_dt == dt.datetime.fromtimestamp(instant, dt.UTC)
    fine = ctx.t + 4e-7
    assert fine % 1 != 0 and walk.at(fine).t != fine  # rounded, as its datetime holds it
