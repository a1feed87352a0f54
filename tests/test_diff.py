"""``ringfence diff``: two policy versions on the same calls and the same calendar."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import ringfence
from ringfence.resources import policies_dir
from ringfence.tools.calllog import read_log
from ringfence.tools.cli import cli
from ringfence.tools.diff import diff_policies

FLORIDA = ZoneInfo("America/New_York")
WEEK = dt.date(2026, 6, 15)


@pytest.fixture
def later_florida(tmp_path: Path) -> Path:
    text = (policies_dir() / "us-fl.rf").read_text(encoding="utf-8")
    old = "allow only between 08:00 and 20:00 inclusive"
    assert old in text
    path = tmp_path / "us-fl-2027.rf"
    path.write_text(text.replace(old, "allow only between 08:00 and 21:00 inclusive"), "utf-8")
    return path


def _sample(tmp_path: Path) -> tuple[Path, set[str]]:
    """Calls every 10 minutes (and at the edges) to Florida and Texas; the ids of the Florida
    calls from just after 20:00 to 21:00 itself, local time."""
    calls, expected = [], set()
    for day in (15, 16):
        times = [dt.time(h, m) for h in range(6, 24) for m in range(5, 60, 10)]
        times += [dt.time(20), dt.time(20, 0, 1), dt.time(21), dt.time(21, 0, 1)]
        for clock in times:
            local = dt.datetime(2026, 6, day, clock.hour, clock.minute, clock.second, tzinfo=FLORIDA)
            for region, number in (("US-FL", "+13055550123"), ("US-TX", "+15125550123")):
                call_id = f"{region}-{local.isoformat()}"
                calls.append({"id": call_id, "to": number, "at": local.isoformat(),
                              "to_region": region, "purpose": "marketing",
                              "subject": call_id})  # fmt: skip
                if region == "US-FL" and dt.time(20) < clock <= dt.time(21):
                    expected.add(call_id)
    path = tmp_path / "sample.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    return path, expected


def test_moving_florida_end_to_21_changes_exactly_the_calls_from_20_to_21(tmp_path, later_florida):
    sample, expected = _sample(tmp_path)
    rows, errors = read_log(sample)
    diff = diff_policies(ringfence.load("us-fl"), ringfence.load(later_florida), rows, week=WEEK)
    assert not errors and not diff.errors
    assert {c.call_id for c in diff.changed} == expected
    assert all((c.old, c.new) == ("deny", "allow") for c in diff.changed)
    [rule] = diff.rules
    assert (rule.policy, rule.rule, rule.change, rule.count) == (
        "us-fl", "calling-hours", "no longer violated", len(expected))  # fmt: skip
    assert rule.citations == ("Fla. Stat. 501.616(6)(a)",) and len(rule.examples) == 5
    # The calendar: 20:00-21:00 opens every day of the week, nothing closes.
    assert diff.regions == ["US-FL"]
    assert {(s.date, s.start, s.end, s.change) for s in diff.calendar} == {
        (WEEK + dt.timedelta(days=d), dt.time(20), dt.time(21), "opened") for d in range(7)}  # fmt: skip


def test_cli_exit_codes_and_text(tmp_path, later_florida):
    sample, expected = _sample(tmp_path)
    runner = CliRunner()
    changed = runner.invoke(cli, ["diff", "us-fl", str(later_florida), "--calls", str(sample),
                                  "--week", str(WEEK)])  # fmt: skip
    assert changed.exit_code == 1, changed.output
    n = len(expected)
    assert f"{n} decisions change (0 allow -> deny, {n} deny -> allow)" in changed.output
    assert "us-fl/calling-hours (Commercial telephone solicitation" in changed.output
    assert "opened Mon 2026-06-15 20:00-21:00 (America/New_York)" in changed.output
    same = runner.invoke(cli, ["diff", "us-fl", "us-fl", "--calls", str(sample), "--week", str(WEEK),
                               "--json"])  # fmt: skip
    assert same.exit_code == 0, same.output
    assert json.loads(same.output)["changed"] == 0
    bad = runner.invoke(cli, ["diff", "us-fl", "no-such-policy", "--calls", str(sample)])
    assert bad.exit_code == 2 and "no-such-policy" in bad.output
