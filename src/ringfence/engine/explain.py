"""Why a rule came out as it did, in words: the clause that decided and the values it saw.

The words for what each atom looked at are registered beside its meaning in the runtime
(:func:`.runtime.observes`); they never decide anything themselves (the interpreter's answer is
quoted). An atom without them is explained by its text and answer alone.
"""

from __future__ import annotations

from collections.abc import Iterator

from ringfence.engine import ir
from ringfence.engine.interp import Interpreter
from ringfence.engine.runtime import OBSERVERS, Ctx, closed_reason, window_check, window_zones
from ringfence.language import nodes, unparse


def _observations(cond: ir.Cond, ctx: Ctx) -> Iterator[str]:
    for atom in ir.atoms(cond):
        observer = OBSERVERS.get(type(atom.node))
        if observer is not None:
            yield observer(atom.node, ctx)


def _said(cond: ir.Cond, ctx: Ctx, interp: Interpreter) -> str:
    value = interp.condition(cond, ctx)
    verdict = {True: "true", False: "false", None: "unknown"}[value]
    seen = "; ".join(dict.fromkeys(_observations(cond, ctx)))
    assert not isinstance(cond.node, nodes.Window)
    return f"{unparse.condition(cond.node)} is {verdict}" + (f" ({seen})" if seen else "")


def _window(rule: ir.Rule, ctx: Ctx) -> str:
    window = rule.window
    assert window is not None
    inside = {True: "inside", False: "outside", None: "cannot be placed in"}[
        window_check(ctx, window, ctx.missing)]
    lines = "; ".join(unparse.window_lines(window.node))
    zones = window_zones(ctx, window)
    if not zones:
        seen = "no time zone is known for the callee"
    else:
        places = []
        for zone in zones:
            local = ctx.local(zone)
            reason = closed_reason(ctx, window, local)
            extra = f", {reason}" if reason else ""
            places.append(f"{local.strftime('%A %Y-%m-%d %H:%M:%S')} in {zone.key}{extra}")
        seen = "local time " + "; ".join(places)
    return f"the call is {inside} the window ({lines}): {seen}"


def explain_rule(rule: ir.Rule, ctx: Ctx, outcome: ir.Outcome, interp: Interpreter) -> str:
    """In words, which clause decided the rule's outcome and the values it saw (a pending rule
    says first that it is not law in force)."""
    said = _decided_by(rule, ctx, outcome, interp)
    if rule.node.pending:
        start = rule.node.effective[0]
        return (f"pending, not law in force (expected from {start}): {said}" if start else
                f"pending, not law in force (no start known): {said}")
    return said


def _decided_by(rule: ir.Rule, ctx: Ctx, outcome: ir.Outcome, interp: Interpreter) -> str:
    if outcome == ir.NOT_IN_FORCE:
        return (f"not in force on {ctx.local_date()} (effective "
                f"{rule.effective_from or 'always'} to {rule.effective_until or 'no end'})")
    if outcome == ir.NOT_APPLICABLE:
        for cond in rule.when:
            if interp.condition(cond, ctx) is False:
                return "when " + _said(cond, ctx, interp)
    if outcome == ir.EXEMPT:
        for cond in rule.unless:
            if interp.condition(cond, ctx) is True:
                return "unless " + _said(cond, ctx, interp)
    undetermined = [c for c in rule.when if interp.condition(c, ctx) is None]
    if undetermined:
        return "when " + _said(undetermined[0], ctx, interp)
    if rule.window is not None:
        return _window(rule, ctx)
    verb = "require" if rule.kind == "require" else f"{rule.level} if"
    return f"{verb} " + _said(rule.effect, ctx, interp)
