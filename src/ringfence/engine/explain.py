"""Why a rule came out as it did, in words: the clause that decided and the values it saw.

Observers put what an atom looked at into words; they read the same facts the runtime does and
never decide anything themselves (the interpreter's answer is quoted). An atom without an
observer is explained by its text and answer alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from ringfence.engine import ir
from ringfence.engine.interp import Interpreter
from ringfence.engine.runtime import (
    Ctx,
    HistoryFilter,
    closed_reason,
    count_matching,
    count_spec,
    field_arg,
    latest_event,
    listing,
    window_open,
    window_zones,
)
from ringfence.language import nodes, unparse

_UTC = dt.UTC
Observer = Callable[[Any, Ctx, Interpreter], str]  # the node, of the type registered
OBSERVERS: dict[type, Observer] = {}


def observes(node_type: type) -> Callable[[Observer], Observer]:
    """Register the words for what an atom of ``node_type`` looked at."""
    def register(fn: Observer) -> Observer:
        OBSERVERS[node_type] = fn
        return fn

    return register


def when(ts: object) -> str:
    """An instant (POSIX seconds) as RFC 3339, or "none"."""
    if ts is None:
        return "none"
    return dt.datetime.fromtimestamp(ts, _UTC).isoformat().replace("+00:00", "Z")  # type: ignore[arg-type]


def _field(node: nodes.Is | nodes.Presence | nodes.Compare | nodes.FieldAge, ctx: Ctx,
           interp: Interpreter) -> object:
    return interp.argument(field_arg(node.field), ctx)


@observes(nodes.Is)
@observes(nodes.Presence)
def _field_value(node: nodes.Is, ctx: Ctx, interp: Interpreter) -> str:
    return f"{node.field.name} = {_field(node, ctx, interp)!r}"


@observes(nodes.Compare)
def _compared(node: nodes.Compare, ctx: Ctx, interp: Interpreter) -> str:
    value = _field(node, ctx, interp)
    return f"{node.field.name} = {'missing' if value is None else ctx.date_of(value)}"  # type: ignore[arg-type]


@observes(nodes.FieldAge)
def _field_instant(node: nodes.FieldAge, ctx: Ctx, interp: Interpreter) -> str:
    return f"{node.field.name} = {when(_field(node, ctx, interp))}"


@observes(nodes.OnList)
def _on_list(node: nodes.OnList, ctx: Ctx, interp: Interpreter) -> str:
    found, listed_at = listing(ctx, node.name)
    if not found:
        return f"not on list {node.name}"
    return f"on list {node.name} (listed {when(listed_at) if listed_at else 'at an unknown date'})"


@observes(nodes.ListChecked)
def _list_checked(node: nodes.ListChecked, ctx: Ctx, interp: Interpreter) -> str:
    return f"lists_checked_at.{node.name} = {when(ctx.call.lists_checked_at.get(node.name))}"


@observes(nodes.Consent)
def _consent(node: nodes.Consent, ctx: Ctx, interp: Interpreter) -> str:
    records = [f"{r.type} for {sorted(r.purposes)} at {when(r.at)}"
               + (f", expires {when(r.expires_at)}" if r.expires_at else "")
               + (f", revoked {when(r.revoked_at)}" if r.revoked_at else "")
               for r in ctx.call.consent]
    return "consent records: " + ("; ".join(records) if records else "none")


@observes(nodes.OptedOut)
def _opted_out(node: nodes.OptedOut, ctx: Ctx, interp: Interpreter) -> str:
    outs = [f"{when(o.at)} ({'all purposes' if o.purposes is None else sorted(o.purposes)})"
            for o in ctx.call.opt_outs]
    return "opt-outs: " + ("; ".join(outs) if outs else "none")


@observes(nodes.LastEvent)
def _last_event(node: nodes.LastEvent, ctx: Ctx, interp: Interpreter) -> str:
    _known, latest = latest_event(ctx, node.event, HistoryFilter.of(node.filters))
    return f"last {node.event}: {when(latest)}"


@observes(nodes.CountAttempts)
def _count(node: nodes.CountAttempts, ctx: Ctx, interp: Interpreter) -> str:
    spec = count_spec(node)
    found = count_matching(ctx, spec, spec.filters.predicate(ctx))
    return f"{found} matching attempts in the last {node.window}"


def _observations(cond: ir.Cond, ctx: Ctx, interp: Interpreter) -> Iterator[str]:
    if isinstance(cond, ir.Atom):
        observer = OBSERVERS.get(type(cond.node))
        if observer is not None:
            yield observer(cond.node, ctx, interp)
    elif isinstance(cond, ir.Negation):
        yield from _observations(cond.part, ctx, interp)
    else:
        for part in cond.parts:
            yield from _observations(part, ctx, interp)


def _said(cond: ir.Cond, ctx: Ctx, interp: Interpreter) -> str:
    value = interp.condition(cond, ctx)
    verdict = {True: "true", False: "false", None: "unknown"}[value]
    seen = "; ".join(dict.fromkeys(_observations(cond, ctx, interp)))
    assert not isinstance(cond.node, nodes.Window)
    return f"{unparse.condition(cond.node)} is {verdict}" + (f" ({seen})" if seen else "")


def _window(rule: ir.Rule, ctx: Ctx) -> str:
    window = rule.window
    assert window is not None
    inside = {True: "inside", False: "outside", None: "cannot be placed in"}[
        window_open(ctx, window, ctx.missing)]
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
    """In words, which clause decided the rule's outcome and the values it saw."""
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
