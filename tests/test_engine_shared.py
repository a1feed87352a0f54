"""The generated function asks an atom a policy repeats once per judgement (runtime.SHARED),
and only while it is known: an unknown answer is asked again, so every rule that needs the
missing fact names it, as the reference interpreter does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ringfence
from ringfence.engine import pygen
from ringfence.facts.callee import StandardFacts
from ringfence.facts.numberlist import NumberList

NUMBER = "+12122345678"
POLICY = """policy twice "Asks the same twice"
  version 1
  applies to US
  uses list dnc

rule first "First"
  cite "Test"
  when purpose is marketing
  deny if callee on list dnc as of last wash

rule second "Second"
  cite "Test"
  deny if callee on list dnc as of last wash

rule third "Third"
  cite "Test"
  when purpose is marketing
  require consent express for marketing

rule fourth "Fourth"
  cite "Test"
  require consent express for marketing
"""


class CountingFacts(StandardFacts):
    """The standard facts, counting how often a list is asked."""

    def __init__(self, lists: dict[str, NumberList]):
        super().__init__(lists)
        self.asked = 0

    def listed(self, name: str, e164: str) -> tuple[bool | None, float | dt.date | None]:
        self.asked += 1
        return super().listed(name, e164)


def _load(tmp_path: Path) -> tuple[ringfence.PolicySet, CountingFacts]:
    path = tmp_path / "twice.rf"
    path.write_text(POLICY, encoding="utf-8")
    facts = CountingFacts({"dnc": NumberList([(NUMBER, dt.date(2026, 5, 1))])})
    return ringfence.load(path, facts=facts), facts


def _judged(policyset: ringfence.PolicySet, call: dict) -> dict[str, tuple[str, ...]]:
    """Each violated rule and the facts it names missing; the interpreter agrees."""
    evaluator = policyset._evaluator
    ctx = evaluator.context(call)
    fast = evaluator.judge(ctx)
    assert fast == evaluator.interpreter.judge(ctx.at(ctx.t_dt))
    return {f.rule: f.missing_facts for f in fast[0]}


def test_a_known_answer_is_asked_once_and_given_to_every_rule(tmp_path: Path) -> None:
    policyset, facts = _load(tmp_path)
    call = {"to": NUMBER, "at": "2026-06-16T15:00:00Z", "purpose": "marketing",
            "lists_checked_at": {"dnc": "2026-06-01"}, "consent": []}
    facts.asked = 0
    assert _judged(policyset, call) == {"first": (), "second": (), "third": (), "fourth": ()}
    # once by the generated function, twice by the interpreter (which keeps nothing)
    assert facts.asked == 1 + 2


def test_an_unknown_answer_is_asked_again_and_named_by_each_rule(tmp_path: Path) -> None:
    policyset, facts = _load(tmp_path)
    # no wash date and no consent given: neither is known, and each rule says so
    call = {"to": NUMBER, "at": "2026-06-16T15:00:00Z", "purpose": "marketing"}
    facts.asked = 0
    assert _judged(policyset, call) == {
        "first": ("lists_checked_at.dnc",), "second": ("lists_checked_at.dnc",),
        "third": ("consent",), "fourth": ("consent",)}
    assert facts.asked == 2 + 2


def test_the_source_keeps_a_repeated_atom_in_one_local(tmp_path: Path) -> None:
    policyset, _ = _load(tmp_path)
    lines = [line.split("  #")[0].strip() for line in policyset.source.splitlines()]
    kept = [line.split(" = ")[0] for line in lines
            if line.endswith("= on_list_at_wash(ctx, 'dnc', missing)")]
    assert len(kept) == 2 and kept[0] == kept[1]  # both rules fill the same local...
    assert lines.count(f"if {kept[0]} is None:") == 2  # ...only while it is not known
    assert lines.count(f"v = {kept[0]}") == 2


def test_a_finding_naming_missing_facts_is_made_once_per_set_of_facts(tmp_path: Path) -> None:
    policyset, _ = _load(tmp_path)
    call = {"to": NUMBER, "at": "2026-06-16T15:00:00Z", "purpose": "marketing"}
    first, again = (policyset.decide(call).violations for _ in range(2))
    assert [f.missing_facts for f in first] == [
        ("lists_checked_at.dnc",), ("lists_checked_at.dnc",), ("consent",), ("consent",)]
    assert all(a is b for a, b in zip(first, again, strict=True))  # shared, as immutable
    assert _judged(policyset, call)["first"] == ("lists_checked_at.dnc",)  # as the interpreter's
    # no fact missing: the rule's own finding
    known = {**call, "consent": [], "lists_checked_at": {"dnc": "2026-06-01"}}
    assert [f.missing_facts for f in policyset.decide(known).violations] == [()] * 4


def test_past_the_kept_findings_a_finding_is_made_afresh(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setattr(pygen, "_KEPT", 0)
    policyset, _ = _load(tmp_path)
    call = {"to": NUMBER, "at": "2026-06-16T15:00:00Z", "purpose": "marketing"}
    first, again = (policyset.decide(call).violations for _ in range(2))
    assert first == again and first[0] is not again[0]
