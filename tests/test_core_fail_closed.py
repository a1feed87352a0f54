"""Issue #12, cases 3 and 4: a list that is neither loaded nor answered by the call, and a
``history``, ``consent`` or ``opt_outs`` left out of the call, are missing facts (the rule
denies and names them), never "none". Checked through the API, the CLI, both evaluators, explain
and both call readers; and the Fail closed page's table covers every field of the call schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_core_support import NYC, both_ways, call, load_text, policy_text, rule

import ringfence
from ringfence.contract.request import call_schema, parse_call, parse_call_reference
from ringfence.tools.cli import cli

ROOT = Path(__file__).resolve().parent.parent
LIST_POLICY = policy_text(rule("deny if callee on list internal_dnc"), extra="  uses list internal_dnc")


def _missing(violations: list[Any]) -> list[tuple[str, tuple[str, ...]]]:
    return [(v.rule, v.missing_facts) for v in violations]


# ---- case 3: lists ------------------------------------------------------------------------


def test_a_list_neither_loaded_nor_answered_denies_in_both_evaluators(tmp_path: Path) -> None:
    policyset = load_text(tmp_path, LIST_POLICY)
    fast, reference = both_ways(policyset, call())
    assert _missing(fast) == _missing(reference) == [("r", ("lists.internal_dnc",))]
    decision = policyset.decide(call(), trace=True)
    assert decision.decision == "deny" and decision.next_allowed_at is None
    assert decision.trace[0].detail.endswith(
        "the internal_dnc list is not loaded and the call does not answer it (lists and "
        "lists_checked_at.internal_dnc), which this rule needs)")


@pytest.mark.parametrize(("fields", "verdict", "missing"), [
    ({"lists": [], "lists_checked_at": {"internal_dnc": "2026-06-10"}}, "allow", ()),
    ({"lists": [{"name": "internal_dnc"}]}, "deny", ()),
    # checked, but the call does not say which lists the number was found on
    ({"lists_checked_at": {"internal_dnc": "2026-06-10"}}, "deny", ("lists.internal_dnc",)),
    # another list checked: this one is still not known
    ({"lists": [], "lists_checked_at": {"other": "2026-06-10"}}, "deny", ("lists.internal_dnc",)),
])
def test_the_call_answers_a_list_with_lists_and_lists_checked_at(
        tmp_path: Path, fields: dict[str, Any], verdict: str, missing: tuple[str, ...]) -> None:
    policyset = load_text(tmp_path, LIST_POLICY)
    fast, reference = both_ways(policyset, call(**fields))
    assert _missing(fast) == _missing(reference)
    decision = policyset.decide(call(**fields))
    assert decision.decision == verdict
    assert [v.missing_facts for v in decision.violations] == ([missing] if verdict == "deny" else [])


@pytest.mark.parametrize("condition", [
    "callee on list internal_dnc listed at least 31 days ago",
    "callee on list internal_dnc as of last wash",
])
def test_every_list_condition_names_the_unloaded_list(tmp_path: Path, condition: str) -> None:
    policyset = load_text(tmp_path, policy_text(rule(f"deny if {condition}"),
                                                extra="  uses list internal_dnc"))
    fast, reference = both_ways(policyset, call())
    assert _missing(fast) == _missing(reference) == [("r", ("lists.internal_dnc",))]


def test_a_loaded_list_answers_for_every_number(tmp_path: Path) -> None:
    listed = tmp_path / "dnc.txt"
    listed.write_text(f"{NYC}\n", encoding="utf-8")
    path = tmp_path / "p.rf"
    path.write_text(LIST_POLICY, encoding="utf-8")
    policyset = ringfence.load(path, lists={"internal_dnc": listed})
    assert policyset.decide(call()).decision == "deny"
    assert policyset.decide(call(to="+12125550102")).decision == "allow"


def test_the_cli_denies_a_call_to_a_list_it_was_not_given(tmp_path: Path) -> None:
    path = tmp_path / "p.rf"
    path.write_text(LIST_POLICY, encoding="utf-8")
    result = CliRunner().invoke(cli, ["decide", "-p", str(path), json.dumps(call())])
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["decision"] == "deny"
    assert record["violations"][0]["missing_facts"] == ["lists.internal_dnc"]


# ---- case 4: absent versus empty -----------------------------------------------------------


# (field, rule, what explain says of the unknown condition)
ARRAYS = [
    ("history", "deny if count of attempts in last 24 hours >= 1", "earlier attempts"),
    ("history", "deny if last conversation within 7 days", "earlier attempts"),
    ("opt_outs", "deny if opted out", "opt-outs"),
    ("opt_outs", "deny if last opt_out within 30 days", "opt-outs"),
    ("consent", "require consent express for marketing", "consent records"),
]


@pytest.mark.parametrize(("field", "effect", "seen"), ARRAYS)
def test_an_array_left_out_is_unknown_and_empty_is_none(tmp_path: Path, field: str,
                                                         effect: str, seen: str) -> None:
    policyset = load_text(tmp_path, policy_text(rule(effect)))
    absent = call(purpose="marketing")
    fast, reference = both_ways(policyset, absent)
    assert _missing(fast) == _missing(reference) == [("r", (field,))]
    traced = policyset.decide(absent, trace=True)
    assert traced.decision == "deny" and traced.trace[0].detail.endswith(
        f"(the call does not give its {seen} ({field}; [] says there are none), which this "
        "rule needs)")
    empty = call(purpose="marketing", **{field: []})
    verdict = "deny" if effect.startswith("require") else "allow"  # no consent: required
    assert _missing(both_ways(policyset, empty)[0]) == _missing(both_ways(policyset, empty)[1]) \
        == ([("r", ())] if verdict == "deny" else [])
    assert policyset.decide(empty).decision == verdict


@pytest.mark.parametrize("read", [parse_call, parse_call_reference])
def test_both_readers_tell_absent_from_empty(read: Any) -> None:
    absent = read(call())
    assert (absent.consent, absent.opt_outs, absent.history_at, absent.history,
            absent.lists) == (None, None, None, None, None)
    empty = read(call(consent=[], opt_outs=[], history=[], lists=[]))
    assert (empty.consent, empty.opt_outs, empty.history_at, empty.history,
            empty.lists) == ((), (), (), (), {})


def test_a_frequency_cap_with_a_filter_names_history_not_the_filter(tmp_path: Path) -> None:
    policyset = load_text(tmp_path, policy_text(rule(
        "deny if count of attempts with same subject in last 24 hours >= 2")))
    fast, reference = both_ways(policyset, call(subject="s1"))
    assert _missing(fast) == _missing(reference) == [("r", ("history",))]


# ---- the Fail closed page ------------------------------------------------------------------


def _schema_fields() -> set[str]:
    properties = call_schema()["properties"]
    fields = set(properties)
    for name, spec in properties.items():
        if spec.get("type") == "object" and "properties" in spec:
            fields |= {f"{name}.{member}" for member in spec["properties"]}
    return fields


def test_the_fail_closed_page_reads_every_field_of_the_call() -> None:
    page = (ROOT / "docs" / "fail-closed.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| (.+) \|$", page, re.MULTILINE))
    assert set(rows) == _schema_fields()
    for field in ("consent", "opt_outs", "history"):
        assert rows[field].startswith("not known") and "`[]` says" in rows[field]
