"""Hostile input (issue #18): every bad piece is reported where it is, and the rest still runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import holidays
import pytest
from click.testing import CliRunner
from test_core_support import FIXTURES, NYC, policy_text, rule, write

import ringfence
from ringfence.facts.callee import HolidaysUnknown, StandardFacts
from ringfence.tools.cli import cli

HOURS = str(FIXTURES / "hours.rf")
GOOD = {"id": "good", "to": NYC, "at": "2026-06-15T12:00:00-04:00", "purpose": "marketing"}
GOOD_LINE = json.dumps(GOOD).encode()
MANUAL = "deny if technology is manual"
RINGFENCE = [sys.executable, "-c", "from ringfence.tools.cli import main; main()"]


def decide(data: bytes, *args: str):
    """``ringfence decide`` on ``data`` as stdin: (exit code, output records, stderr)."""
    result = CliRunner().invoke(cli, ["decide", "-p", HOURS, *args], input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    records = [json.loads(line) for line in result.stdout_bytes.split(b"\n") if line]
    return result.exit_code, records, result.stderr


def call_line(**fields: object) -> bytes:
    return json.dumps({**GOOD, **fields}).encode()


# ---- item 4: one bad line loses nothing else ------------------------------------------------


BAD_LINES = {
    "not UTF-8": (b'{"id": "x\xff"}', "not UTF-8"),
    "4301 digits": (b'{"id": "x", "n": ' + b"7" * 4301 + b"}", "more than 4300 digits"),
    "nested 1000 deep": (b"[" * 1000 + b"]" * 1000, "nested too deeply"),
    "NaN": (b'{"id": "x", "meta": {"v": NaN}}', "NaN"),
    "Infinity": (b'{"id": "x", "meta": {"v": -Infinity}}', "Infinity"),
    "1e999": (b'{"id": "x", "meta": {"v": 1e999}}', "too large"),
    "lone surrogate": (call_line(id="\\ud800").replace(b"\\\\", b"\\"), "not Unicode"),
    "zone folder": (call_line(id="z", to_timezone="America"), "'America' is not a known"),
    "long zone": (call_line(id="z", to_timezone="A" * 300), "(300 characters)"),
}


@pytest.mark.parametrize("name", BAD_LINES)
def test_a_bad_line_is_an_error_record_and_the_batch_goes_on(name):
    bad, message = BAD_LINES[name]
    code, records, err = decide(GOOD_LINE + b"\n" + bad + b"\n" + GOOD_LINE + b"\n")
    assert code == 2
    assert "1 malformed call" in err
    first, error, last = records
    assert first["id"] == last["id"] == "good" and last["decision"] == "allow"
    assert error["line"] == 2
    assert message in error["error"]
    assert "site-packages" not in error["error"]
    if name.endswith("zone") or name == "zone folder":
        assert error["id"] == "z" and error["path"] == "to_timezone"


def test_error_record_keeps_the_id_of_a_call_that_fails_on_output():
    line = call_line(id="s1", meta={"note": "\\udfff"}).replace(b"\\\\", b"\\")
    _, (record,), _ = decide(line)
    assert record == {"line": 1, "id": "s1", "error": record["error"]}
    assert "not Unicode" in record["error"]


def test_output_is_utf8_whatever_the_terminal_encoding():
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    line = call_line(id="é-1").decode()
    done = subprocess.run([*RINGFENCE, "decide", "-p", HOURS],
                          input=(line + "\n" + line + "\n").encode(), capture_output=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    records = [json.loads(x) for x in done.stdout.decode("utf-8").splitlines()]
    assert [r["id"] for r in records] == ["é-1", "é-1"]


def test_closed_stdin_is_a_clear_error():
    done = subprocess.run([*RINGFENCE, "decide", "-p", HOURS],
                          preexec_fn=lambda: os.close(0), capture_output=True, check=False)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "error: standard input is closed; give the calls as a file"


def test_a_binary_list_file_is_named_with_its_line(tmp_path):
    bad = tmp_path / "dnc.txt"
    bad.write_bytes(b"+12125550199\n\xff\xfe\x00\x01\n")
    code, records, err = decide(GOOD_LINE, "--list", f"dnc={bad}")
    assert code == 2 and records == []
    assert err.strip() == f"error: {bad}:2: not UTF-8 text (byte 0xff); is this a list file?"


def test_a_huge_bad_list_line_is_quoted_short(tmp_path):
    bad = tmp_path / "dnc.txt"
    bad.write_text("+12125550199\n" + "9" * 1_000_000 + "\n")
    code, _, err = decide(GOOD_LINE, "--list", f"dnc={bad}")
    assert code == 2
    assert f"{bad}:2: expected an E.164 number" in err
    assert "(1000000 characters)" in err and len(err) < 300


def test_a_zone_folder_in_a_policy_is_rf405(tmp_path):
    policy = tmp_path / "z.rf"
    policy.write_text('policy z "Z"\n  applies to US\n\nrule r "R"\n  cite "c"\n'
                      '  allow only between 08:00 and 21:00 inclusive, in time zone "America"\n')
    result = CliRunner().invoke(cli, ["check", str(policy)])
    assert result.exit_code == 1
    assert "RF405" in result.output and "'America' is not a known time zone" in result.output


# ---- item 5: JSON Lines end at \n only --------------------------------------------------------


def _with_break(brk: str) -> str:
    return (f'{{"id": "a{brk}b", "to": "{NYC}", "at": "2026-06-15T12:00:00-04:00", '
            '"purpose": "marketing"}')


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\u0085"])
def test_unicode_line_breaks_inside_a_string_do_not_split_a_call(brk):
    data = "\n".join([_with_break(brk), GOOD_LINE.decode(), _with_break(brk)]).encode()
    code, records, _ = decide(data)
    assert code == 0
    assert [r["id"] for r in records] == [f"a{brk}b", "good", f"a{brk}b"]


@pytest.mark.parametrize("brk", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e"])
def test_a_raw_control_character_is_one_bad_line_not_several(brk):
    # JSON forbids raw control characters in strings: the line is one error, at its own number.
    data = "\n".join([_with_break(brk), GOOD_LINE.decode(), _with_break(brk)]).encode()
    code, records, _ = decide(data)
    assert code == 2
    assert [(r.get("line"), r.get("id")) for r in records] == [(1, None), (None, "good"),
                                                               (3, None)]


def test_crlf_lines_still_read():
    code, records, _ = decide(GOOD_LINE + b"\r\n" + GOOD_LINE + b"\r\n")
    assert code == 0 and len(records) == 2


def test_explain_reads_bad_bytes_without_a_traceback(tmp_path):
    call = tmp_path / "call.json"
    call.write_bytes(b'{"id": "\xff"}')
    result = CliRunner().invoke(cli, ["explain", "-p", HOURS, str(call)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.output


def test_decide_missing_calls_file_is_named(tmp_path):
    result = CliRunner().invoke(cli, ["decide", "-p", HOURS, str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    assert f"cannot read {tmp_path / 'none.jsonl'}" in result.output


# ---- item 2: include reads only the policy's own tree ----------------------------------------


def _includer(folder: Path, target: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write(folder, policy_text(rule(MANUAL, rid="own"), pid="top",
                                     extra=f'  include "{target}"'), "top.rf")


@pytest.mark.parametrize("target", ["../secret.txt", "../../tree/../secret.txt", "../other.rf",
                                    "link.rf", "secret-link.txt", "/etc/passwd"])
def test_include_outside_the_tree_or_not_a_policy_is_refused_unread(tmp_path, target):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN\n")
    write(tmp_path, policy_text(rule(MANUAL, rid="x"), pid="other"), "other.rf")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "link.rf").symlink_to(secret)
    (tmp_path / "tree" / "secret-link.txt").symlink_to(secret)
    top = _includer(tmp_path / "tree", target)
    result = CliRunner().invoke(cli, ["check", str(top)])
    assert result.exit_code == 1
    assert "TOP-SECRET" not in result.output
    assert "error RF601" in result.output
    assert "includes only .rf files in its own folder or below it" in result.output


def test_include_below_the_folder_still_works(tmp_path):
    (tmp_path / "tree" / "common").mkdir(parents=True)
    write(tmp_path / "tree" / "common", policy_text(rule(MANUAL, rid="base"), pid="base"),
          "base.rf")
    top = _includer(tmp_path / "tree", "common/../common/base.rf")
    result = CliRunner().invoke(cli, ["check", str(top)])
    assert result.exit_code == 0, result.output
    assert "2 rules" in result.output


# ---- item 9: a year the holiday calendar does not cover is unknown, so the call is denied ----


BC_CALL = {"to": "+16045550101", "purpose": "marketing", "from": "+16045550000"}


@pytest.mark.parametrize("year", [2026, 2150])
def test_christmas_in_british_columbia_is_denied_in_any_year(year):
    decision = ringfence.load("ca-bc").decide({**BC_CALL, "at": f"{year}-12-25T12:00:00-08:00"})
    assert decision.decision == "deny"
    (finding,) = decision.violations
    assert finding.rule == "calling-hours"
    assert finding.missing_facts == (() if year == 2026 else ("holidays",))


def test_a_year_past_a_calendar_s_data_is_unknown_not_a_working_day():
    facts = StandardFacts()
    for country in ("CA", "JP", "LK"):
        last = holidays.country_holidays(country).end_year  # what the package says it covers
        day, name = min(holidays.country_holidays(country, years=last).items())
        assert facts.holiday(country, None, day, False) == name
        with pytest.raises(HolidaysUnknown):
            facts.holiday(country, None, dt.date(last + 1, 1, 1), False)
