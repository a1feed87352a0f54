"""Drawing calling calendars for a reader with a printout: text, SVG and an HTML page.

Nothing depends on hovering. Every closed block carries the letters of the rules that close it,
and a legend gives each letter's rule, title and citations. Only the days the policies close *on
that date* (a holiday they close on, a closure date they list) are marked; a public holiday on
which no policy closes is named in the tables and not marked. The ends of every open block are
drawn filled when a call at that very instant is allowed (the end is included) and hollow when it
is not. Several regions are drawn side by side: for each day, one bar per region.
"""

from __future__ import annotations

import datetime as dt
import html
import string
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the grid types live with the computation, which imports this module
    from ringfence.tools.calendar_view import Block, Day, WeekGrid

__all__ = ["render_html", "render_png_page", "render_svg", "render_text"]

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CELL, _DAY_LABEL, _REGION_LABEL, _TOP, _ROW, _GAP = 8, 190, 64, 64, 22, 10
_OPEN, _CLOSED, _DATED, _INK = "#ffffff", "#c4c4c4", "#7d7d7d", "#111111"
_CHAR = 6.4  # average width of a character at 11 px, to wrap legend lines


def _grids(grids: WeekGrid | Sequence[WeekGrid]) -> list[WeekGrid]:
    return list(grids) if isinstance(grids, Sequence) else [grids]


def _keys(grids: list[WeekGrid]) -> dict[str, str]:
    """A letter (A, B, ... Z, AA, ...) for every rule that closes a block or a date."""
    names = sorted({r for g in grids for d in g.days for b in d.blocks for r in b.rules}
                   | {r for g in grids for d in g.days for r in d.closed_on_date})  # fmt: skip
    letters = string.ascii_uppercase
    return {name: letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26]
            for i, name in enumerate(names)}  # fmt: skip


def _title(grids: list[WeekGrid]) -> str:
    first = grids[0]
    what = f"{first.purpose} calls" if first.purpose else "calls"
    where = ", ".join(f"{g.region or g.to} ({g.zone})" for g in grids)
    return f"When {what} may be placed, week of {first.days[0].date}: {where}"


def _clock(t: dt.time | None) -> str:
    return "24:00" if t is None else t.strftime("%H:%M")


def _ends(block: Block) -> str:
    """``08:00-20:00 (08:00 included, 20:00 included)``: an open block and its ends."""
    notes = [f"{_clock(t)} {'included' if inc else 'excluded'}"
             for t, inc in ((block.start, block.start_included), (block.end, block.end_included))
             if inc is not None]  # fmt: skip
    return block.label + (f" ({', '.join(notes)})" if notes else "")


def _date_mark(day: Day) -> str:
    """What a day closed on its date is: the holiday's name, or a closure date."""
    if not day.closed_on_date:
        return ""
    return day.holiday or "closure date"


def _rule_lines(grid_rules: dict[str, tuple[str, tuple[str, ...]]], keys: dict[str, str]) -> list[str]:
    return [f"{key}  {name}: {grid_rules.get(name, ('', ()))[0]}"
            + (f" [{'; '.join(grid_rules[name][1])}]" if grid_rules.get(name, ('', ()))[1] else "")
            for name, key in keys.items()]  # fmt: skip


def _all_rules(grids: list[WeekGrid]) -> dict[str, tuple[str, tuple[str, ...]]]:
    merged: dict[str, tuple[str, tuple[str, ...]]] = {}
    for grid in grids:
        merged.update(grid.rules)
    return merged


# ---- text ----------------------------------------------------------------------------------------


def render_text(grids: WeekGrid | Sequence[WeekGrid]) -> str:
    """A terminal table per region: one row per day, one character per slot (``#`` open, ``.``
    closed), then every block with its ends or its rules, and the legend of rules."""
    all_grids = _grids(grids)
    keys = _keys(all_grids)
    lines: list[str] = []
    for grid in all_grids:
        per_hour = 60 // grid.step_minutes
        ruler = "".join(f"{h:02d}".ljust(2 * per_hour) for h in range(0, 24, 2))
        lines += [_title([grid]), "", f"{'':15}{ruler}"]
        for day in grid.days:
            cells = "".join("#" if s else "." for s in day.slots)
            label = f"{_DAY_NAMES[day.date.weekday()]} {day.date.strftime('%m-%d')}"
            mark = _date_mark(day)
            lines.append(f"{label:<15}{cells}{'  closed on this date: ' + mark if mark else ''}")
        lines += ["", f"# open  . closed   (one character = {grid.step_minutes} minutes)", ""]
        for day in grid.days:
            opened = ", ".join(_ends(b) for b in day.blocks if b.open) or "none"
            lines.append(f"{_DAY_NAMES[day.date.weekday()]} {day.date}: open {opened}")
            if day.holiday:
                closes = ", ".join(keys[r] for r in day.closed_on_date)
                lines.append(f"    public holiday: {day.holiday} "
                             + (f"(closed on it by {closes})" if closes else "(no policy closes on it)"))
            lines += [f"    closed {b.label} by {' '.join(keys[r] for r in b.rules)} "
                      f"({', '.join(b.rules)})" for b in day.blocks if not b.open]  # fmt: skip
        lines += [*_always_lines(grid), ""]
    lines += ["Rules:", *(f"  {line}" for line in _rule_lines(_all_rules(all_grids), keys))]
    return "\n".join(lines) + "\n"


def _always_lines(grid: WeekGrid) -> list[str]:
    if not grid.always_denied:
        return []
    out = ["", "Denied at every hour for this call (not shown in the grid):"]
    return out + [f"    {rule}: {reason}" for rule, reason in grid.always_denied]


# ---- SVG -----------------------------------------------------------------------------------------


def _svg_text(x: float, y: float, text: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:g}" y="{y:g}"{extra}>{html.escape(text)}</text>'


def render_svg(grids: WeekGrid | Sequence[WeekGrid]) -> str:
    """The week as an SVG image: for each day one bar per region, the closed blocks lettered
    with their rules, the legend (rule, title, citations) underneath."""
    return _svg(_grids(grids))[0]


def _svg(all_grids: list[WeekGrid]) -> tuple[str, int, int]:
    """The SVG and its width and height."""
    keys = _keys(all_grids)
    first = all_grids[0]
    per_hour = 60 // first.step_minutes
    many = len(all_grids) > 1
    left = _DAY_LABEL + (_REGION_LABEL if many else 0)
    width = left + 24 * per_hour * _CELL + 16
    body: list[str] = [_svg_text(0, 18, _title(all_grids), font_size="14", font_weight="bold")]
    group = len(all_grids) * _ROW + _GAP
    narrow: list[str] = []  # closed blocks too narrow for their letters, listed in the legend
    grid_bottom = _TOP + 7 * group - _GAP
    for hour in range(25):
        x = left + hour * per_hour * _CELL
        body.append(f'<line x1="{x}" y1="{_TOP - 6}" x2="{x}" y2="{grid_bottom}" '
                    f'stroke="#9e9e9e" stroke-width="{0.9 if hour % 6 == 0 else 0.4}"/>')  # fmt: skip
        if hour < 24:
            body.append(_svg_text(x + 2, _TOP - 10, f"{hour:02d}"))
    for index in range(7):
        y0 = _TOP + index * group
        day = first.days[index]
        body.append(_svg_text(0, y0 + 15, f"{_DAY_NAMES[day.date.weekday()]} {day.date.isoformat()}",
                              font_weight="bold"))  # fmt: skip
        marks = [(g, g.days[index]) for g in all_grids if g.days[index].closed_on_date]
        for n, (grid, marked) in enumerate(marks):
            who = f"{grid.region}: " if many else ""
            letters = " ".join(keys[r] for r in marked.closed_on_date)
            body.append(_svg_text(0, y0 + 15 + 12 * (n + 1), f"◆ {who}{_date_mark(marked)} ({letters})",
                                  font_size="10"))  # fmt: skip
        for row, grid in enumerate(all_grids):
            y = y0 + row * _ROW
            if many:
                body.append(_svg_text(_DAY_LABEL, y + 15, grid.region or grid.to, font_size="11"))
            elements, unlettered = _bar(grid.days[index], left, y, grid.step_minutes, keys)
            body += elements
            narrow += [f"{_DAY_NAMES[day.date.weekday()]} {day.date}"
                       + (f" {grid.region or grid.to}" if many else "") + f" {label}"
                       for label in unlettered]  # fmt: skip
    legend, height = _svg_legend(all_grids, keys, grid_bottom + 22, width, narrow)
    body += legend
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
            f'font-size="11" fill="{_INK}">')  # fmt: skip
    svg = "\n".join([head, f"<title>{html.escape(_title(all_grids))}</title>",
                     f'<rect width="{width}" height="{height}" fill="#fff"/>', *body, "</svg>"]) + "\n"
    return svg, width, height


def _bar(day: Day, left: int, y: int, step: int, keys: dict[str, str]) -> tuple[list[str], list[str]]:
    """A day's bar, and ``12:00-12:15: A`` for each closed block too narrow to hold its letters."""
    out, narrow, dots = [], [], []  # dots last, so no neighbouring block covers them
    for block in day.blocks:
        end = _minutes(block.end) if block.end else 24 * 60
        x0 = left + _minutes(block.start) // step * _CELL
        x1 = left + end // step * _CELL
        dated = bool(set(block.rules) & set(day.closed_on_date))
        fill = _OPEN if block.open else (_DATED if dated else _CLOSED)
        tip = f"{block.label} {'open' if block.open else 'closed by ' + ', '.join(block.rules)}"
        out.append(f'<rect x="{x0}" y="{y + 3}" width="{x1 - x0}" height="{_ROW - 6}" fill="{fill}" '
                   f'stroke="{_INK}" stroke-width="0.6" class="{"open" if block.open else "closed"}">'
                   f"<title>{html.escape(tip)}</title></rect>")  # fmt: skip
        label = " ".join(keys[r] for r in block.rules) if not block.open else ""
        if label and x1 - x0 >= len(label) * 7 + 4:
            out.append(_svg_text((x0 + x1) / 2, y + 15, label, text_anchor="middle", font_weight="bold",
                                 fill="#fff" if dated else _INK))  # fmt: skip
        elif label:
            narrow.append(f"{block.label}: {label}")
        for edge, included in ((x0, block.start_included), (x1, block.end_included)):
            if included is not None:
                dots.append(f'<circle cx="{edge}" cy="{y + _ROW / 2}" r="3.6" stroke="{_INK}" '
                           f'stroke-width="1.2" fill="{_INK if included else "#fff"}"/>')  # fmt: skip
    return out + dots, narrow


def _svg_legend(grids: list[WeekGrid], keys: dict[str, str], y: int, width: int,
                narrow: list[str]) -> tuple[list[str], int]:
    """The legend's elements, from ``y`` down, and the bottom of the picture."""
    out = []
    for x, fill, text in ((0, _OPEN, "callable"),
                          (90, _CLOSED, "not callable; letters name the closing rules (below)"),
                          (400, _DATED, "◆ closed on this date only (holiday or closure)")):  # fmt: skip
        out += [f'<rect x="{x}" y="{y - 10}" width="14" height="12" fill="{fill}" stroke="{_INK}" '
                'stroke-width="0.6"/>', _svg_text(x + 20, y, text)]  # fmt: skip
    y += 18
    out += [f'<circle cx="6" cy="{y - 4}" r="3.6" fill="{_INK}" stroke="{_INK}"/>',
            _svg_text(16, y, "end included (a call at that very minute is allowed)"),
            f'<circle cx="336" cy="{y - 4}" r="3.6" fill="#fff" stroke="{_INK}" stroke-width="1.2"/>',
            _svg_text(346, y, "end excluded")]  # fmt: skip
    y += 22
    out.append(_svg_text(0, y, "Rules closing blocks", font_weight="bold"))
    rules = _all_rules(grids)
    wrap = max(40, int((width - 40) / _CHAR))
    for name, key in keys.items():
        title, citations = rules.get(name, ("", ()))
        text = f"{name}: {title}" + (f" [{'; '.join(citations)}]" if citations else "")
        for n, part in enumerate(textwrap.wrap(text, wrap)):
            y += 15
            if n == 0:
                out.append(_svg_text(0, y, key, font_weight="bold"))
            out.append(_svg_text(28, y, part))
    if narrow:
        y += 20
        out.append(_svg_text(0, y, "Closed blocks too short to letter:", font_weight="bold"))
        for part in textwrap.wrap("; ".join(narrow), wrap):
            y += 15
            out.append(_svg_text(28, y, part))
    denied = _always_denied(grids)
    if denied:
        y += 20
        out.append(_svg_text(0, y, "Denied at every hour for this call, not drawn:", font_weight="bold"))
        for text in denied:
            for part in textwrap.wrap(text, wrap):
                y += 15
                out.append(_svg_text(28, y, part))
    y += 20
    out.append(_svg_text(0, y, f"Each slot is {grids[0].step_minutes} minutes, judged at its middle, "
                               "in the callee's local time.", font_size="10"))  # fmt: skip
    return out, y + 10


def _always_denied(grids: list[WeekGrid]) -> list[str]:
    """``rule: reason`` of the rules broken at every hour, once each, naming the regions when
    only some of them have it."""
    regions: dict[tuple[str, str], list[str]] = {}
    for grid in grids:
        for item in grid.always_denied:
            regions.setdefault(item, []).append(grid.region or grid.to)
    return [f"{rule}: {reason}" + ("" if len(where) == len(grids) else f" ({', '.join(where)})")
            for (rule, reason), where in regions.items()]  # fmt: skip


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


# ---- HTML ----------------------------------------------------------------------------------------

_PRINT_STYLE = """
@page{size:A4 landscape;margin:10mm}
body{font-family:Georgia,'Times New Roman',serif;color:#111;margin:1.5em;max-width:1100px}
h2{font:600 1.05em Helvetica,Arial,sans-serif;margin:1.2em 0 .3em}
table{border-collapse:collapse;width:100%;font-size:.85em;margin:.3em 0 1em}
td,th{border:1px solid #999;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee} .note{font-size:.85em;color:#333}
svg{display:block;width:auto;height:auto;max-width:100%}
@media print{body{margin:0} svg{max-height:185mm} tr{page-break-inside:avoid}}
"""


def render_html(grids: WeekGrid | Sequence[WeekGrid]) -> str:
    """A self-contained page for screen and print: the picture, then for each region every day
    (holiday, callable hours with their ends, closed blocks with their rules), the rules' titles
    and citations."""
    all_grids = _grids(grids)
    keys = _keys(all_grids)
    esc = html.escape
    sections = []
    for grid in all_grids:
        rows = []
        for day in grid.days:
            closed = "<br>".join(f"{b.label}: <b>{' '.join(keys[r] for r in b.rules)}</b> "
                                 f"({esc(', '.join(b.rules))})" for b in day.blocks if not b.open)
            opened = "<br>".join(esc(_ends(b)) for b in day.blocks if b.open) or "none"
            holiday = esc(day.holiday or "")
            if day.holiday:
                holiday += " (closed on it)" if day.closed_on_date else " (no policy closes on it)"
            elif day.closed_on_date:
                holiday = "closure date"
            rows.append(f"<tr><td>{_DAY_NAMES[day.date.weekday()]} {day.date}</td><td>{holiday}</td>"
                        f"<td>{opened}</td><td>{closed}</td></tr>")  # fmt: skip
        always = "".join(f"<li><code>{esc(r)}</code>: {esc(why)}</li>" for r, why in grid.always_denied)
        sections.append(
            f"<h2>{esc(grid.region or grid.to)}: callee local time {esc(grid.zone)} "
            f"(number {esc(grid.to)})</h2><table><tr><th>day</th><th>holiday or closure</th>"
            f"<th>callable (ends)</th><th>not callable, closed by</th></tr>{''.join(rows)}</table>"
            + (f"<p>Denied at every hour for this call (not drawn):</p><ul>{always}</ul>" if always else "")
        )
    rules = _all_rules(all_grids)
    legend = "".join(f"<tr><td><b>{key}</b></td><td><code>{esc(name)}</code></td>"
                     f"<td>{esc(rules.get(name, ('', ()))[0])}</td>"
                     f"<td>{esc('; '.join(rules.get(name, ('', ()))[1]))}</td></tr>"
                     for name, key in keys.items())  # fmt: skip
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(_title(all_grids))}</title>
<style>{_PRINT_STYLE}</style></head><body>
{render_svg(all_grids)}
<h2>Rules</h2>
<table><tr><th>key</th><th>rule</th><th>title</th><th>citation</th></tr>{legend}</table>
{"".join(sections)}
<p class="note">Each slot is {all_grids[0].step_minutes} minutes, judged by the policies at its middle;
an end is included when a call at that very instant is allowed.</p>
</body></html>
"""


def render_png_page(grids: WeekGrid | Sequence[WeekGrid]) -> tuple[str, int, int]:
    """A page holding only the picture, and its width and height: what a PNG is shot from."""
    svg, width, height = _svg(_grids(grids))
    page = ('<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;'
            f"background:#fff}}</style></head><body>{svg}</body></html>")  # fmt: skip
    return page, width, height
