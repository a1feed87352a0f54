"""``callee on list NAME as of last wash``: a number registered after the caller's last copy of
the list is not on the list yet for that caller (FACTS.md 12.14: TSR 310.4(b)(3)(iv) safe harbor;
Australia's Do Not Call Register Act s 11(3))."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import ringfence
from ringfence.facts.numberlist import NumberList

POLICY = '''policy wash "Registry as of the caller's last wash"
  version 1
  applies to US
  uses list national_dnc

rule national-dnc "No calls to numbers on the registry as the caller last washed it"
  cite "16 CFR 310.4(b)(3)(iv)"
  deny if callee on list national_dnc as of last wash
'''
NUMBER = "+12122345678"  # New York


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "wash.rf"
    path.write_text(POLICY, encoding="utf-8")
    return path


def _call(**fields: object) -> dict:
    return {"to": NUMBER, "at": "2026-06-16T15:00:00Z", **fields}


def _listed(at: str | None) -> list[dict]:
    return [{"name": "national_dnc", **({"listed_at": at} if at else {})}]


@pytest.mark.parametrize(("listed_at", "washed", "decision"), [
    ("2026-05-20T00:00:00Z", "2026-06-01T00:00:00Z", "deny"),   # on the copy the caller holds
    ("2026-06-01T00:00:00Z", "2026-06-01T00:00:00Z", "deny"),   # listed at the wash instant
    ("2026-06-01T00:00:01Z", "2026-06-01T00:00:00Z", "allow"),  # registered after the wash
    ("2026-06-10", "2026-06-01", "allow"),                      # bare dates: the callee's midnight
    ("2026-06-01", "2026-06-01", "deny"),                       # same day: listed at the wash
    (None, "2026-06-01T00:00:00Z", "deny"),                     # unknown listing date: long ago
])
def test_listed_before_or_after_the_wash(policy: Path, listed_at: str | None, washed: str,
                                         decision: str) -> None:
    policies = ringfence.load(policy)
    got = policies.decide(_call(lists=_listed(listed_at),
                                lists_checked_at={"national_dnc": washed}), trace=True)
    assert got.decision == decision
    if decision == "deny":
        assert [v.rule for v in got.violations] == ["national-dnc"]
        assert got.next_allowed_at is None  # waiting does not take a number off the registry


def test_a_number_not_on_the_list_needs_no_wash_date(policy: Path) -> None:
    registry = NumberList([("+13055550123", None)])  # a loaded list that does not hold NUMBER
    got = ringfence.load(policy, lists={"national_dnc": registry}).decide(_call())
    assert got.decision == "allow"


def test_a_list_neither_loaded_nor_answered_is_a_missing_fact(policy: Path) -> None:
    got = ringfence.load(policy).decide(_call(), trace=True)
    assert got.decision == "deny"
    assert got.violations[0].missing_facts == ("lists.national_dnc",)
    assert got.trace[0].detail.endswith(
        "the national_dnc list is not loaded and the call does not answer it (lists and "
        "lists_checked_at.national_dnc), which this rule needs)")
    # the call answers it: checked against the list and found on none
    answered = _call(lists=[], lists_checked_at={"national_dnc": "2026-06-01"})
    assert ringfence.load(policy).decide(answered).decision == "allow"


def test_no_wash_date_is_a_missing_fact_and_denies(policy: Path) -> None:
    got = ringfence.load(policy).decide(_call(lists=_listed("2026-06-10T00:00:00Z")))
    assert got.decision == "deny"
    assert got.violations[0].missing_facts == ("lists_checked_at.national_dnc",)


def test_a_loaded_list_file_gives_the_listing_dates(policy: Path) -> None:
    listed = dt.datetime(2026, 6, 10, tzinfo=dt.UTC).timestamp()
    registry = NumberList([(NUMBER, listed), ("+13055550123", None)])
    policies = ringfence.load(policy, lists={"national_dnc": registry})
    washed = {"national_dnc": "2026-06-05T00:00:00Z"}
    assert policies.decide(_call(lists_checked_at=washed)).decision == "allow"
    before = {"national_dnc": "2026-06-12T00:00:00Z"}
    assert policies.decide(_call(lists_checked_at=before)).decision == "deny"
    other = {"to": "+13055550123", "at": "2026-06-16T15:00:00Z", "lists_checked_at": washed}
    assert policies.decide(other).decision == "deny"  # listed at an unknown date


def test_explain_names_the_listing_and_the_wash(policy: Path) -> None:
    got = ringfence.load(policy).decide(
        _call(lists=_listed("2026-06-10T00:00:00Z"), lists_checked_at={"national_dnc": "2026-06-01"}),
        trace=True)
    (trace,) = got.trace
    assert trace.outcome == "passed"
    assert trace.detail == (
        "deny if callee on list national_dnc as of last wash is false (the number is on the "
        "national_dnc list, listed on 9 June 2026 at 20:00 (America/New_York); the national_dnc "
        "list was last checked on 1 June 2026 at 00:00 (America/New_York))")


def test_the_list_must_be_declared(tmp_path: Path) -> None:
    path = tmp_path / "undeclared.rf"
    path.write_text(POLICY.replace("  uses list national_dnc\n", ""), encoding="utf-8")
    with pytest.raises(ringfence.PolicyError) as raised:
        ringfence.load(path)
    assert "national_dnc" in str(raised.value)


def test_both_evaluators_agree_and_the_text_round_trips(policy: Path) -> None:
    policies = ringfence.load(policy)
    evaluator = policies._evaluator
    for listed_at in ("2026-05-01T00:00:00Z", "2026-06-09T00:00:00Z", None):
        for washed in ({}, {"lists_checked_at": {"national_dnc": "2026-06-01"}}):
            ctx = evaluator.context(_call(lists=_listed(listed_at), **washed))
            assert evaluator.judge(ctx) == evaluator.interpreter.judge(ctx.at(ctx.t_dt))
    assert "as of last wash" in policies.source or "on_list_at_wash" in policies.source
