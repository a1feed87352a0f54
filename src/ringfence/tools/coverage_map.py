"""What each policy covers, read from the policies as lowered, and what they leave out.

:func:`coverage` looks at every rule's window and atoms (:attr:`ringfence.api.PolicySet.compiled`),
never at a table kept by hand, and sorts them into the aspects of calling law a reader asks
about (:data:`ASPECTS`). What a policy leaves out, and why, is read from its ``note`` lines that
say so (in the policy's own language). :func:`render_text` and :func:`render_markdown` print it;
:func:`us_tile_map` draws the US states (and territories) covered as an SVG tile grid.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ringfence.api import PolicySet
from ringfence.engine import ir
from ringfence.engine.runtime import WindowSpec
from ringfence.language import nodes

__all__ = ["ASPECTS", "PolicyCoverage", "coverage", "render_markdown", "render_text",
           "rule_aspects", "us_tile_map"]

#: The aspects, in table order, and what puts a rule in each.
ASPECTS: dict[str, str] = {
    "hours": "a calling window shorter than the whole day",
    "days": "a calling window that closes whole weekdays",
    "holidays": "a window closed on holidays (a policy calendar, the public holidays, listed "
                "dates) or 'today is a holiday in'",
    "lists": "do-not-call lists and requests: callee on list, list checked, opted out",
    "caps": "how often and how soon: count of attempts, last attempt, conversation or refusal",
    "consent": "a consent condition",
    "caller ID": "a condition on the calling number (from)",
    "recording": "a condition on prerecorded or artificial-voice calls",
}
_WHOLE_DAY = ((0, None),)  # 00:00 to the end of the day
_RECORDED = {"prerecorded", "artificial_voice"}
_HISTORY_EVENTS = {"attempt", "conversation", "refusal"}
# Notes that say what is left out: English and the languages of the shipped policies.
_LEFT_OUT = re.compile(r"not encoded|left out|unverified|not verified|not in the fact base|"
                       r"nicht abgebildet|non codé|non codificat|niet gecodeerd|no se codifica",
                       re.IGNORECASE)


@dataclass(frozen=True)
class PolicyCoverage:
    """One policy: the rules that cover each aspect (in force, and pending apart)."""

    policy: str
    title: str
    jurisdictions: tuple[str, ...]
    covers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pending: dict[str, tuple[str, ...]] = field(default_factory=dict)
    left_out: tuple[str, ...] = ()

    def mark(self, aspect: str) -> str:
        """``yes``, ``pending`` (only pending rules cover it) or ``""``."""
        if self.covers.get(aspect):
            return "yes"
        return "pending" if self.pending.get(aspect) else ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"policy": self.policy, "title": self.title,
                "jurisdictions": list(self.jurisdictions),
                "covers": {a: list(self.covers.get(a, ())) for a in ASPECTS},
                "pending": {a: list(r) for a, r in self.pending.items() if r},
                "left_out": list(self.left_out)}  # fmt: skip


def coverage(policies: PolicySet) -> list[PolicyCoverage]:
    """What each policy of the set covers, in the set's order."""
    out = []
    for policy in policies.compiled:
        covers: dict[str, list[str]] = {}
        pending: dict[str, list[str]] = {}
        for rule, rule_info in zip(policy.rules, policy.info.rules, strict=True):
            into = pending if rule_info.pending else covers
            for aspect in rule_aspects(rule):
                into.setdefault(aspect, []).append(rule.id)
        info = policy.info
        out.append(PolicyCoverage(
            info.id, info.title, info.jurisdictions,
            {a: tuple(covers[a]) for a in ASPECTS if a in covers},
            {a: tuple(pending[a]) for a in ASPECTS if a in pending},
            tuple(n for n in info.notes if _LEFT_OUT.search(n))))
    return out


def rule_aspects(rule: ir.Rule) -> set[str]:
    """The aspects one lowered rule covers: from its window and the atoms of its conditions."""
    found = _window_aspects(rule.window) if rule.window is not None else set()
    for cond in rule.conditions():
        for atom in ir.atoms(cond):
            aspect = _atom_aspect(atom.node)
            if aspect:
                found.add(aspect)
    return found


def _window_aspects(window: WindowSpec) -> set[str]:
    found = set()
    days = window.hours
    if any(day and tuple((i[0].hour * 3600 + i[0].minute * 60 + i[0].second, i[1])
                         for i in day) != _WHOLE_DAY for day in days):
        found.add("hours")
    if window.closed_days or any(not day for day in days):
        found.add("days")
    if window.calendars or window.closed_dates or window.public_holidays \
            or window.national_holidays:
        found.add("holidays")
    return found


def _atom_aspect(node: object) -> str | None:
    match node:
        case nodes.OnList() | nodes.OnListAtWash() | nodes.ListChecked() | nodes.OptedOut():
            return "lists"
        case nodes.CountAttempts():
            return "caps"
        case nodes.LastEvent() if node.event in _HISTORY_EVENTS:
            return "caps"
        case nodes.Consent():
            return "consent"
        case nodes.HolidayToday():
            return "holidays"
        case nodes.Is() | nodes.Presence() if node.field.name == "from":
            return "caller ID"
        case nodes.Is() if node.field.name == "technology" \
                and _RECORDED & {v.raw for v in node.values}:
            return "recording"
    return None


# ---- rendering -------------------------------------------------------------------------------


def _rows(found: Iterable[PolicyCoverage]) -> list[tuple[str, PolicyCoverage]]:
    """(jurisdiction, policy) rows, by jurisdiction: a policy appears under each place it names."""
    rows = [(place, p) for p in found for place in p.jurisdictions]
    return sorted(rows, key=lambda r: (r[0] == "any", r[0], r[1].policy))


def render_text(found: list[PolicyCoverage]) -> str:
    """The coverage table (one row per jurisdiction and policy), then what each leaves out."""
    width = max([len(p.policy) for p in found] + [6])
    head = f"{'where':<6} {'policy':<{width}}  " + "  ".join(f"{a:<9}" for a in ASPECTS)
    lines = [head.rstrip(), "-" * len(head.rstrip())]
    for place, p in _rows(found):
        cells = "  ".join(f"{p.mark(a):<9}" for a in ASPECTS)
        lines.append(f"{place:<6} {p.policy:<{width}}  {cells}".rstrip())
    lines += ["", "yes: a rule in force covers it; pending: only a pending rule does.", ""]
    lines.append("Left out, and why (the policies' notes):")
    for p in found:
        pending = sorted({r for rules in p.pending.values() for r in rules})
        if not p.left_out and not pending:
            continue
        lines.append(f"  {p.policy}")
        lines += [f"    - pending rule {r} (warns only; not law in force)" for r in pending]
        lines += [f"    - {note}" for note in p.left_out]
    return "\n".join(lines) + "\n"


def render_markdown(found: list[PolicyCoverage]) -> str:
    """The coverage table and the left-out notes as Markdown (for the docs page)."""
    marks = {"yes": "✓", "pending": "pending", "": ""}
    out = ["| where | policy | " + " | ".join(ASPECTS) + " |",
           "|---|---|" + "---|" * len(ASPECTS)]
    for place, p in _rows(found):
        cells = " | ".join(marks[p.mark(a)] for a in ASPECTS)
        out.append(f"| {place} | [{p.policy}](library/{p.policy}.md) | {cells} |")
    out += ["", "## Left out, and why", ""]
    for p in found:
        pending = sorted({r for rules in p.pending.values() for r in rules})
        if not p.left_out and not pending:
            continue
        out += [f"### {p.policy}", ""]
        out += [f"- pending rule `{r}`: warns only, not law in force" for r in pending]
        out += [f"- {_md(note)}" for note in p.left_out]
        out.append("")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("*", "\\*")


# The usual US tile grid (row, column): every state, DC, and the territories on a last row.
_TILES = {
    "AK": (0, 0), "ME": (0, 11), "VT": (1, 10), "NH": (1, 11),
    "WA": (2, 1), "ID": (2, 2), "MT": (2, 3), "ND": (2, 4), "MN": (2, 5), "IL": (2, 6),
    "WI": (2, 7), "MI": (2, 8), "NY": (2, 9), "RI": (2, 10), "MA": (2, 11),
    "OR": (3, 1), "NV": (3, 2), "WY": (3, 3), "SD": (3, 4), "IA": (3, 5), "IN": (3, 6),
    "OH": (3, 7), "PA": (3, 8), "NJ": (3, 9), "CT": (3, 10),
    "CA": (4, 1), "UT": (4, 2), "CO": (4, 3), "NE": (4, 4), "MO": (4, 5), "KY": (4, 6),
    "WV": (4, 7), "VA": (4, 8), "MD": (4, 9), "DE": (4, 10),
    "AZ": (5, 2), "NM": (5, 3), "KS": (5, 4), "AR": (5, 5), "TN": (5, 6), "NC": (5, 7),
    "SC": (5, 8), "DC": (5, 9),
    "OK": (6, 4), "LA": (6, 5), "MS": (6, 6), "AL": (6, 7), "GA": (6, 8),
    "HI": (7, 0), "TX": (7, 4), "FL": (7, 9),
    "PR": (8, 7), "VI": (8, 8), "GU": (8, 9), "MP": (8, 10), "AS": (8, 11),
}
# US territories: ISO 3166-1 codes of their own (a policy names them, not US-XX).
_TERRITORIES = {"PR", "VI", "GU", "MP", "AS"}
_OWN, _FEDERAL, _NONE = "#3949ab", "#c5cae9", "#eeeeee"
_TILE, _GAP = 40, 4


def us_tile_map(found: list[PolicyCoverage]) -> str:
    """An SVG tile map of the US: dark where a policy of the state's own applies, light where
    only federal policies (``applies to US``) do, grey where none; each tile's tooltip and the
    legend list the policies."""
    federal = [p.policy for p in found if "US" in p.jurisdictions]
    own: dict[str, list[str]] = {}
    for p in found:
        for place in p.jurisdictions:
            if place.startswith("US-"):
                own.setdefault(place[3:], []).append(p.policy)
            elif place in _TERRITORIES and "US" not in p.jurisdictions:
                own.setdefault(place, []).append(p.policy)
    size = _TILE + _GAP
    width, height = 12 * size + _GAP, 9 * size + _GAP + 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" '
             'aria-label="US states and territories covered by the policy library" '
             'font-family="sans-serif">']
    for code, (row, col) in _TILES.items():
        state = own.get(code, [])
        # a territory is covered by the federal policies that name it, a state by all of them
        national = [p.policy for p in found if code in p.jurisdictions and "US" in p.jurisdictions] \
            if code in _TERRITORIES else federal
        applying = state + national
        fill = _OWN if state else (_FEDERAL if applying else _NONE)
        ink = "#ffffff" if state else "#1a1a1a"
        x, y = _GAP + col * size, _GAP + row * size
        tip = f"{code}: {', '.join(applying) if applying else 'no policy'}"
        parts.append(f'<g><title>{html.escape(tip)}</title>'
                     f'<rect x="{x}" y="{y}" width="{_TILE}" height="{_TILE}" rx="4" '
                     f'fill="{fill}" stroke="#5c6bc0" stroke-width="0.5"/>'
                     f'<text x="{x + _TILE / 2}" y="{y + _TILE / 2 + 5}" text-anchor="middle" '
                     f'font-size="13" fill="{ink}">{code}</text></g>')
    legend_y = 9 * size + _GAP + 10
    for i, (fill, label) in enumerate(((_OWN, "a policy of its own"),
                                       (_FEDERAL, "federal policies only"),
                                       (_NONE, "no policy"))):
        x = _GAP + i * 180
        parts.append(f'<rect x="{x}" y="{legend_y}" width="16" height="16" rx="3" '
                     f'fill="{fill}" stroke="#5c6bc0" stroke-width="0.5"/>'
                     f'<text x="{x + 22}" y="{legend_y + 13}" font-size="13">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
