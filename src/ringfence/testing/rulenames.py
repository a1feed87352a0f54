"""Rule names a suite writes that cannot match what its policies report.

A suite names rules in its expectations (``violations: [calling-hours]``). A misspelt name would
otherwise make a ``violations_exclude`` pass for ever and a ``violations`` fail as "not fired":
both hide the typo. The same holds for a warn-level rule under ``violations*`` (it is only ever
a warning) and a deny-level one under ``warnings*``. So every name is checked against the loaded
policies before any case runs, and one that can match nothing is an input error with its line
and the closest real name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ringfence.errors import did_you_mean
from ringfence.testing.problems import Problem
from ringfence.testing.suite import Case, RuleRef

# The deny-level finding a policy gives when whether it applies cannot be established
# (engine/ir.py, Policy.undetermined): a suite may expect it like any rule of that policy.
APPLICABILITY = "applicability"
_REPORTED_IN = {"deny": "violations", "warn": "warnings"}


def known_rules(policies: Iterable[Any]) -> dict[str, dict[str, str]]:
    """Rule ids and their levels by policy id, for the ``PolicyInfo`` of a loaded PolicySet."""
    return {p.id: {APPLICABILITY: "deny", **{r.id: r.level for r in p.rules}} for p in policies}


def _unknown(name: str, rules: dict[str, dict[str, str]]) -> str | None:
    """Why ``name`` (``rule`` or ``policy/rule``) names no rule of ``rules``; None when it does."""
    every = sorted({r for ids in rules.values() for r in ids})
    policy, slash, rule = name.partition("/")
    if not slash:
        if name in every:
            return None
        close = did_you_mean(name, every)
        message = f"no rule {name!r} in the suite's policies ({', '.join(sorted(rules))})"
    elif policy not in rules:
        close = did_you_mean(policy, list(rules))
        message = f"no policy {policy!r} among the suite's policies ({', '.join(sorted(rules))})"
        close = f"{close}/{rule}" if close else None
    elif rule in rules[policy]:
        return None
    else:
        found = did_you_mean(rule, sorted(rules[policy]))
        close = f"{policy}/{found}" if found else did_you_mean(
            name, [f"{p}/{r}" for p, ids in rules.items() for r in ids])
        message = f"policy {policy!r} has no rule {rule!r}"
    return f"{message}; did you mean `{close}`?" if close else message


def _wrong_level(ref: RuleRef, rules: dict[str, dict[str, str]]) -> str | None:
    """Why the rules ``ref`` names can never appear where it expects them; None when one can."""
    policy, slash, rule = ref.name.partition("/")
    levels = ({rules[policy][rule]} if slash
              else {ids[ref.name] for ids in rules.values() if ref.name in ids})
    if ref.level in levels:
        return None
    (level,) = levels  # every named rule has the other level
    return (f"{ref.name!r} is a {level}-level rule: it is reported among {_REPORTED_IN[level]}, "
            f"never among {_REPORTED_IN[ref.level]}")


def rule_problems(cases: Iterable[Case], policies: Iterable[Any]) -> list[Problem]:
    """A problem for every rule name of ``cases`` that can match no finding of ``policies``."""
    rules = known_rules(policies)
    problems = []
    for case in cases:
        for ref in case.rule_refs:
            why = _unknown(ref.name, rules) or _wrong_level(ref, rules)
            if why is not None:
                problems.append(Problem(case.file, ref.line, why, ref.field))
    return problems
