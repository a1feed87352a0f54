"""``ringfence audit``: a call log replayed through the policies, findings and report."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import ringfence
from ringfence.testing.planted import planted_log
from ringfence.tools.audit import audit
from ringfence.tools.audit_report import render_report
from ringfence.tools.calllog import read_log
from ringfence.tools.cli import cli


@pytest.fixture(scope="module")
def library():
    return ringfence.load_library()


@pytest.fixture(scope="module")
def planted():
    return planted_log(10_000)


def _write_jsonl(path: Path, calls: list[dict]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    return path


def _found(result) -> set[tuple[object, str]]:
    return {(f.call_id, f.rule_ref) for f in result.violations}


def _planted(log) -> set[tuple[object, str]]:
    return {(call_id, rule) for call_id, rules in log.expected.items() for rule in rules}


def test_audit_finds_every_planted_violation_and_no_other(tmp_path, library, planted):
    rows, errors = read_log(_write_jsonl(tmp_path / "calls.jsonl", planted.calls))
    result = audit(library, rows, errors=errors)
    assert planted.planted > 150  # every kind of plant is there several times
    assert not result.errors and result.calls == len(planted.calls)
    assert _found(result) == _planted(planted)
    assert not [f for f in result.findings if f.level == "warn"]


def test_parallel_audit_gives_the_same_findings(tmp_path, library, planted):
    rows, _ = read_log(_write_jsonl(tmp_path / "calls.jsonl", planted.calls[:5000]))
    alone, shared = audit(library, rows), audit(library, rows, jobs=2)
    assert [f.to_dict() for f in shared.findings] == [f.to_dict() for f in alone.findings]
    assert (shared.calls, shared.first, shared.last) == (alone.calls, alone.first, alone.last)


def _florida(i: int, hour: int, subject: str = "renewal", **extra) -> dict:
    return {"id": f"c{i}", "to": "+13055550123", "at": f"2026-06-02T{hour:02d}:10:00-04:00",
            "to_region": "US-FL", "to_timezone": "America/New_York", "purpose": "marketing",
            "from": "+18005550100", "subject": subject,
            "lists": [], "lists_checked_at": {"national_dnc": "2026-06-01"}, "consent": [],
            "opt_outs": [], **extra}  # fmt: skip


def test_each_call_is_a_prior_attempt_of_the_later_ones_whatever_the_log_order(tmp_path, library):
    calls = [_florida(i, 10 + i) for i in range(5)]
    rows, _ = read_log(_write_jsonl(tmp_path / "calls.jsonl", calls[::-1]))  # newest first
    result = audit(library, rows)
    assert _found(result) == {("c3", "us-fl/three-calls-per-24-hours"),
                              ("c4", "us-fl/three-calls-per-24-hours")}  # fmt: skip
    # Each call alone, with no earlier attempt, is lawful: the cap comes from the earlier rows.
    assert all(library.decide({**c, "history": []}).allowed for c in calls)


def test_a_short_lookback_forgets_older_calls(tmp_path, library):
    import datetime as dt

    rows, _ = read_log(_write_jsonl(tmp_path / "calls.jsonl", [_florida(i, 10 + i) for i in range(5)]))
    assert not audit(library, rows, lookback=dt.timedelta(minutes=90)).findings


def test_csv_jsonl_and_parquet_logs_give_the_same_findings(tmp_path, library):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    log = planted_log(400, seed=3)
    jsonl = _write_jsonl(tmp_path / "calls.jsonl", log.calls)
    columns = sorted({k for c in log.calls for k in c})
    with (tmp_path / "calls.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        for call in log.calls:
            writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v
                             for k, v in call.items()})  # fmt: skip
    # pa.array infers the columns from every row (from_pylist looks at the first only)
    pq.write_table(pa.Table.from_struct_array(pa.array(log.calls)), tmp_path / "calls.parquet")
    results = [audit(library, read_log(path)[0]) for path in
               (jsonl, tmp_path / "calls.csv", tmp_path / "calls.parquet")]  # fmt: skip
    expected = _planted(log)
    # CSV cells are text, so ids come back as strings there.
    assert [{(str(i), r) for i, r in _found(res)} for res in results] == [
        {(str(i), r) for i, r in expected}] * 3  # fmt: skip


def test_rows_that_cannot_be_judged_are_named_by_line(tmp_path, library):
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join([
        json.dumps(_florida(1, 10)),
        "{not json",
        json.dumps({**_florida(2, 11), "at": "yesterday"}),
        json.dumps({**_florida(3, 12), "outcome": "hung_up"}),
        json.dumps({**_florida(4, 13), "colour": "red"}),
    ]) + "\n", encoding="utf-8")  # fmt: skip
    rows, errors = read_log(path)
    result = audit(library, rows, errors=errors)
    assert [(e.line, e.field) for e in result.errors] == [
        (2, "(line)"), (3, "at"), (4, "outcome"), (5, "(call)")]  # fmt: skip
    assert "colour" in result.errors[-1].message
    assert result.calls == 1


def test_cli_writes_findings_and_report_and_exits_1_on_violations(tmp_path):
    log = _write_jsonl(tmp_path / "calls.jsonl",
                       [_florida(1, 10), _florida(2, 21, subject="other")])  # fmt: skip
    out = CliRunner().invoke(cli, ["audit", str(log), "-p", "us-federal", "-p", "us-fl",
                                   "--findings", str(tmp_path / "f.csv"),
                                   "--report", str(tmp_path / "r.html")])  # fmt: skip
    assert out.exit_code == 1, out.output
    assert "1 calls broke a rule: 2 violations" in out.output
    assert "us-fl/calling-hours: Commercial telephone solicitation only from 8 a.m." in out.output
    assert "[Fla. Stat. 501.616(6)(a)]" in out.output
    with (tmp_path / "f.csv").open(encoding="utf-8") as fh:
        found = list(csv.DictReader(fh))
    assert {(r["id"], r["rule"], r["local_hour"]) for r in found} == {
        ("c2", "calling-hours", "21")}  # fmt: skip
    assert {r["policy"] for r in found} == {"us-federal", "us-fl"}


def test_cli_exits_0_when_nothing_broke_and_2_on_bad_rows(tmp_path):
    log = _write_jsonl(tmp_path / "calls.jsonl", [_florida(1, 10)])
    ok = CliRunner().invoke(cli, ["audit", str(log), "-p", "us-fl", "--findings", "-"])
    assert ok.exit_code == 0 and "0 calls broke a rule" in ok.output
    log.write_text(log.read_text() + "[]\n", encoding="utf-8")
    bad = CliRunner().invoke(cli, ["audit", str(log), "-p", "us-fl"])
    assert bad.exit_code == 2 and "line 2: (call): a call must be a JSON object" in bad.output
    missing = CliRunner().invoke(cli, ["audit", str(tmp_path / "none.csv"), "-p", "us-fl"])
    assert missing.exit_code == 2 and "cannot read call log" in missing.output
    unknown = CliRunner().invoke(cli, ["audit", str(tmp_path / "calls.txt"), "-p", "us-fl"])
    assert unknown.exit_code == 2 and "--format" in unknown.output


def test_report_is_self_contained_and_links_findings_to_their_rules(tmp_path, library, planted):
    rows, _ = read_log(_write_jsonl(tmp_path / "calls.jsonl", planted.calls[:3000]))
    page = render_report(audit(library, rows), "calls.jsonl")
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched when the page is opened
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js is inside
    for chart in ("by rule", "by jurisdiction", "by hour of day", "by campaign", "by week"):
        assert f"Violations {chart}" in page
    assert 'id="rule-us-federal--calling-hours"' in page
    assert 'href="#rule-us-federal--calling-hours"' in page
    assert "47 CFR 64.1200(c)(1)" in page and "Numbers with the most violations" in page


def test_judge_gives_the_decisions_findings_and_place(library, planted):
    # audit's road (the generated function alone) agrees with decide on every call it judges
    calls = [{k: v for k, v in row.items() if k != "outcome"} for row in planted.calls[:500]]
    for call in calls:
        judged, decision = library.judge(call), library.decide(call)
        assert judged.violations == decision.violations
        assert judged.warnings == decision.warnings
        assert [z.key for z in judged.zones] == decision.timezones
        assert (judged.region, judged.country) == (decision.region, decision.country)
    assert any(library.judge(call).violations for call in calls)
