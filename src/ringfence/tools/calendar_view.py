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
import datetime as dt
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import phonenumbers

from ringfence.api import PolicySet, load, load_library
from ringfence.errors import CallError, RingfenceError
from ringfence.facts.callee import StandardFacts
from ringfence.resources import data_path

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

    @property
    def label(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


@dataclass(frozen=True)
class Day:
    date: dt.date
    holiday: str | None
    slots: tuple[bool, ...]  # open?, one per slot from 00:00
    blocks: tuple[Block, ...]


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
    tz = ZoneInfo(zones[0])
    per_day = 24 * 60 // step_minutes
    half = dt.timedelta(minutes=step_minutes) / 2
    violations: list[list[frozenset[str]]] = []
    reasons: dict[str, str] = {}
    for offset in range(7):
        day = monday + dt.timedelta(days=offset)
        row = []
        for slot in range(per_day):
            local = dt.datetime.combine(day, dt.time(), tz) + slot * 2 * half + half
            decision = policies.decide({**base, "at": local.isoformat()})
            ids = set()
            for finding in decision.violations:
                rid = f"{finding.policy}/{finding.rule}"
                ids.add(rid)
                missing = ", ".join(finding.missing_facts)
                reasons.setdefault(rid, f"missing {missing}" if missing else finding.message)
            row.append(frozenset(ids))
        violations.append(row)
    always = frozenset.intersection(*(s for row in violations for s in row))
    facts = StandardFacts()
    country = probe.country
    days = []
    for offset, row in enumerate(violations):
        day = monday + dt.timedelta(days=offset)
        closing = [tuple(sorted(s - always)) for s in row]
        holiday = facts.holiday(country, probe.region, day, False) if country else None
        days.append(Day(day, holiday, tuple(not c for c in closing),
                        _blocks(closing, step_minutes)))  # fmt: skip
    return WeekGrid(zones[0], zones, probe.region, base["to"], purpose, step_minutes,
                    tuple(days), tuple((r, reasons[r]) for r in sorted(always)))  # fmt: skip


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


# ---- drawing ---------------------------------------------------------------------------------


def _title(grid: WeekGrid) -> str:
    where = grid.region or grid.to
    what = f"{grid.purpose} calls" if grid.purpose else "calls"
    return f"When {what} may be placed: {where}, week of {grid.days[0].date} ({grid.zone})"


def render_text(grid: WeekGrid) -> str:
    """A terminal table: one row per day, one character per slot (``#`` open, ``.`` closed)."""
    per_hour = 60 // grid.step_minutes
    ruler = "".join(f"{h:02d}".ljust(2 * per_hour) for h in range(0, 24, 2))
    lines = [_title(grid), "", f"{'':15}{ruler}"]
    for day in grid.days:
        cells = "".join("#" if s else "." for s in day.slots)
        label = f"{_DAY_NAMES[day.date.weekday()]} {day.date.strftime('%m-%d')}"
        lines.append(f"{label:<15}{cells}{'  holiday: ' + day.holiday if day.holiday else ''}")
    lines += ["", f"# open  . closed   (one character = {grid.step_minutes} minutes)", ""]
    for day in grid.days:
        closed = [f"{b.label} by {', '.join(b.rules)}" for b in day.blocks if not b.open]
        opened = ", ".join(b.label for b in day.blocks if b.open) or "none"
        lines.append(f"{_DAY_NAMES[day.date.weekday()]} {day.date}: open {opened}")
        lines += [f"    closed {c}" for c in closed]
    lines += _always_lines(grid)
    return "\n".join(lines) + "\n"


def _always_lines(grid: WeekGrid) -> list[str]:
    if not grid.always_denied:
        return []
    out = ["", "Denied at every hour for this call (not shown in the grid):"]
    return out + [f"    {rule}: {reason}" for rule, reason in grid.always_denied]


_CELL, _LABEL, _TOP, _ROW = 8, 150, 58, 26
_OPEN, _CLOSED, _HOLIDAY = "#2e7d32", "#e0e0e0", "#c62828"


def render_svg(grid: WeekGrid) -> str:
    """The week as an SVG image; hovering a block shows the rules that close it."""
    per_hour = 60 // grid.step_minutes
    width = _LABEL + 24 * per_hour * _CELL + 20
    height = _TOP + 7 * _ROW + 40
    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{esc(_title(grid))}</title>",
        f'<text x="0" y="16" font-size="14" font-weight="bold">{esc(_title(grid))}</text>',
    ]
    for hour in range(25):
        x = _LABEL + hour * per_hour * _CELL
        out.append(f'<line x1="{x}" y1="{_TOP - 6}" x2="{x}" y2="{_TOP + 7 * _ROW}" '
                   'stroke="#9e9e9e" stroke-width="0.5"/>')  # fmt: skip
        if hour < 24:
            out.append(f'<text x="{x + 2}" y="{_TOP - 10}">{hour:02d}</text>')
    for row, day in enumerate(grid.days):
        y = _TOP + row * _ROW
        color = _HOLIDAY if day.holiday else "#000"
        label = f"{_DAY_NAMES[day.date.weekday()]} {day.date.isoformat()}"
        out.append(f'<text x="0" y="{y + 17}" fill="{color}">{esc(label)}'
                   f"{' ★' if day.holiday else ''}</text>")  # fmt: skip
        if day.holiday:
            out.append(f"<title>{esc(day.holiday)}</title>")
        for block in day.blocks:
            end = _minutes(block.end) if block.end else 24 * 60
            x0 = _LABEL + _minutes(block.start) // grid.step_minutes * _CELL
            x1 = _LABEL + end // grid.step_minutes * _CELL
            closed_by = "closed by " + ", ".join(block.rules)
            tip = f"{block.label} {'open' if block.open else closed_by}"
            out.append(
                f'<rect x="{x0}" y="{y + 3}" width="{x1 - x0}" height="{_ROW - 6}" '
                f'fill="{_OPEN if block.open else _CLOSED}" '
                f'class="{"open" if block.open else "closed"}"><title>{esc(tip)}</title></rect>'
            )
    legend_y = _TOP + 7 * _ROW + 24
    out += [
        f'<rect x="0" y="{legend_y - 11}" width="12" height="12" fill="{_OPEN}"/>',
        f'<text x="16" y="{legend_y}">callable</text>',
        f'<rect x="90" y="{legend_y - 11}" width="12" height="12" fill="{_CLOSED}"/>',
        f'<text x="106" y="{legend_y}">not callable (hover for the rule)</text>',
        f'<text x="330" y="{legend_y}" fill="{_HOLIDAY}">★ public holiday</text>',
        "</svg>",
    ]
    return "\n".join(out) + "\n"


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def render_html(grid: WeekGrid) -> str:
    """A self-contained HTML page: the SVG, then every closed block with its rules."""
    esc = html.escape
    rows = []
    for day in grid.days:
        closed = "<br>".join(f"{b.label}: {esc(', '.join(b.rules))}"
                             for b in day.blocks if not b.open)  # fmt: skip
        opened = ", ".join(b.label for b in day.blocks if b.open) or "none"
        rows.append(f"<tr><td>{_DAY_NAMES[day.date.weekday()]} {day.date}</td>"
                    f"<td>{esc(day.holiday or '')}</td><td>{opened}</td><td>{closed}</td></tr>")
    always = "".join(f"<li><code>{esc(r)}</code>: {esc(why)}</li>" for r, why in grid.always_denied)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(_title(grid))}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}</style>
</head><body>
{render_svg(grid)}
<table><tr><th>day</th><th>holiday</th><th>callable</th><th>closed by</th></tr>
{"".join(rows)}</table>
{f"<p>Denied at every hour for this call:</p><ul>{always}</ul>" if always else ""}
<p>Each slot is {grid.step_minutes} minutes, judged at its middle. Zones: {", ".join(grid.zones)}.
</p></body></html>
"""


# ---- the command -----------------------------------------------------------------------------


@click.command("calendar")
@click.option("-p", "--policy", "policies", multiple=True, metavar="PATH_OR_ID",
              help="Policy file, folder or shipped id (repeatable); default: the whole library.")
@click.option("--region", help="ISO 3166-2 subdivision or country of the callee (US-FL, FR).")
@click.option("--to", help="The number called (default: a sample number of --region).")
@click.option("--timezone", help="IANA zone of the callee (default: from the number).")
@click.option("--purpose", default="marketing", show_default=True, help="Purpose of the calls.")
@click.option("--week", type=click.DateTime(["%Y-%m-%d"]), help="Any day of the week to show "
              "(default: this week).")
@click.option("--call", "call_file", type=click.File("r", encoding="utf-8"),
              help="A JSON call request with further facts (consent, history, ...).")
@click.option("--format", "fmt", type=click.Choice(["text", "svg", "html"]),
              help="Output format (default: from the --output suffix, else text).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of standard output.")  # fmt: skip
def calendar_command(policies: tuple[str, ...], region: str | None, to: str | None,
                     timezone: str | None, purpose: str, week: dt.datetime | None,
                     call_file: Any, fmt: str | None, output: Path | None) -> None:  # fmt: skip
    """Show the callable hours of a week, in the callee's local time.

    Every slot is judged by the policies themselves, so the picture agrees with `decide`.
    Exit status: 0 on success, 2 for bad input.
    """
    if not region and not to:
        raise click.UsageError("give --region or --to")
    try:
        call = json.load(call_file) if call_file else None
        policy_set = load(*policies) if policies else load_library()
        grid = week_grid(policy_set, region=region, to=to, timezone=timezone,
                         purpose=purpose or None, week=week.date() if week else None,
                         call=call)  # fmt: skip
    except (RingfenceError, json.JSONDecodeError) as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(2) from None
    fmt = fmt or (output.suffix.lstrip(".") if output and output.suffix in (".svg", ".html")
                  else "text")  # fmt: skip
    text = {"text": render_text, "svg": render_svg, "html": render_html}[fmt](grid)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
