"""The runtime atoms' shortcuts give the answers of the work they skip.

- An age in calendar days dates the event and the judged instant on the callee's clock only
  when they are within a few days of the age's boundary (``runtime._calendar_days``); further
  off, every clock from UTC-12 to UTC+14 gives the same answer.
- An event of an outcome (``last refusal``) with no ``with`` filter is found without calling a
  filter per attempt.
- ``list NAME checked AGE`` and ``last EVENT AGE`` are copied into the generated function.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from test_core_support import NYC, call, load_rule

from ringfence.engine import runtime
from ringfence.engine.runtime import Ctx, HistoryFilter
from ringfence.errors import Span
from ringfence.language import nodes

ZONES = ("Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kolkata", "America/St_Johns", "UTC",
         "Pacific/Apia")
KINDS = ("within", "more_than_ago", "at_least_ago", "less_than_ago")
SPAN = Span("t.rf", 1, 1)


def _age(kind: str, days: int) -> nodes.Age:
    return nodes.Age(kind, nodes.Duration(days, "day", "calendar", SPAN), None, SPAN)  # type: ignore[arg-type]


def _ctx(tmp_path, zone: str, at: str = "2026-03-15T12:30:00Z") -> Ctx:
    policyset = load_rule(tmp_path, "deny if purpose is marketing")
    return policyset._evaluator.context(call(at, to_timezone=zone))


def _exact(ctx: Ctx, age: nodes.Age, event: float) -> bool:
    """The age's answer from the two local dates, as age_holds read them before the shortcut."""
    diff = (ctx.local_date() - ctx.date_of(event)).days
    n = age.first.amount
    return {"within": diff < n, "more_than_ago": diff > n, "at_least_ago": diff >= n,
            "less_than_ago": diff < n}[age.kind]


@pytest.mark.parametrize("zone", ZONES)
def test_calendar_days_near_and_far_from_the_boundary_agree_with_the_dates(tmp_path, zone):
    for at in ("2026-03-15T00:30:00Z", "2026-03-15T12:30:00Z", "2026-03-15T23:30:00Z"):
        ctx = _ctx(tmp_path, zone, at)
        for kind, days, hours in itertools.product(KINDS, (1, 7, 30), range(0, 40 * 24, 5)):
            age, event = _age(kind, days), ctx.t - hours * 3600
            assert runtime.age_holds(ctx, age, event) == _exact(ctx, age, event), \
                (zone, at, kind, days, hours)


def test_calendar_days_far_from_the_boundary_date_neither_instant(tmp_path, monkeypatch):
    ctx = _ctx(tmp_path, "America/New_York")

    def refuse(*args: object) -> dt.date:
        raise AssertionError("dated an instant far from the age's boundary")

    monkeypatch.setattr(Ctx, "local_date", refuse)
    monkeypatch.setattr(Ctx, "date_of", refuse)
    day = 86400
    assert runtime.age_holds(ctx, _age("within", 30), ctx.t - 5 * day) is True
    assert runtime.age_holds(ctx, _age("within", 30), ctx.t - 60 * day) is False
    assert runtime.age_holds(ctx, _age("more_than_ago", 30), ctx.t - 60 * day) is True
    assert runtime.age_holds(ctx, _age("at_least_ago", 30), ctx.t - 5 * day) is False
    with pytest.raises(AssertionError, match="far from"):  # near it, the dates decide
        runtime.age_holds(ctx, _age("within", 30), ctx.t - 30 * day)


def test_an_outcomes_events_without_a_filter_call_no_filter(tmp_path, monkeypatch):
    policyset = load_rule(tmp_path, "deny if purpose is marketing")
    ctx = policyset._evaluator.context(call(history=[
        {"at": "2026-06-10T12:00:00-04:00", "outcome": "refused"},
        {"at": "2026-06-11T12:00:00-04:00", "outcome": "voicemail"},
        {"at": "2026-06-12T12:00:00-04:00", "outcome": "refused"}]))

    def refuse(attempt: object) -> bool:
        raise AssertionError("a filter called for an attempt")

    monkeypatch.setattr(runtime, "_every", refuse)  # the predicate of no filter
    found = runtime.event_instants(ctx, "refusal", HistoryFilter((), None))
    assert found == [ctx.call.history_at[0], ctx.call.history_at[2]]


def test_list_checked_and_last_event_are_copied_into_the_generated_function(tmp_path):
    policyset = load_rule(tmp_path, "require list dnc checked within 31 days",
                          "unless last refusal within 7 days", extra="  uses list dnc")
    source = policyset._evaluator.source
    assert "checked_at(ctx" in source and "list_checked(" not in source
    assert "latest_event(ctx" in source and "last_event(" not in source
    decision = policyset.decide(call(to=NYC, lists_checked_at={"dnc": "2026-06-01"}, history=[]))
    assert decision.decision == "allow"
