"""A policy's functions written for the purpose and technology a call gives (``pygen._Variants``).

Where the call gives the field, a condition on it is answered once, while writing: a rule or
policy it rules out is not written, and values that answer a policy's conditions alike share one
function. Every judgement stays the reference interpreter's, the facts named missing included.
"""

from __future__ import annotations

import itertools
import linecache
from typing import Any

from test_core_support import NYC, call, load_text, policy_text, rule

import ringfence
from ringfence.engine import pygen

SELECTED = (rule("deny if technology is not manual", "when purpose is marketing", rid="market")
            + rule("deny if line_type is mobile", "when technology is prerecorded", rid="robo")
            + rule("warn if purpose is charity", rid="charity")
            + rule("deny if line_type is not landline",
                   "when purpose is one of marketing, research",
                   "unless technology is manual", rid="exempt-manual")
            + rule("deny if line_type is unknown", rid="always"))


def _agree(policyset: ringfence.PolicySet, raw: dict[str, Any]) -> tuple[Any, ...]:
    """The generated function's judgement of ``raw``, which must be the interpreter's."""
    evaluator = policyset._evaluator
    ctx = evaluator.context(raw)
    fast = evaluator.judge(ctx)
    assert fast == evaluator.interpreter.judge(ctx.at(ctx.t_dt)), raw
    return fast


def _variants(policyset: ringfence.PolicySet) -> pygen._Variants:
    evaluator = policyset._evaluator
    return pygen._Variants(evaluator.policies[0], evaluator._judge_fast, evaluator.facts,
                           pygen._Findings())


def _run_for(variants: pygen._Variants, policyset: ringfence.PolicySet, **given: str) -> Any:
    return variants.run(policyset._evaluator.gather(call(to=NYC, **given)).call)


def _rules_written(run: Any) -> set[str]:
    """The rules whose lines the function ``run`` holds."""
    text = "".join(linecache.getlines(run.__code__.co_filename))
    return {line.split("/")[-1] for line in text.splitlines() if "# rule " in line}


def test_every_purpose_technology_and_line_type_is_judged_as_the_interpreter_does(tmp_path):
    policyset = load_text(tmp_path, policy_text(SELECTED))
    seen = set()
    for purpose, technology, line_type in itertools.product(
            (None, "marketing", "research", "charity"), ("manual", "prerecorded"),
            (None, "mobile", "landline", "unknown")):
        given = {k: v for k, v in (("purpose", purpose), ("technology", technology),
                                   ("line_type", line_type)) if v is not None}
        violations, warnings, _ = _agree(policyset, call(to=NYC, **given))
        seen.add((tuple(f.rule for f in violations), tuple(f.rule for f in warnings)))
    assert len(seen) >= 8, seen


def test_the_function_for_a_call_holds_only_the_rules_its_values_leave_in(tmp_path):
    policyset = load_text(tmp_path, policy_text(SELECTED))
    variants = _variants(policyset)
    assert variants.fields == ("purpose", "technology")
    # the manual marketing call passes "market" whatever else it gives: not written either
    manual = _run_for(variants, policyset, purpose="marketing", technology="manual")
    assert _rules_written(manual) == {"always"}
    dialer = _run_for(variants, policyset, purpose="marketing", technology="autodialer")
    assert _rules_written(dialer) == {"market", "exempt-manual", "always"}
    robo = _run_for(variants, policyset, purpose="research", technology="prerecorded")
    assert _rules_written(robo) == {"robo", "exempt-manual", "always"}


def test_values_that_answer_alike_share_one_function(tmp_path):
    policyset = load_text(tmp_path, policy_text(SELECTED))
    variants = _variants(policyset)
    informational = _run_for(variants, policyset, purpose="informational",
                             technology="autodialer")
    debt = _run_for(variants, policyset, purpose="debt_collection", technology="autodialer")
    assert informational is debt
    assert informational is not _run_for(variants, policyset, purpose="charity",
                                         technology="autodialer")


def test_a_policy_its_when_rules_out_is_not_run_and_not_applicable(tmp_path):
    policyset = load_text(tmp_path, policy_text(rule("deny if line_type is unknown"),
                                                extra="  when purpose is marketing"))
    variants = _variants(policyset)
    assert _run_for(variants, policyset, purpose="research", technology="manual") is None
    _, _, refs = _agree(policyset, call(to=NYC, purpose="research"))
    assert refs[0].applicable is False
    _, _, refs = _agree(policyset, call(to=NYC, purpose="marketing"))
    assert refs[0].applicable is True


# rules a marketing call leaves out, so that its function is written for it
LEFT_OUT = (rule("warn if line_type is mobile", "when purpose is charity", rid="charity")
            + rule("warn if line_type is mobile", "when purpose is research", rid="research"))


def test_a_part_asked_before_the_given_field_decides_still_names_what_it_lacks(tmp_path):
    # `or`: the given purpose decides, but the sector before it was asked, and is missing
    policyset = load_text(tmp_path, policy_text(LEFT_OUT + rule(
        "deny if line_type is mobile", "when sector is life_insurance or purpose is marketing")))
    assert _rules_written(_run_for(_variants(policyset), policyset, purpose="marketing",
                                   technology="manual")) == {"r"}
    violations, _, _ = _agree(policyset, call(to=NYC, purpose="marketing", line_type="mobile"))
    assert [f.missing_facts for f in violations] == [("sector",)]
    # asked after it, it is not: the purpose decides first
    policyset = load_text(tmp_path, policy_text(LEFT_OUT + rule(
        "deny if line_type is mobile", "when purpose is marketing or sector is life_insurance")))
    violations, _, _ = _agree(policyset, call(to=NYC, purpose="marketing", line_type="mobile"))
    assert [f.missing_facts for f in violations] == [()]
