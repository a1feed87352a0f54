"""Render syntax-tree pieces back to canonical policy text (used by explain and the formatter)."""

from __future__ import annotations

from ringfence.language import nodes

_DAY_RUNS = {(0, 1, 2, 3, 4, 5, 6): "every day", (0, 1, 2, 3, 4): "weekdays", (5, 6): "weekends"}


def value(v: nodes.Value) -> str:
    if v.kind == "string":
        return '"' + v.raw.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return v.raw


def string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _filters(filters: tuple[nodes.Filter, ...]) -> str:
    out = []
    for f in filters:
        if isinstance(f, nodes.Same):
            out.append(f" with same {f.what}")
        else:
            out.append(" with outcome " + ", ".join(value(v) for v in f.values))
    return "".join(out)


def _purpose(purpose: str | None) -> str:
    return "this purpose" if purpose is None else purpose


def condition(node: nodes.Condition, parent: type | None = None) -> str:
    """Canonical text of a condition; parentheses only where precedence needs them."""
    match node:
        case nodes.Or(items=items):
            text = " or ".join(condition(i, nodes.Or) for i in items)
            return f"({text})" if parent in (nodes.And, nodes.Not) else text
        case nodes.And(items=items):
            text = " and ".join(condition(i, nodes.And) for i in items)
            return f"({text})" if parent is nodes.Not else text
        case nodes.Not(item=item):
            return f"not {condition(item, nodes.Not)}"
        case nodes.Is(field=f, values=values, negated=negated, one_of=one_of):
            verb = "is not" if negated else "is"
            if one_of:
                return f"{f.name} {verb} one of " + ", ".join(value(v) for v in values)
            return f"{f.name} {verb} {value(values[0])}"
        case nodes.Presence(field=f, present=present):
            return f"{f.name} is {'present' if present else 'missing'}"
        case nodes.Compare(field=f, op=op, value=v):
            return f"{f.name} {op} {value(v)}"
        case nodes.FieldAge(field=f, age=a):
            return f"{f.name} {a}"
        case nodes.OnList(name=name, listed=listed):
            return f"callee on list {name}" + (f" listed {listed}" if listed else "")
        case nodes.ListChecked(name=name, age=a):
            return f"list {name} checked {a}"
        case nodes.Consent(kind=kind, purpose=purpose):
            return "consent " + (f"{kind} " if kind else "") + f"for {_purpose(purpose)}"
        case nodes.OptedOut(any_purpose=any_purpose, purpose=purpose, age=a):
            text = "opted out" + ("" if any_purpose else f" for {_purpose(purpose)}")
            return text + (f" {a}" if a else "")
        case nodes.LastEvent(event=event, filters=filters, age=None):
            return f"any {event}{_filters(filters)}"
        case nodes.LastEvent(event=event, filters=filters, age=a):
            return f"last {event}{_filters(filters)} {a}"
        case nodes.CountAttempts(filters=filters, window=w, op=op, number=n):
            return f"count of attempts{_filters(filters)} in last {w} {op} {n}"
    raise TypeError(f"not a condition: {node!r}")


def interval(i: nodes.Interval) -> str:
    return f"{i.start.raw} to {i.end.raw} {'inclusive' if i.end_inclusive else 'exclusive'}"


def day_hours(line: nodes.DayHours) -> str:
    days = _DAY_RUNS.get(line.days) or line.days_text
    return f"{days} " + ", ".join(interval(i) for i in line.intervals)


def closed(c: nodes.Closed) -> str:
    if c.kind == "day":
        return nodes.WEEKDAYS[c.day or 0]
    if c.kind == "date":
        return c.date or ""
    return "public holidays" if c.kind == "public_holidays" else "national public holidays"


def window_lines(w: nodes.Window) -> list[str]:
    """The lines of a window, one per part (hours lines, then closed days, then the clock)."""
    lines = [day_hours(d) for d in w.day_hours]
    if w.closed:
        lines.append("closed on " + ", ".join(closed(c) for c in w.closed))
    if w.zone:
        lines.append(f"in time zone {string(w.zone)}")
    return lines
