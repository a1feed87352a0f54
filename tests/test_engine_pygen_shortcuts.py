"""The generated function's shortcuts give the reference interpreter's answers.

- A rule whose first ``when`` tests a field of the call is skipped, in two lines, where that
  test is known false (``pygen._guard``); run, it names the field where it is missing.
- A policy's or a rule's first and last dates are settled by the judged instant alone when it
  is a day or more away from them (``pygen._before``, ``pygen._on_or_after``): the callee's date
  is worked out only near them, on any clock from UTC-12 to UTC+14.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from test_core_support import NYC, ago, call, load_text, policy_text, rule

import ringfence
from ringfence.engine import pygen
from ringfence.facts.callee import StandardFacts

# The clocks furthest from UTC either way, two that are not whole hours off it, UTC itself, and
# one that skipped a whole day (Samoa, 2011-12-30).
ZONES = ("Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kolkata", "America/St_Johns", "UTC",
         "Pacific/Apia")


def _agree(policyset: ringfence.PolicySet, raw: dict) -> tuple:
    """The generated function's judgement of ``raw``, which must be the interpreter's."""
    evaluator = policyset._evaluator
    ctx = evaluator.context(raw)
    fast = evaluator.judge(ctx)
    assert fast == evaluator.interpreter.judge(ctx.at(ctx.t_dt)), (raw, evaluator.source)
    return fast


DATED = (rule("deny if purpose is marketing", "effective from 2026-03-10", rid="from")
         + rule("deny if purpose is marketing", "effective until 2026-03-20", rid="until")
         + rule("warn if purpose is marketing", "effective from 2026-03-12 until 2026-03-13",
                rid="one-day"))


@pytest.mark.parametrize("zone", ZONES)
def test_dates_near_the_first_and_last_day_are_read_on_the_callees_clock(tmp_path, zone):
    policyset = load_text(tmp_path, policy_text(DATED, extra="  effective from 2026-03-09"))
    seen = set()
    for day, hour in itertools.product(("03-07", "03-08", "03-09", "03-10", "03-11", "03-12",
                                        "03-13", "03-14", "03-19", "03-20", "03-21", "03-22"),
                                       range(0, 24, 3)):
        raw = call(f"2026-{day}T{hour:02d}:30:00Z", to_timezone=zone, purpose="marketing")
        violations, warnings, refs = _agree(policyset, raw)
        seen.add((tuple(v.rule for v in violations), tuple(w.rule for w in warnings),
                  refs[0].applicable))
    # the range crosses every date: the policy not yet in force, then each rule's days
    assert len(seen) >= 5, seen


def test_samoas_skipped_day_is_the_interpreters_too(tmp_path):
    policyset = load_text(tmp_path, policy_text(
        rule("deny if purpose is marketing", "effective from 2011-12-30", rid="from")
        + rule("deny if purpose is marketing", "effective until 2011-12-31", rid="until")))
    for hour in range(-60, 60, 1):
        at = dt.datetime(2011, 12, 30, tzinfo=dt.UTC) + dt.timedelta(hours=hour)
        _agree(policyset, call(at.isoformat(), to_timezone="Pacific/Apia", purpose="marketing"))


def test_a_call_a_day_or_more_from_every_date_is_judged_without_the_callees_date(tmp_path):
    policyset = load_text(tmp_path, policy_text(DATED, extra="  effective from 2026-03-09"))
    evaluator = policyset._evaluator
    for at in ("2026-03-07T12:00:00Z", "2026-03-16T12:00:00Z", "2026-06-15T12:00:00Z",
               "2030-01-01T00:00:00+14:00"):
        ctx = evaluator.gather(call(at, purpose="marketing"))
        evaluator.judge(ctx)
        assert ctx._day is None, at
    near = evaluator.gather(call("2026-03-10T02:00:00Z", purpose="marketing"))
    evaluator.judge(near)
    assert near._day == dt.date(2026, 3, 9)  # New York is still on the 9th


GUARDED = (rule("deny if technology is not manual", "when purpose is marketing",
                "when line_type is mobile", rid="first-when")
           + rule("deny if line_type is not landline", "when technology is not manual",
                  "unless purpose is research", rid="negated")
           + rule("warn if technology is prerecorded", "when purpose is one of marketing, charity",
                  rid="warn"))


def test_rules_skipped_by_their_first_field_test_agree_and_name_what_is_missing(tmp_path):
    policyset = load_text(tmp_path, policy_text(GUARDED))
    fields = {"purpose": (None, "marketing", "charity", "research"),
              "technology": ("manual", "prerecorded"),  # left out, it reads as manual
              "line_type": (None, "mobile", "landline")}
    named = set()
    for values in itertools.product(*fields.values()):
        given = {k: v for k, v in zip(fields, values, strict=True) if v is not None}
        violations, warnings, _ = _agree(policyset, call(to=NYC, **given))
        named.update(fact for f in (*violations, *warnings) for fact in f.missing_facts)
    assert named == {"purpose", "line_type"}


def test_a_policy_skipped_by_its_first_field_test_agrees_and_names_what_is_missing(tmp_path):
    policyset = load_text(tmp_path, policy_text(
        rule("deny if line_type is not landline", rid="any"),
        extra="  when purpose is not research\n  when line_type is present"))
    applied, named = set(), set()
    for purpose, line_type in itertools.product((None, "marketing", "research"),
                                                (None, "mobile", "landline")):
        given = {k: v for k, v in (("purpose", purpose), ("line_type", line_type)) if v}
        violations, _, refs = _agree(policyset, call(to=NYC, **given))
        applied.add(refs[0].applicable)
        named.update(fact for f in violations for fact in f.missing_facts)
    assert applied == {True, False}
    assert named == {"purpose"}


def test_the_first_when_past_its_guard_answers_in_two_lines(tmp_path):
    # the guard found the test true where the field is given: never false, unknown where missing
    source = load_text(tmp_path, policy_text(GUARDED))._evaluator.source
    assert source.count("undetermined = value_ is None") == 3
    assert "v = True if value_ is not None" not in source


def _shared_names(source: str) -> list[str]:
    """The locals a policy's function keeps atoms' answers in (runtime.shareable)."""
    first = next(line for line in source.splitlines() if line.lstrip().startswith("shared"))
    return first.split("=")[:-1]


def _kept_by_two_rules(tmp_path, condition: str):
    return load_text(tmp_path, policy_text(
        rule("deny if purpose is marketing", f"unless {condition}", rid="one")
        + rule("warn if purpose is marketing", f"unless {condition}", rid="two")))


def test_an_age_two_rules_measure_is_asked_once_unless_it_counts_business_days(tmp_path):
    months = _kept_by_two_rules(tmp_path, "last purchase within 18 months")
    # the same age written on two lines is one answer, kept for the second rule
    assert len(_shared_names(months._evaluator.source)) == 1
    for purchase in (None, ago("2026-06-15T12:00:00-04:00", days=30),
                     ago("2026-06-15T12:00:00-04:00", days=600)):
        given = {"relationship": {"last_transaction_at": purchase}} if purchase else {}
        violations, warnings, _ = _agree(months, call(purpose="marketing", **given))
        assert len(violations) == len(warnings) == (purchase is None or "2024" in purchase)
    # a count of business days may be unknown where the other age decides: asked again
    business = _kept_by_two_rules(
        tmp_path, "opted out for marketing between 10 business days and 5 years ago")
    assert "shared" not in business._evaluator.source


def test_the_instants_a_day_from_a_date_are_floats_as_the_judged_instant_is():
    # ``t`` is a float; compared with an int past 2**30 (any instant since 1970-01-13), CPython
    # converts the int anew at each test. The instants are written as floats, of equal value.
    src = pygen._Source(StandardFacts())
    pygen._before(src, dt.date(2026, 3, 9))
    pygen._on_or_after(src, dt.date(1970, 1, 2))
    bound = {name: value for name, value in src.namespace.items() if name.startswith("T")}
    assert sorted(bound.values()) == [0.0, 172800.0, 1772928000.0, 1773100800.0]
    assert all(type(value) is float for value in bound.values())
