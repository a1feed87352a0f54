"""Regression tests for the engine's part of issue #18 (items 3, 6 and 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ringfence
from ringfence.errors import CallError
from ringfence.facts.numberlist import NumberList

NEW_YORK = "+12122345678"


def _policy(tmp_path: Path, condition: str, header: str = "") -> ringfence.PolicySet:
    path = tmp_path / "p.rf"
    path.write_text(f'policy p "P"\n  version 1\n  applies to US\n  uses list dnc\n{header}\n'
                    f'rule r "R"\n  cite "Test"\n  deny if {condition}\n', encoding="utf-8")
    return ringfence.load(path, lists={"dnc": NumberList([(NEW_YORK, None)])})


# ---- item 8: a missing timestamp is unknown, not false ------------------------------------


@pytest.mark.parametrize("condition", [
    "relationship.last_inquiry_at more than 30 days ago",
    "relationship.last_inquiry_at within 30 days",
    "relationship.last_inquiry_at < 2026-06-01",
])
def test_a_missing_timestamp_denies_and_is_named(tmp_path: Path, condition: str) -> None:
    policies = _policy(tmp_path, condition)
    got = policies.decide({"to": NEW_YORK, "at": "2026-06-16T15:00:00Z"})
    assert got.decision == "deny"
    assert got.violations[0].missing_facts == ("relationship.last_inquiry_at",)


def test_a_given_timestamp_still_decides(tmp_path: Path) -> None:
    policies = _policy(tmp_path, "relationship.last_inquiry_at more than 30 days ago")
    recent = {"to": NEW_YORK, "at": "2026-06-16T15:00:00Z",
              "relationship": {"last_inquiry_at": "2026-06-10T00:00:00Z"}}
    assert policies.decide(recent).decision == "allow"


# ---- item 6: an undated listing with a calendar or business age ------------------------------


@pytest.mark.parametrize(("age", "decision"), [
    ("at least 31 calendar days ago", "deny"), ("more than 10 business days ago", "deny"),
    ("within 31 calendar days", "allow"), ("less than 3 business days ago", "allow"),
])
def test_an_undated_listing_reads_as_long_ago(tmp_path: Path, age: str, decision: str) -> None:
    policies = _policy(tmp_path, f"callee on list dnc listed {age}")
    got = policies.decide({"to": NEW_YORK, "at": "2026-06-16T15:00:00Z"})
    assert got.decision == decision


# ---- item 3: to_region is checked, never trusted over the number ----------------------------

FLORIDA = "+13055550123"


@pytest.mark.parametrize("region", ["ZZ", "US-ZZ", "XX-FL"])
def test_a_region_code_that_does_not_exist_is_bad_input(region: str) -> None:
    policies = ringfence.load("us-fl")
    with pytest.raises(CallError) as raised:
        policies.decide({"to": FLORIDA, "at": "2026-06-16T03:30:00Z", "purpose": "marketing",
                         "to_region": region})
    assert raised.value.path == "to_region"


@pytest.mark.parametrize("region", ["JP", "GB", "CA-ON"])
def test_a_region_that_contradicts_the_number_denies_naming_it(region: str) -> None:
    # 23:30 in Florida: allowed before the fix, because the Florida rules were skipped.
    policies = ringfence.load("us-federal", "us-fl")
    got = policies.decide({"to": FLORIDA, "at": "2026-06-16T03:30:00Z", "purpose": "marketing",
                           "to_region": region})
    assert got.decision == "deny"
    assert {v.policy for v in got.violations} == {"us-federal", "us-fl"}
    assert all("to_region" in v.missing_facts for v in got.violations)
    assert got.country is None and got.region is None


@pytest.mark.parametrize(("number", "region"), [
    ("+17875550123", "US-PR"), ("+17875550123", "US"), ("+590590271234", "FR"),
    ("+590690001234", "FR"), ("+590690001234", "FR-971"),
    (FLORIDA, "US-FL"), (FLORIDA, "US")])
def test_a_region_naming_the_number_s_place_is_accepted(number: str, region: str) -> None:
    policies = ringfence.load("us-fl")
    got = policies.decide({"to": number, "at": "2026-06-16T16:00:00Z", "purpose": "marketing",
                           "to_region": region})
    assert got.country == region[:2]


# ---- item 6: what check accepts, load and decide take ---------------------------------------


def _nested(depth: int) -> str:
    text = "purpose is marketing"
    for i in range(depth):
        text = f"({text} {'and' if i % 2 else 'or'} technology is autodialer)"
    return text


def _check(tmp_path: Path, condition: str) -> list[str]:
    path = tmp_path / "c.rf"
    path.write_text(f'policy c "C"\n  version 1\n  applies to US\n\nrule r "R"\n  cite "T"\n'
                    f"  deny if {condition}\n", encoding="utf-8")
    try:
        ringfence.load(path)
    except ringfence.PolicyError as err:
        return [d.code for d in err.diagnostics]
    return []


@pytest.mark.parametrize(("condition", "code"), [
    (_nested(20), "RF307"), ("(" * 300 + "purpose is marketing" + ")" * 300, "RF307"),
    ("not " * 300 + "purpose is marketing", "RF307"),
    ("last purchase within 3000 years", "RF306"),
    ("count of attempts in last 2424242424 hours >= 1", "RF306"),
    ("count of attempts in last 24 hours >= " + "9" * 400, "RF306"),
    ("count of attempts in last 1.9 hours >= 1", "RF306"),
    ("count of attempts in last 24 hours >= 2.5", "RF306"),
    ("count of attempts in last \u0661\u0662 hours >= 1", "RF306"),
])
def test_what_the_engine_cannot_take_is_a_checker_error(tmp_path: Path, condition: str,
                                                         code: str) -> None:
    assert _check(tmp_path, condition) == [code]


def test_the_deepest_condition_check_accepts_loads_and_both_evaluators_agree(
        tmp_path: Path) -> None:
    deep = _nested(16)
    path = tmp_path / "deep.rf"
    path.write_text(f'policy d "D"\n  version 1\n  applies to US\n  when {deep}\n\nrule r "R"\n'
                    f'  cite "T"\n  when {deep}\n  unless {deep}\n  deny if {deep}\n',
                    encoding="utf-8")
    policies = ringfence.load(path)
    evaluator = policies._evaluator
    for extra in ({"purpose": "marketing"}, {"technology": "autodialer"}, {}):
        ctx = evaluator.context({"to": NEW_YORK, "at": "2026-06-16T15:00:00Z", **extra})
        assert evaluator.judge(ctx) == evaluator.interpreter.judge(ctx.at(ctx.t_dt))
    indents = [len(line) - len(line.lstrip()) for line in policies.source.splitlines()]
    assert max(indents) // 4 < 20  # Python's limit of nested blocks


def test_business_days_with_unknown_holidays_give_no_candidate_not_a_crash(tmp_path: Path) -> None:
    # Found by the fmt property test: with the callee's country unknown (a contradicting
    # to_region) no business day can be counted, and the search walked days until the end of
    # the calendar (OverflowError after minutes).
    policies = _policy(tmp_path, "opted out within 10 business days")
    got = policies.decide({"to": "+13057654321", "at": "2026-06-17T17:33:00Z", "to_region": "FR",
                           "opt_outs": [{"at": "2026-06-10T00:00:00Z"}]})
    assert got.decision == "deny"
    assert got.next_allowed_at is None


# ---- item 11: meta nested 500 deep on the reference path -------------------------------------


@pytest.mark.parametrize("pure", ["0", "1"])
def test_meta_nested_deep_is_decided_on_both_roads(pure: str) -> None:
    import json
    import os
    import subprocess
    import sys

    meta: object = "x"
    for _ in range(500):
        meta = {"a": meta}
    # a lowercase "z" sends the call through the canonical rewrite, which copied the whole call
    call = {"to": NEW_YORK, "at": "2026-06-16T15:00:00z", "meta": meta}
    ran = subprocess.run([sys.executable, "-c", "from ringfence.tools.cli import main; main()",
                          "decide", "-p", "us-fl", "-"],
                         input=json.dumps(call), capture_output=True, text=True,
                         env={**os.environ, "RINGFENCE_PURE_PYTHON": pure}, check=False)
    assert ran.returncode == 0, ran.stderr[-500:]
    assert json.loads(ran.stdout)["decision"] == "allow"


# ---- issue #12: a list loaded under a name no policy uses -------------------------------------


def test_a_list_under_a_name_no_policy_uses_is_an_input_error(tmp_path: Path) -> None:
    dnc = tmp_path / "dnc.txt"
    dnc.write_text(f"{NEW_YORK}\n", encoding="utf-8")
    with pytest.raises(ringfence.InputError) as raised:
        ringfence.load("us-federal", lists={"national_dcn": dnc})
    assert "did you mean 'national_dnc'" in str(raised.value)
    assert ringfence.load("us-federal", lists={"national_dnc": dnc})  # the right name loads


def test_the_cli_says_so_with_exit_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ringfence.tools.cli import cli

    dnc = tmp_path / "dnc.txt"
    dnc.write_text(f"{NEW_YORK}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["decide", "-p", "us-federal", "--list",
                                      f"national_dcn={dnc}", '{"to": "+12122345678", '
                                      '"at": "2026-06-16T15:00:00Z"}'])
    assert result.exit_code == 2
    assert "national_dnc" in result.output
