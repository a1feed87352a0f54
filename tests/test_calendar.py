"""The calling calendar: a week of callable hours computed by the engine."""

from __future__ import annotations

import datetime as dt
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import ringfence
from ringfence.tools.calendar_render import render_png_page
from ringfence.tools.calendar_view import calendar_command, render_html, render_svg, render_text, week_grid
from ringfence.tools.chromium import find_chromium

WEEK = dt.date(2026, 6, 15)  # Monday; Friday 2026-06-19 is Juneteenth, a US federal holiday
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def florida():
    policies = ringfence.load("us-federal", "us-fl")
    return week_grid(policies, region="US-FL", purpose="marketing", week=WEEK)


def test_florida_weekdays_are_open_from_8_to_20(florida):
    assert florida.zone == "America/New_York"
    assert [d.date for d in florida.days] == [WEEK + dt.timedelta(days=i) for i in range(7)]
    for day in range(5):
        assert florida.open_hours(day) == ["08:00-20:00"]


def test_each_closed_block_names_the_rules_that_close_it(florida):
    blocks = {b.label: b for b in florida.days[0].blocks}
    assert blocks["20:00-21:00"].rules == ("us-fl/calling-hours",)  # federal allows until 21:00
    assert set(blocks["00:00-08:00"].rules) == {"us-federal/calling-hours", "us-fl/calling-hours"}
    # Rules that deny at every hour (facts this call lacks) are listed apart, not painted.
    assert all(not set(b.rules) & {r for r, _ in florida.always_denied}
               for d in florida.days for b in d.blocks)  # fmt: skip


def test_holidays_are_named(florida):
    assert "Juneteenth" in (florida.days[4].holiday or "")
    assert florida.days[0].holiday is None


def test_grid_agrees_with_decide(florida):
    policies = ringfence.load("us-federal", "us-fl")
    ignored = {r for r, _ in florida.always_denied}
    tz = ZoneInfo(florida.zone)
    for day, slot in [(0, 31), (0, 32), (2, 79), (2, 80), (6, 0), (6, 95)]:
        at = dt.datetime.combine(florida.days[day].date, dt.time(), tz)
        at += dt.timedelta(minutes=15 * slot + 7, seconds=30)
        decision = policies.decide({"to": florida.to, "to_region": "US-FL", "purpose": "marketing",
                                    "at": at.isoformat()})  # fmt: skip
        violated = {f"{f.policy}/{f.rule}" for f in decision.violations} - ignored
        assert florida.days[day].slots[slot] == (not violated), (day, slot, violated)


def test_closed_days_and_public_holidays(tmp_path: Path):
    policy = tmp_path / "shop.rf"
    policy.write_text(
        'policy shop "Shop hours"\n  applies to US\n\n'
        'rule hours "Weekdays and Saturday, never on holidays"\n  cite "Internal policy 1"\n'
        "  allow only\n    monday to saturday 09:00 to 17:00 inclusive\n"
        "    closed on public holidays\n",
        "utf-8",
    )
    grid = week_grid(ringfence.load(policy), region="US-FL", week=dt.date(2026, 12, 23))
    by_day = {d.date: d for d in grid.days}
    christmas = by_day[dt.date(2026, 12, 25)]
    assert christmas.holiday and not any(christmas.slots)
    assert christmas.blocks[0].rules == ("shop/hours",)
    assert not any(by_day[dt.date(2026, 12, 27)].slots)  # Sunday
    assert grid.open_hours(0) == ["09:00-17:00"]


def test_svg_parses_and_draws_every_day(florida):
    root = ET.fromstring(render_svg(florida))
    assert root.tag == f"{SVG}svg"
    rects = root.findall(f"{SVG}rect")
    open_blocks = [r for r in rects if r.get("class") == "open"]
    assert len(open_blocks) == 7  # one open block per day
    tips = [r.find(f"{SVG}title").text for r in rects if r.get("class") == "closed"]
    assert "20:00-21:00 closed by us-fl/calling-hours" in tips


def test_html_is_self_contained(florida):
    page = render_html(florida)
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "src=" not in page and "<link" not in page
    assert "Juneteenth" in page


def test_text_table(florida):
    text = render_text(florida)
    monday = next(line for line in text.splitlines() if line.startswith("Mon 06-15"))
    cells = monday[15:15 + 96]
    assert cells == "." * 32 + "#" * 48 + "." * 16


def test_command_writes_svg_and_reports_bad_input(tmp_path: Path):
    out = tmp_path / "week.svg"
    args = ["-p", "us-federal", "-p", "us-fl", "--region", "US-FL", "--week", "2026-06-17"]
    result = CliRunner().invoke(calendar_command, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    ET.fromstring(out.read_text("utf-8"))
    text = CliRunner().invoke(calendar_command, args)
    assert text.exit_code == 0 and "Mon 2026-06-15: open 08:00-20:00" in text.output
    bad = CliRunner().invoke(calendar_command, ["-p", "us-federal", "--to", "+1999"])
    assert bad.exit_code == 2 and "error:" in bad.output and "Traceback" not in bad.output
    assert CliRunner().invoke(calendar_command, ["-p", "us-federal"]).exit_code == 2


# ---- for a printed page: legends, dated closures, window ends, several regions ----------------

ARTEFACTS = Path(__file__).parent / "artefacts"
JULY = dt.date(2026, 7, 1)  # Saturday 2026-07-04: Pennsylvania closes on it, Florida does not


@pytest.fixture(scope="module")
def three_states():
    policies = ringfence.load_library()
    return [week_grid(policies, region=r, week=JULY) for r in ("US-FL", "US-TX", "US-PA")]


def test_only_the_dates_the_policies_close_on_are_marked(florida, three_states):
    juneteenth = florida.days[4]
    assert juneteenth.holiday and not juneteenth.closed_on_date
    fl, _, pa = three_states
    assert [d.closed_on_date for d in pa.days] == [()] * 5 + [("us-pa/legal-holidays",), ()]
    assert not any(d.closed_on_date for d in fl.days)
    svg = render_svg(three_states)
    assert "◆ US-PA: Independence Day (C)" in svg and svg.count("◆ US-") == 1
    assert render_svg(florida).count("◆") == 1  # the legend's; Juneteenth is not marked


def test_window_ends_are_judged_at_their_instant(florida, tmp_path):
    monday = next(b for b in florida.days[0].blocks if b.open)
    assert (monday.label, monday.start_included, monday.end_included) == ("08:00-20:00", True, True)
    policy = tmp_path / "office.rf"
    policy.write_text('policy office "Office hours"\n  applies to US\n\nrule hours "Nine to five"\n'
                      '  cite "House rule 1"\n  allow only between 09:00 and 17:00 exclusive, '
                      "callee local time\n", "utf-8")  # fmt: skip
    grid = week_grid(ringfence.load(policy), region="US-FL", week=WEEK)
    block = next(b for b in grid.days[0].blocks if b.open)
    assert (block.label, block.end_included) == ("09:00-17:00", False)
    assert "09:00-17:00 (09:00 included, 17:00 excluded)" in render_text(grid)


def test_every_closed_block_is_lettered_and_the_legend_gives_title_and_citation(three_states):
    svg = render_svg(three_states)
    root = ET.fromstring(svg)
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "open"]) == 20  # 7 x 3, PA Sat
    legend = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert ("us-fl/calling-hours: Commercial telephone solicitation only from 8 a.m. to 8 p.m. in the "
            "called person's time zone [Fla. Stat. 501.616(6)(a)]") in legend  # fmt: skip
    assert "end excluded" in legend and "end included" in legend
    letters = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert "A B" in letters and "C" in letters  # federal + Florida at night; Pennsylvania's holiday
    page = render_html(three_states)
    assert "Independence Day (closed on it)" in page and "Independence Day (observed) (no policy" in page
    assert "@page{size:A4 landscape" in page


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")
def test_png_and_pdf_drawn_by_chromium(three_states):
    ARTEFACTS.mkdir(exist_ok=True)
    png, pdf = ARTEFACTS / "calendar-fl-tx-pa.png", ARTEFACTS / "calendar-fl-tx-pa.pdf"
    args = ["--region", "US-FL", "--region", "US-TX", "--region", "US-PA", "--week", str(JULY)]
    for out in (png, pdf):
        result = CliRunner().invoke(calendar_command, [*args, "-o", str(out)])
        assert result.exit_code == 0, result.output
        print(f"calendar artefact: {out}")
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    _, width, height = render_png_page(three_states)
    assert struct.unpack(">II", head[16:24]) == (2 * width, 2 * height)  # drawn at scale 2
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


def test_png_without_output_is_a_usage_error():
    result = CliRunner().invoke(calendar_command, ["--region", "US-FL", "--format", "png"])
    assert result.exit_code == 2 and "give --output" in result.output


def test_a_company_closure_date_is_marked_and_labelled(tmp_path: Path):
    policy = tmp_path / "shop.rf"
    policy.write_text(
        'policy shop "Shop"\n  applies to US\n\n'
        'rule annual-meeting "Closed on the day of the annual meeting"\n  cite "House rule 7"\n'
        "  allow only\n    every day 00:00 to 24:00 exclusive\n    closed on 2026-06-17\n"
        "    callee local time\n",
        "utf-8",
    )
    grid = week_grid(ringfence.load(policy), region="US-FL", week=WEEK)
    assert [d.closed_on_date for d in grid.days] == [(), (), ("shop/annual-meeting",), (), (), (), ()]
    assert grid.days[4].holiday and not grid.days[4].closed_on_date  # Juneteenth: shop is open
    svg = render_svg(grid)
    assert "◆ closure date (A)" in svg
    assert "shop/annual-meeting: Closed on the day of the annual meeting [House rule 7]" in svg
    assert "Wed 2026-06-17: open none" in render_text(grid)
    assert "closed on this date: closure date" in render_text(grid)


def test_blocks_too_short_for_their_letters_are_listed_in_the_legend(tmp_path: Path):
    policy = tmp_path / "lunch.rf"
    policy.write_text(
        'policy lunch "Lunch break"\n  applies to US\n\n'
        'rule lunch "No calls during the quarter-hour lunch break"\n  cite "House rule 3"\n'
        "  allow only\n    every day 09:00 to 12:00 exclusive, 12:15 to 17:00 exclusive\n"
        "    callee local time\n",
        "utf-8",
    )
    grid = week_grid(ringfence.load(policy), region="US-FL", week=WEEK)
    texts = [t.text for t in ET.fromstring(render_svg(grid)).iter(f"{SVG}text")]
    assert "Closed blocks too short to letter:" in texts
    assert any(t.startswith("Mon 2026-06-15 12:00-12:15: A;") for t in texts)
    assert "09:00-12:00 (09:00 included, 12:00 excluded)" in render_text(grid)
