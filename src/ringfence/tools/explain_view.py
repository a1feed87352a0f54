"""An :class:`~ringfence.engine.explain.Explanation` rendered for its reader: plain text for the
terminal (``ringfence explain``) and a self-contained HTML page (``--html``) for a file or a
printout.

Both say the same things in the same order: the verdict, where the callee is, when the call
may be made (or which rule makes waiting useless, and why), then each applicable policy's rules
with title, citation, message and the facts looked at. Rules and policies that do not apply
are summarised one line per policy unless every one is asked for.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from ringfence.contract.decision import rfc3339
from ringfence.engine import ir
from ringfence.engine.explain import Explanation, PolicyReason, RuleReason, clock_words
from ringfence.engine.runtime import plain_date
from ringfence.engine.schedule import SEARCH_DAYS

__all__ = ["next_allowed_words", "render_html", "render_text"]

_HEADS = {ir.VIOLATED: "violated", ir.PASSED: "passed", ir.EXEMPT: "exempt",
          ir.NOT_APPLICABLE: "does not apply", ir.NOT_IN_FORCE: "not in force"}  # fmt: skip
_MARKS = {ir.VIOLATED: "✗", ir.PASSED: "✓", ir.EXEMPT: "~", ir.NOT_APPLICABLE: "-",
          ir.NOT_IN_FORCE: "-"}  # fmt: skip
_ASIDE = (ir.NOT_APPLICABLE, ir.NOT_IN_FORCE)


def _cited(reason: RuleReason) -> str:
    return "; ".join(reason.citations)


def _head(reason: RuleReason) -> str:
    """``violated (warning)``, ``passed``…"""
    head = _HEADS[reason.outcome]
    return f"{head} (warning)" if reason.level == "warn" and reason.outcome == ir.VIOLATED else head


def next_allowed_words(explanation: Explanation) -> str | None:
    """When the call may be made, in words; None when it is allowed as it is."""
    decision = explanation.decision
    if decision.allowed:
        return None
    when = decision.next_allowed_at  # the engine's answer: the words only say why there is none
    if when is None:
        blocking = [f"{r.title} ({_cited(r)}) forbids this call whatever the time, because "
                    + "; ".join(r.facts or (r.clause,)) for r in explanation.waiting]
        blocking.extend(f"whether {p.id} applies cannot be told whatever the time, because "
                        f"{p.why}" for p in explanation.policies if p.applies is None)
        if blocking:
            return "not by waiting: " + "; and ".join(blocking)
        denying = "; ".join(f"{r.title} ({_cited(r)})" for r in explanation.violated
                            if r.level == "deny")
        return f"not within the next {SEARCH_DAYS} days of waiting (denied by: {denying})"
    if not decision.timezones:
        return str(rfc3339(when))
    zone = decision.timezones[0]
    local = when.astimezone(ZoneInfo(zone))
    return f"{rfc3339(when)} ({plain_date(local.date())} at {clock_words(local.time())}, {zone})"


def _aside_groups(rules: Iterator[RuleReason]) -> list[tuple[str, list[str], str]]:
    """Rules that do not apply, grouped by what showed it: (heading, rule ids, why)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for reason in rules:
        why = "; ".join(reason.facts) or reason.clause
        groups.setdefault((_HEADS[reason.outcome], why), []).append(reason.rule)
    return [(head, ids, why) for (head, why), ids in groups.items()]


def _summary_of_elsewhere(explanation: Explanation) -> tuple[list[str], str]:
    ids = [p.id for p in explanation.policies if p.applies is False and p.elsewhere]
    return ids, f"the callee is in {explanation.place}; they cover other places"


# ---- text ------------------------------------------------------------------------------------


def _text_rule(reason: RuleReason) -> Iterator[str]:
    yield f"  {_MARKS[reason.outcome]} {_head(reason)}: {reason.title} [{_cited(reason)}]"
    if reason.message != reason.title:
        yield f"      {reason.message}"
    for fact in reason.facts:
        yield f"      · {fact}"
    yield f"      rule {reason.rule}: {reason.clause}"


def _text_policy(policy: PolicyReason, every: bool) -> Iterator[str]:
    yield ""
    yield f"policy {policy.id} {policy.version or ''}: {policy.title}".replace("  ", " ")
    if policy.applies is None:
        yield f"  ✗ cannot tell whether it applies: {policy.why}"
        return
    for reason in policy.rules:
        if every or reason.outcome not in _ASIDE:
            yield from _text_rule(reason)
    if not every:
        aside = _aside_groups(r for r in policy.rules if r.outcome in _ASIDE)
        if aside:
            yield "  - " + "; ".join(f"{head}: {', '.join(ids)} ({why})" for head, ids, why in aside)


def render_text(explanation: Explanation, *, every: bool = False) -> str:
    """The explanation as terminal text (see the module's docstring)."""
    decision = explanation.decision
    lines = [f"decision: {decision.decision.upper()}  (call at {rfc3339(decision.at)})",
             f"callee: {explanation.callee}"]
    nxt = next_allowed_words(explanation)
    if nxt is not None:
        lines.append(f"next allowed: {nxt}")
    for policy in explanation.policies:
        if policy.applies is not False:
            lines.extend(_text_policy(policy, every))
    others = [p for p in explanation.policies if p.applies is False]
    if others:
        lines.append("")
    if every:
        lines.extend(f"policy {p.id} {p.version or ''}: does not apply ({p.why})".replace("  ", " ")
                     for p in others)
    else:
        ids, why = _summary_of_elsewhere(explanation)
        if ids:
            lines.append(f"does not apply: {', '.join(ids)} ({why})")
        lines.extend(f"does not apply: {p.id} ({p.why})" for p in others if not p.elsewhere)
    return "\n".join(lines) + "\n"


# ---- HTML ------------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 Georgia,'Times New Roman',serif;color:#111;margin:2em auto;max-width:54em;
padding:0 1.5em}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .4em;
border-bottom:1px solid #999;padding-bottom:.15em}
.verdict{border:2px solid;padding:.6em 1em;margin:1em 0}
.verdict.deny{border-color:#8b1a1a}.verdict.allow{border-color:#1f5f2a}
.verdict strong{font-size:1.3em;letter-spacing:.05em}
dl{margin:.3em 0}dt{font-weight:bold;float:left;clear:left;width:9em}dd{margin:0 0 .2em 9.5em}
.rule{border-left:4px solid #bbb;padding:.2em .8em;margin:.7em 0;page-break-inside:avoid}
.rule.violated{border-color:#8b1a1a}.rule.passed{border-color:#1f5f2a}
.rule.exempt{border-color:#6b5b00}.rule h3{font-size:1em;margin:0}
.outcome{font-variant:small-caps;font-weight:normal;margin-right:.4em}
.cite{font-style:italic}.message{margin:.2em 0}
ul{margin:.2em 0 .2em 1.2em;padding:0}.clause{font:12px/1.3 monospace;color:#444}
.aside{color:#333;font-size:.93em}
@media print{body{margin:0;max-width:none}}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _html_rule(reason: RuleReason) -> str:
    facts = "".join(f"<li>{_e(f)}</li>" for f in reason.facts)
    message = (f'<p class="message">{_e(reason.message)}</p>'
               if reason.message != reason.title else "")
    return (f'<section class="rule {reason.outcome}"><h3><span class="outcome">'
            f'{_e(_head(reason))}</span>{_e(reason.title)} <span class="cite">'
            f'({_e(_cited(reason))})</span></h3>{message}'
            f'{f"<ul>{facts}</ul>" if facts else ""}'
            f'<p class="clause">rule {_e(reason.rule)} of {_e(reason.policy)}: '
            f'{_e(reason.clause)}</p></section>')


def _html_policy(policy: PolicyReason) -> str:
    parts = [f"<h2>{_e(policy.title)} <small>({_e(policy.id)} {_e(policy.version or '')})"
             f"</small></h2>"]
    if policy.applies is None:
        parts.append(f'<section class="rule violated"><h3><span class="outcome">violated</span>'
                     f"cannot tell whether it applies</h3><ul><li>{_e(policy.why)}</li></ul>"
                     f"</section>")
    parts.extend(_html_rule(r) for r in policy.rules if r.outcome not in _ASIDE)
    aside = _aside_groups(r for r in policy.rules if r.outcome in _ASIDE)
    if aside:
        parts.append('<p class="aside">' + "; ".join(
            f"{_e(head)}: {_e(', '.join(ids))} ({_e(why)})" for head, ids, why in aside) + "</p>")
    return "".join(parts)


def render_html(explanation: Explanation) -> str:
    """The explanation as one self-contained page (inline style, no script, no external asset)."""
    decision = explanation.decision
    nxt = next_allowed_words(explanation)
    facts = [("Call at", rfc3339(decision.at)), ("Callee", explanation.callee)]
    for level, heading in (("deny", "Rules broken"), ("warn", "Warnings")):
        broken = [f"{r.title} ({_cited(r)})" for r in explanation.violated if r.level == level]
        if broken:
            facts.append((heading, "; ".join(broken)))
    if nxt is not None:
        facts.append(("Next allowed", nxt))
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    body = [f"<h1>Why this call is {'allowed' if decision.allowed else 'denied'}</h1>",
            f'<div class="verdict {decision.decision}"><strong>{decision.decision.upper()}'
            f"</strong><dl>{rows}</dl></div>"]
    body.extend(_html_policy(p) for p in explanation.policies if p.applies is not False)
    others = [p for p in explanation.policies if p.applies is False]
    if others:
        body.append("<h2>Policies that do not apply</h2><ul class=\"aside\">")
        ids, why = _summary_of_elsewhere(explanation)
        if ids:
            body.append(f"<li>{_e(', '.join(ids))} ({_e(why)})</li>")
        body.extend(f"<li>{_e(p.id)} ({_e(p.why)})</li>" for p in others if not p.elsewhere)
        body.append("</ul>")
    title = f"Ringfence: {decision.decision} at {rfc3339(decision.at)}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}'
            f'</title><style>{_STYLE}</style></head><body>{"".join(body)}</body></html>\n')
