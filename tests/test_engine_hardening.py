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
