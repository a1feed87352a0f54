"""When may we call? A week of callable hours, computed by the engine.

:func:`week_grid` asks the compiled policies for a decision at the middle of every slot (15
minutes by default) of one week in the callee's local time, so the picture can never disagree
with ``decide``. It is drawn as a text table (:func:`render_text`), an SVG (:func:`render_svg`)
or a self-contained HTML page (:func:`render_html`), each closed block naming the rules that
close it and each public holiday named.

Rules violated in *every* slot (say, a missing do-not-call scrub date) do not depend on the time;
they would paint the whole week closed and hide the hours, so they are listed apart as
"denied at every hour for this call".
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import phonenumbers

from ringfence.api import PolicySet, load, load_library
from ringfence.errors import CallError, RingfenceError
from ringfence.facts.callee import StandardFacts
from ringfence.resources import data_path
from ringfence.tools.calendar_render import render_html, render_png_page, render_svg, render_text
from ringfence.tools.holidays_cli import calendar_holiday

__all__ = ["Block", "Day", "WeekGrid", "calendar_command", "render_html", "render_svg",
           "render_text", "week_grid"]  # fmt: skip

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Block:
    """A run of slots with the same outcome: open, or closed by the same rules."""

    start: dt.time
    end: dt.time | None  # None: the end of the day (24:00)
    open: bool
    rules: tuple[str, ...]  # "policy/rule" ids closing it (empty when open)
    # For an open block: whether a call at the very instant of its start / end is allowed
    # (None at midnight, where the block runs on from or into the next day).
    start_included: bool | None = None
    end_included: bool | None = None

    @property
    def label(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


@dataclass(frozen=True)
class Day:
    """One day of the grid."""

    date: dt.date
    holiday: str | None  # the public holiday on this date, whether or not a policy closes on it
    slots: tuple[bool, ...]  # open?, one per slot from 00:00
    blocks: tuple[Block, ...]
    # Rules that close slots on this date but not on the same weekday a week before or after:
    # the policies close on this holiday, or on a closure date they list.
    closed_on_date: tuple[str, ...] = ()


@dataclass(frozen=True)
class WeekGrid:
    """Callable hours of one week for one kind of call, in the callee's local time."""

    zone: str
    zones: tuple[str, ...]
    region: str | None
    to: str
    purpose: str | None
    step_minutes: int
    days: tuple[Day, ...]
    always_denied: tuple[tuple[str, str], ...]  # ("policy/rule", reason) violated in every slot
    # "policy/rule" -> (title, citations) of every rule the grid names
    rules: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    def open_hours(self, day: int) -> list[str]:
        """The open blocks of a day (0 = the first day of the week), as "HH:MM-HH:MM"."""
        return [b.label for b in self.days[day].blocks if b.open]


# ---- computing the grid --------------------------------------------------------------------


def sample_number(region: str) -> str:
    """A valid number in a region: a NANP area code of the subdivision with a 555-01xx line
    (reserved for fiction), or libphonenumber's example number of the country."""
    if region[:2] in ("US", "CA") and "-" in region:
        with data_path("nanp_regions.csv").open(encoding="utf-8") as fh:
            rows = csv.reader(line for line in fh if not line.startswith("#"))
            for row in rows:
                if len(row) >= 2 and row[1] == region:
                    return f"+1{row[0]}5550100"
    example = phonenumbers.example_number(region[:2])
    if example is None:
        raise CallError("to_region", f"{region!r}: no example number for this country")
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def week_grid(policies: PolicySet, *, region: str | None = None, to: str | None = None,
              timezone: str | None = None, purpose: str | None = "marketing",
              week: dt.date | None = None, call: Mapping[str, Any] | None = None,
              step_minutes: int = 15) -> WeekGrid:  # fmt: skip
    """Decide a call at the middle of every slot of the week holding ``week`` (default: this
    week), Monday to Sunday, in the callee's local time.

    ``call`` gives any further facts (consent, history, ...); ``to`` defaults to a sample number
    of ``region``. Raises :class:`~ringfence.errors.CallError` when the call is not valid.

    Besides the slots, it finds the days the policies close *on that date* (a slot closed by a
    rule that leaves it open on the same weekday a week before and a week after: a public
    holiday or a company closure), and whether each open block's ends are included (the call
    decided at the very instant of the edge).
    """
    if 60 % step_minutes and step_minutes % 60:
        raise ValueError("step_minutes must divide an hour")
    base = dict(call or {})
    if purpose:
        base["purpose"] = purpose
    if region:
        base["to_region"] = region
    if timezone:
        base["to_timezone"] = timezone
    base["to"] = to or base.get("to") or sample_number(region or "")
    monday = (week or dt.date.today()) - dt.timedelta(days=(week or dt.date.today()).weekday())
    probe = policies.decide({**base, "at": f"{monday.isoformat()}T12:00:00Z"})
    zones = tuple(probe.timezones) or ((timezone,) if timezone else ())
    if not zones:
        raise CallError("to", "no time zone is known for this number; give --timezone")
    judge = _Judge(policies, base, ZoneInfo(zones[0]), step_minutes)
    week_days = [monday + dt.timedelta(days=offset) for offset in range(7)]
    violations = [judge.day(day) for day in week_days]
    always = frozenset.intersection(*(s for row in violations for s in row))
    facts = StandardFacts()
    country = probe.country
    days = []
    for day, row in zip(week_days, violations, strict=True):
        closing = [tuple(sorted(s - always)) for s in row]
        holiday = facts.holiday(country, probe.region, day, False) if country else None
        # a holiday of a calendar a policy defines (pa-legal's Flag Day), else "closure date"
        holiday = holiday or calendar_holiday(policies, day, probe.region)
        before, after = judge.day(day - dt.timedelta(days=7)), judge.day(day + dt.timedelta(days=7))
        dated = sorted(set().union(*(s - b - a - always
                                     for s, b, a in zip(row, before, after, strict=True))))
        blocks = tuple(judge.edges(day, b, always) for b in _blocks(closing, step_minutes))
        days.append(Day(day, holiday, tuple(not c for c in closing), blocks, tuple(dated)))
    used = {r for d in days for b in d.blocks for r in b.rules}
    rules = {f"{p.id}/{r.id}": (r.title, r.citations) for p in policies.policies for r in p.rules}
    return WeekGrid(zones[0], zones, probe.region, base["to"], purpose, step_minutes,
                    tuple(days), tuple((r, judge.reasons[r]) for r in sorted(always)),
                    {r: rules.get(r, (judge.reasons.get(r, ""), ())) for r in sorted(used | always)})


class _Judge:
    """Decides the grid's call at the slots of a day, and at the instants of block edges."""

    def __init__(self, policies: PolicySet, base: dict[str, Any], tz: ZoneInfo, step: int) -> None:
        self.policies, self.base, self.tz = policies, base, tz
        self.step = dt.timedelta(minutes=step)
        self.per_day = 24 * 60 // step
        self.reasons: dict[str, str] = {}

    def at(self, when: dt.datetime) -> frozenset[str]:
        """The rules (``policy/rule``) the call breaks at an instant."""
        decision = self.policies.decide({**self.base, "at": when.isoformat()})
        ids = set()
        for finding in decision.violations:
            rid = f"{finding.policy}/{finding.rule}"
            ids.add(rid)
            missing = ", ".join(finding.missing_facts)
            self.reasons.setdefault(rid, f"missing {missing}" if missing else finding.message)
        return frozenset(ids)

    def day(self, day: dt.date) -> list[frozenset[str]]:
        midnight = dt.datetime.combine(day, dt.time(), self.tz)
        return [self.at(midnight + slot * self.step + self.step / 2) for slot in range(self.per_day)]

    def edges(self, day: dt.date, block: Block, always: frozenset[str]) -> Block:
        """An open block with its ends judged at their exact instants (midnight ends: None)."""
        if not block.open:
            return block
        def included(edge: dt.time | None) -> bool | None:
            if edge is None or edge == dt.time():
                return None
            return not (self.at(dt.datetime.combine(day, edge, self.tz)) - always)
        return dataclasses.replace(block, start_included=included(block.start),
                                   end_included=included(block.end))


def _blocks(closing: list[tuple[str, ...]], step: int) -> tuple[Block, ...]:
    out: list[Block] = []
    start = 0
    for i in range(1, len(closing) + 1):
        if i == len(closing) or closing[i] != closing[start]:
            end = None if i == len(closing) else _clock(i * step)
            out.append(Block(_clock(start * step), end, not closing[start], closing[start]))
            start = i
    return tuple(out)


def _clock(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


# ---- the command -----------------------------------------------------------------------------


_FORMATS = ("text", "svg", "html", "png", "pdf")


@click.command("calendar")
@click.option("-p", "--policy", "policies", multiple=True, metavar="PATH_OR_ID",
              help="Policy file, folder or shipped id (repeatable); default: the whole library.")
@click.option("--region", "regions", multiple=True, help="ISO 3166-2 subdivision or country of the "
              "callee (US-FL, FR); repeat to draw regions side by side.")
@click.option("--to", help="The number called (default: a sample number of --region).")
@click.option("--timezone", help="IANA zone of the callee (default: from the number).")
@click.option("--purpose", default="marketing", show_default=True, help="Purpose of the calls.")
@click.option("--week", type=click.DateTime(["%Y-%m-%d"]), help="Any day of the week to show "
              "(default: this week).")
@click.option("--call", "call_file", type=click.File("r", encoding="utf-8"),
              help="A JSON call request with further facts (consent, history, ...).")
@click.option("--format", "fmt", type=click.Choice(_FORMATS),
              help="Output format (default: from the --output suffix, else text). PNG and PDF "
                   "are drawn by a headless Chromium.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of standard output (needed for png and pdf).")  # fmt: skip
def calendar_command(policies: tuple[str, ...], regions: tuple[str, ...], to: str | None,
                     timezone: str | None, purpose: str, week: dt.datetime | None,
                     call_file: Any, fmt: str | None, output: Path | None) -> None:  # fmt: skip
    """Show the callable hours of a week, in the callee's local time, ready to print.

    Every slot is judged by the policies themselves, so the picture agrees with `decide`. Each
    closed block is lettered with the rules that close it (titles and citations in the legend);
    only the holidays and closure dates the policies close on are marked; each end of an open
    block is shown included or excluded.
    Exit status: 0 on success, 2 for bad input.
    """
    if not regions and not to:
        raise click.UsageError("give --region or --to")
    if to and len(regions) > 1:
        raise click.UsageError("--to names one callee: give one --region with it")
    suffix = output.suffix.lstrip(".").lower() if output else ""
    fmt = fmt or (suffix if suffix in _FORMATS else "text")
    if fmt in ("png", "pdf") and not output:
        raise click.UsageError(f"{fmt} is written to a file: give --output")
    try:
        call = json.load(call_file) if call_file else None
        policy_set = load(*policies) if policies else load_library()
        grids = [week_grid(policy_set, region=region, to=to, timezone=timezone,
                           purpose=purpose or None, week=week.date() if week else None, call=call)
                 for region in (regions or (None,))]  # fmt: skip
        if fmt in ("png", "pdf"):
            assert output is not None
            _print(grids, fmt, output)
            return
    except (RingfenceError, json.JSONDecodeError) as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(2) from None
    text = {"text": render_text, "svg": render_svg, "html": render_html}[fmt](grids)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def _print(grids: list[WeekGrid], fmt: str, output: Path) -> None:
    from ringfence.tools.chromium import html_to_pdf, html_to_png

    if fmt == "pdf":
        html_to_pdf(render_html(grids), output)
    else:
        page, width, height = render_png_page(grids)
        html_to_png(page, output, width, height)
